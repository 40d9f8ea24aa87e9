//! The exporter-toolkit web config: TLS (with a certificate made here by rcgen), mutual TLS,
//! basic auth, config errors naming their line, and a real Prometheus scraping over TLS with
//! basic auth.

use promexport::{Gauge, Metrics, Registry, Server, ServerHandle};
use promexport_tests::{
    Process, Prometheus, TempDir, basic_auth, free_port, header, http_get, https_get, make_pki,
    tls_and_basic_auth, try_http_get, wait_for,
};
use std::time::Duration;

#[derive(Metrics)]
#[metrics(no_global)]
struct Secret {
    /// Only for those who may see it.
    secret_value: Gauge,
}

/// A server of a registry holding `Secret`, with `web_config` as its web config file.
fn serve_with(dir: &TempDir, web_config: &str) -> ServerHandle {
    let path = dir.path().join("web.yml");
    std::fs::write(&path, web_config).unwrap();
    let registry = Registry::new();
    registry.register(Secret::new()).unwrap();
    let server = Server::bind("127.0.0.1:0").unwrap().registry(registry);
    server.web_config_file(&path).unwrap().spawn().unwrap()
}

#[test]
fn tls_with_basic_auth() {
    let dir = TempDir::new("web-config");
    let pki = make_pki(dir.path());
    let server = serve_with(&dir, &tls_and_basic_auth());
    let url = format!("https://127.0.0.1:{}/metrics", server.local_addr().port());
    let scrape_as = |user: &str, password: &str| {
        let authorization = basic_auth(user, password);
        https_get(&url, &pki.ca, None, &[("Authorization", &authorization)]).unwrap()
    };

    let (status, _, body) = scrape_as("prometheus", "s3cret");
    assert_eq!(status, 200);
    assert!(
        String::from_utf8(body)
            .unwrap()
            .contains("secret_value 0\n")
    );
    let (status, headers, body) = scrape_as("prometheus", "wrong");
    assert_eq!(status, 401);
    assert_eq!(
        header(&headers, "www-authenticate"),
        Some("Basic realm=\"promexport\"")
    );
    assert!(!String::from_utf8(body).unwrap().contains("secret_value"));
    let (status, _, _) = https_get(&url, &pki.ca, None, &[]).unwrap();
    assert_eq!(status, 401, "no credentials");
    let (status, _, _) = scrape_as("root", "s3cret");
    assert_eq!(status, 401, "unknown user");
    // Plain HTTP on the TLS port gets nothing.
    assert!(try_http_get(&url.replace("https", "http")).is_none_or(|(status, _, _)| status != 200));
}

#[test]
fn mutual_tls_requires_a_client_certificate() {
    let dir = TempDir::new("mtls");
    let pki = make_pki(dir.path());
    let server = serve_with(
        &dir,
        "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n  min_version: TLS13\n",
    );
    let url = format!("https://localhost:{}/metrics", server.local_addr().port());
    let (status, _, _) = https_get(
        &url,
        &pki.ca,
        Some((&pki.client_cert, &pki.client_key)),
        &[],
    )
    .unwrap();
    assert_eq!(status, 200);
    assert!(
        https_get(&url, &pki.ca, None, &[]).is_err(),
        "no client certificate, no scrape"
    );
}

#[test]
fn a_wrong_config_is_refused_at_startup_naming_its_line() {
    let dir = TempDir::new("bad-web-config");
    let config = dir.path().join("web.yml");
    std::fs::write(&config, "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  min_version: TLS10\n").unwrap();
    let refusal = || {
        let server = Server::bind("127.0.0.1:0").unwrap();
        server.web_config_file(&config).unwrap_err().to_string()
    };
    let error = refusal();
    assert!(
        error.contains("web.yml:2: reading"),
        "the missing certificate, first: {error}"
    );
    make_pki(dir.path());
    let error = refusal();
    assert!(
        error.contains("web.yml:4: min_version `TLS10` is not supported"),
        "{error}"
    );
}

#[test]
fn a_real_prometheus_scrapes_over_tls_with_basic_auth() {
    let dir = TempDir::new("prometheus-tls");
    make_pki(dir.path());
    let server = serve_with(&dir, &tls_and_basic_auth());
    let config = [
        "global:".to_owned(),
        "  scrape_interval: 1s".to_owned(),
        "  scrape_timeout: 1s".to_owned(),
        "scrape_configs:".to_owned(),
        "  - job_name: secured".to_owned(),
        "    scheme: https".to_owned(),
        "    tls_config:".to_owned(),
        format!("      ca_file: {}", dir.path().join("ca.crt").display()),
        "    basic_auth:".to_owned(),
        "      username: prometheus".to_owned(),
        "      password: s3cret".to_owned(),
        "    static_configs:".to_owned(),
        format!(
            "      - targets: ['127.0.0.1:{}']",
            server.local_addr().port()
        ),
    ]
    .join("\n");
    let mut prometheus = Prometheus::start(&dir, &config);
    let answer = wait_for(
        "Prometheus to scrape over TLS (up == 1)",
        Duration::from_secs(60),
        || {
            let query = "/api/v1/query?query=secret_value%20and%20on()%20up%3D%3D1";
            let body = prometheus.api(query)?;
            body.contains("\"job\":\"secured\"").then_some(body)
        },
    );
    assert!(answer.contains("\"__name__\":\"secret_value\""), "{answer}");
}

/// Every example takes `--web.config.file`: each exporter binary, started with TLS and basic
/// auth, serves only authenticated scrapes over TLS.
#[test]
fn the_exporters_take_a_web_config_file() {
    let dir = TempDir::new("exporters-web-config");
    let pki = make_pki(dir.path());
    let config = dir.path().join("web.yml");
    std::fs::write(&config, tls_and_basic_auth()).unwrap();
    let config = config.to_str().unwrap();
    let exporters = [
        (env!("CARGO_BIN_EXE_app_exporter"), "app_up"),
        // No nginx behind it: `nginx_up 0`, still served.
        (env!("CARGO_BIN_EXE_nginx_exporter"), "nginx_up 0"),
        // Nor a Redis.
        (env!("CARGO_BIN_EXE_redis_exporter"), "redis_up 0"),
    ];
    for (binary, expected) in exporters {
        let port = free_port();
        let mut command = std::process::Command::new(binary);
        command
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .args(["--web.config.file", config]);
        if binary.ends_with("nginx_exporter") {
            command.arg(format!(
                "--nginx.scrape-uri=http://127.0.0.1:{}/",
                free_port()
            ));
        }
        if binary.ends_with("redis_exporter") {
            command.arg(format!("--redis.addr=127.0.0.1:{}", free_port()));
        }
        let log = dir.path().join(format!("{port}.log"));
        let exporter = Process::start(command, log);
        wait_for("the exporter to listen", Duration::from_secs(20), || {
            std::net::TcpStream::connect(("127.0.0.1", port)).ok()
        });
        let url = format!("https://127.0.0.1:{port}/metrics");
        let authorization = basic_auth("prometheus", "s3cret");
        let (status, _, body) =
            https_get(&url, &pki.ca, None, &[("Authorization", &authorization)]).unwrap();
        let text = String::from_utf8(body).unwrap();
        assert_eq!(status, 200, "{binary}: {}", exporter.log());
        assert!(text.contains(expected), "{binary}: {text}");
        let (status, _, _) = https_get(&url, &pki.ca, None, &[]).unwrap();
        assert_eq!(status, 401, "{binary} without credentials");
    }
}

/// Writes `text` to `path` atomically (a new file renamed over the old one), as kubelet and
/// cert-manager replace mounted secrets.
fn replace(path: &std::path::Path, text: &str) {
    let temporary = path.with_extension("new");
    std::fs::write(&temporary, text).unwrap();
    std::fs::rename(&temporary, path).unwrap();
}

/// A new CA with a server certificate made in `dir/subdir`; with `into`, its `server.crt` and
/// `server.key` then replace those of `into` (atomically each, the certificate first).
fn rotate(dir: &TempDir, subdir: &str, into: Option<&std::path::Path>) -> promexport_tests::Pki {
    let made = dir.path().join(subdir);
    std::fs::create_dir_all(&made).unwrap();
    let pki = make_pki(&made);
    if let Some(into) = into {
        for file in ["server.crt", "server.key"] {
            replace(
                &into.join(file),
                &std::fs::read_to_string(made.join(file)).unwrap(),
            );
        }
    }
    pki
}

/// Whether a new connection to `url` verifies against `ca` (only the certificate it signed).
fn serves_certificate_of(url: &str, ca: &str, authorization: &str) -> bool {
    https_get(url, ca, None, &[("Authorization", authorization)])
        .is_ok_and(|(status, _, _)| status == 200)
}

/// The checks of a reload are at most once a second: 30 s is many of them.
const RELOAD: Duration = Duration::from_secs(30);

#[test]
fn a_rotated_certificate_is_served_to_new_connections() {
    let dir = TempDir::new("cert-rotation");
    let first = make_pki(dir.path());
    let server = serve_with(&dir, &tls_and_basic_auth());
    let url = format!("https://127.0.0.1:{}/metrics", server.local_addr().port());
    let authorization = basic_auth("prometheus", "s3cret");
    assert!(serves_certificate_of(&url, &first.ca, &authorization));

    let second = rotate(&dir, "second", Some(dir.path()));
    wait_for("the rotated certificate", RELOAD, || {
        serves_certificate_of(&url, &second.ca, &authorization).then_some(())
    });
    assert!(!serves_certificate_of(&url, &first.ca, &authorization));

    // An edited path in the config file applies too.
    let third = rotate(&dir, "third", None);
    let config = tls_and_basic_auth()
        .replace("cert_file: server.crt", "cert_file: third/server.crt")
        .replace("key_file: server.key", "key_file: third/server.key");
    replace(&dir.path().join("web.yml"), &config);
    wait_for("the certificate of the edited path", RELOAD, || {
        serves_certificate_of(&url, &third.ca, &authorization).then_some(())
    });
}

/// `alice` with `password` is let in (`true`) or refused with 401 (`false`).
fn lets_in(url: &str, user: &str, password: &str) -> bool {
    let (status, _, _) = http_get(url, &[("Authorization", &basic_auth(user, password))]);
    assert!(status == 200 || status == 401, "{status}");
    status == 200
}

fn users(users: &[(&str, &str)]) -> String {
    let mut text = "basic_auth_users:\n".to_owned();
    for (user, password) in users {
        text += &format!("  {user}: {}\n", bcrypt::hash(password, 4).unwrap());
    }
    text
}

#[test]
fn edited_users_apply_and_a_broken_file_keeps_the_last_good_one() {
    let dir = TempDir::new("users-reload");
    let server = serve_with(&dir, &users(&[("alice", "old"), ("bob", "bob")]));
    let url = server.url();
    assert!(lets_in(&url, "alice", "old"));
    assert!(lets_in(&url, "bob", "bob"));

    let config = dir.path().join("web.yml");
    replace(&config, &users(&[("alice", "new")]));
    wait_for("the new password", RELOAD, || {
        lets_in(&url, "alice", "new").then_some(())
    });
    assert!(
        !lets_in(&url, "alice", "old"),
        "the old password, cached before"
    );
    assert!(
        !lets_in(&url, "bob", "bob"),
        "a removed user, cached before"
    );

    replace(&config, "basic_auth_users:\n  alice: $2y$10$cut-short\n");
    // A reload would lock alice out: she is still let in after several checks.
    for _ in 0..25 {
        assert!(lets_in(&url, "alice", "new"), "the last good config stays");
        std::thread::sleep(Duration::from_millis(100));
    }
    replace(&config, &users(&[("alice", "fixed")]));
    wait_for("the fixed file", RELOAD, || {
        lets_in(&url, "alice", "fixed").then_some(())
    });
}

#[test]
fn a_broken_tls_file_keeps_the_certificate_in_force() {
    let dir = TempDir::new("cert-broken");
    let pki = make_pki(dir.path());
    let server = serve_with(&dir, &tls_and_basic_auth());
    let url = format!("https://127.0.0.1:{}/metrics", server.local_addr().port());
    let authorization = basic_auth("prometheus", "s3cret");
    replace(&dir.path().join("server.key"), "not a key\n");
    for _ in 0..25 {
        assert!(serves_certificate_of(&url, &pki.ca, &authorization));
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn security_headers() -> &'static str {
    "http_server_config:\n  headers:\n    Strict-Transport-Security: max-age=63072000\n    X-Frame-Options: deny\n    Content-Security-Policy: \"default-src 'none'\"\n"
}

#[test]
fn configured_headers_are_on_every_response() {
    let dir = TempDir::new("web-config-headers");
    let config = format!("{}{}", users(&[("alice", "a")]), security_headers());
    let server = serve_with(&dir, &config);
    let base = format!("http://{}", server.local_addr());
    let alice = basic_auth("alice", "a");
    for (path, authorization, status) in [
        ("/metrics", Some(alice.as_str()), 200),
        ("/", Some(&alice), 200),
        ("/nothing", Some(&alice), 404),
        ("/metrics", None, 401),
    ] {
        let headers: Vec<_> = authorization
            .iter()
            .map(|a| ("Authorization", *a))
            .collect();
        let (code, headers, _) = http_get(&format!("{base}{path}"), &headers);
        assert_eq!(code, status, "{path}");
        assert_eq!(
            header(&headers, "strict-transport-security"),
            Some("max-age=63072000"),
            "{path}"
        );
        assert_eq!(header(&headers, "x-frame-options"), Some("deny"));
        assert_eq!(
            header(&headers, "content-security-policy"),
            Some("default-src 'none'")
        );
    }
}

/// A TLS handshake with `127.0.0.1:port` offering only `versions` and `suites` (in the
/// client's order of preference): the version and suite chosen, or why it failed.
fn handshake(
    port: u16,
    ca: &str,
    versions: &[&'static rustls::SupportedProtocolVersion],
    suites: Option<Vec<rustls::SupportedCipherSuite>>,
) -> Result<(rustls::ProtocolVersion, rustls::CipherSuite), String> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let mut provider = rustls::crypto::ring::default_provider();
    if let Some(suites) = suites {
        provider.cipher_suites = suites;
    }
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(ca.as_bytes()).unwrap())
        .unwrap();
    let config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(provider))
        .with_protocol_versions(versions)
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = "127.0.0.1".try_into().unwrap();
    let mut connection = rustls::ClientConnection::new(std::sync::Arc::new(config), name)
        .map_err(|e| e.to_string())?;
    let mut socket = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    while connection.is_handshaking() {
        connection
            .complete_io(&mut socket)
            .map_err(|e| e.to_string())?;
    }
    let version = connection.protocol_version().ok_or("no version")?;
    let suite = connection.negotiated_cipher_suite().ok_or("no suite")?;
    Ok((version, suite.suite()))
}

#[test]
fn max_version_and_the_servers_cipher_order_are_honoured() {
    use rustls::crypto::ring::cipher_suite::{
        TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    };
    use rustls::version::{TLS12, TLS13};
    let dir = TempDir::new("tls-versions");
    let pki = make_pki(dir.path());
    let tls = "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n";
    let server = serve_with(&dir, &format!("{tls}  max_version: TLS12\n"));
    let port = server.local_addr().port();
    assert!(
        handshake(port, &pki.ca, &[&TLS13], None).is_err(),
        "a TLS 1.3-only client is refused"
    );
    // The client prefers ChaCha20; the server's order (AES-GCM first) wins by default, as
    // exporter-toolkit's `prefer_server_cipher_suites: true`.
    let client_order = || {
        Some(vec![
            TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
            TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        ])
    };
    let (version, suite) = handshake(port, &pki.ca, &[&TLS12, &TLS13], client_order()).unwrap();
    assert_eq!(version, rustls::ProtocolVersion::TLSv1_2);
    assert_eq!(suite, TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256.suite());
    drop(server);

    let config = format!("{tls}  max_version: TLS12\n  prefer_server_cipher_suites: false\n");
    let server = serve_with(&dir, &config);
    let port = server.local_addr().port();
    let (_, suite) = handshake(port, &pki.ca, &[&TLS12], client_order()).unwrap();
    assert_eq!(suite, TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256.suite());
}

#[test]
fn tls_settings_that_cannot_be_honoured_are_refused_naming_their_line() {
    let dir = TempDir::new("tls-refused");
    make_pki(dir.path());
    let config = dir.path().join("web.yml");
    let tls = "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n";
    let cases = [
        (
            "  min_version: TLS13\n  max_version: TLS12\n",
            "web.yml:5: max_version `TLS12` is below min_version `TLS13`",
        ),
        (
            "  max_version: TLS11\n",
            "web.yml:4: max_version `TLS11` is not supported",
        ),
        (
            "  cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256]\n",
            "web.yml:4: `cipher_suites` cannot be honoured",
        ),
        (
            "  curve_preferences:\n    - CurveP256\n",
            "web.yml:4: `curve_preferences` cannot be honoured",
        ),
        (
            "  client_ca_file: ca.crt\n",
            "web.yml:4: client_ca_file is given but client_auth_type is NoClientCert",
        ),
    ];
    for (settings, expected) in cases {
        std::fs::write(&config, format!("{tls}{settings}")).unwrap();
        let server = Server::bind("127.0.0.1:0").unwrap();
        let error = server.web_config_file(&config).unwrap_err().to_string();
        assert!(error.contains(expected), "{error}");
    }
}

/// An axum service behind [`WebConfigListener`] and [`BasicAuthLayer`] of one config, served
/// on a runtime of its own until dropped.
struct AxumService {
    port: u16,
    _stop: tokio::sync::oneshot::Sender<()>,
}

fn serve_axum(config: &promexport::WebConfig) -> AxumService {
    use promexport::axum::{BasicAuthLayer, WebConfigListener};
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let port = listener.local_addr().unwrap().port();
    let app: axum::Router = axum::Router::new()
        .route("/hello", axum::routing::get(|| async { "hello" }))
        .layer(BasicAuthLayer::new(config));
    let listener = WebConfigListener::new(listener, config);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    std::thread::spawn(move || {
        runtime.block_on(async move {
            let serving = axum::serve(listener, app).with_graceful_shutdown(async move {
                let _ = stopped.await;
            });
            let _ = serving.await;
        });
    });
    AxumService { port, _stop: stop }
}

#[test]
fn the_axum_parts_follow_the_file_too() {
    let dir = TempDir::new("axum-reload");
    let first = make_pki(dir.path());
    let path = dir.path().join("web.yml");
    let tls = "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n";
    let text = |users_text: String| format!("{tls}{users_text}{}", security_headers());
    std::fs::write(&path, text(users(&[("alice", "old")]))).unwrap();
    let config = promexport::WebConfig::load(&path).unwrap();
    let service = serve_axum(&config);
    let url = format!("https://127.0.0.1:{}/hello", service.port);
    let get = |ca: &str, password: &str| {
        let authorization = basic_auth("alice", password);
        https_get(&url, ca, None, &[("Authorization", &authorization)])
    };
    let (status, headers, body) = get(&first.ca, "old").unwrap();
    assert_eq!((status, body.as_slice()), (200, &b"hello"[..]));
    assert_eq!(
        header(&headers, "strict-transport-security"),
        Some("max-age=63072000")
    );
    let (status, headers, _) = get(&first.ca, "wrong").unwrap();
    assert_eq!(status, 401);
    assert_eq!(header(&headers, "x-frame-options"), Some("deny"));

    let second = rotate(&dir, "second", Some(dir.path()));
    replace(&path, &text(users(&[("alice", "new")])));
    wait_for("the new certificate and password", RELOAD, || {
        get(&second.ca, "new")
            .is_ok_and(|(status, _, _)| status == 200)
            .then_some(())
    });
    let (status, _, _) = get(&second.ca, "old").unwrap();
    assert_eq!(status, 401, "the old password");
    assert!(get(&first.ca, "new").is_err(), "the old certificate");
}

/// Turning TLS on needs a restart: until then the server keeps serving plain HTTP with the
/// config in force (the whole edit is refused, its users too).
#[test]
fn switching_to_tls_needs_a_restart() {
    let dir = TempDir::new("tls-switch");
    make_pki(dir.path());
    let server = serve_with(&dir, &users(&[("alice", "a")]));
    let url = server.url();
    assert!(lets_in(&url, "alice", "a"));
    replace(&dir.path().join("web.yml"), &tls_and_basic_auth());
    for _ in 0..25 {
        assert!(lets_in(&url, "alice", "a"), "plain HTTP, the old users");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(!lets_in(&url, "prometheus", "s3cret"));
}
