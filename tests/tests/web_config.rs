//! The exporter-toolkit web config: TLS (with a certificate made here by rcgen), mutual TLS,
//! basic auth, config errors naming their line, and a real Prometheus scraping over TLS with
//! basic auth.

use promexport::{Gauge, Metrics, Registry, Server, ServerHandle};
use promexport_tests::{
    Process, Prometheus, TempDir, basic_auth, free_port, header, https_get, make_pki,
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
