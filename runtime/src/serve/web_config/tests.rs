use super::*;
use basic_auth::decode_basic;

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn temp_dir(tag: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("promexport-webconfig-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn encode(bytes: &[u8]) -> String {
    crate::base64::encode(bytes, crate::base64::STANDARD)
}

fn header(credentials: &str) -> String {
    format!("Basic {}", encode(credentials.as_bytes()))
}

/// The refusal of `text` as a web config file.
fn refusal(dir: &Path, text: &str) -> String {
    let path = write(dir, "web.yml", text);
    WebConfig::load(&path).unwrap_err().to_string()
}

#[test]
fn errors_name_the_line() {
    let dir = temp_dir("errors");
    let error = refusal(&dir, "# comment\nbasic_auth_users:\n  alice: not-a-hash\n");
    assert!(
        error.contains("web.yml:3: the password of `alice` is not a bcrypt hash ($2y$...)"),
        "{error}"
    );
    let error = refusal(
        &dir,
        "tls_server_config:\n  cert_file: a.crt\n  keyfile: a.key\n",
    );
    assert!(
        error.contains("web.yml:3: unknown or malformed TLS setting `keyfile`"),
        "{error}"
    );
    let error = refusal(
        &dir,
        "tls_server_config:\n  cert_file: missing.crt\n  key_file: a.key\n",
    );
    assert!(error.contains("web.yml:2: reading"), "{error}");
    let error = refusal(&dir, "basic_auth_user:\n  a: b\n");
    assert!(error.contains("web.yml:1: unknown setting"), "{error}");
    std::fs::remove_dir_all(dir).unwrap();
}

/// A hash that starts like bcrypt but is cut short, or has a typo in its cost, is refused at
/// load (it used to load and lock everyone out).
#[test]
fn hashes_are_checked_by_bcrypts_parser() {
    let dir = temp_dir("hashes");
    let good = bcrypt::hash("secret", 4).unwrap();
    let cases = [
        (good[..good.len() - 1].to_owned(), "not a bcrypt hash"),
        (good.replacen("$04$", "$0x$", 1), "not a bcrypt hash"),
        (good.replacen("$04$", "$99$", 1), "cost 99, outside 4..=31"),
        (good.replacen("$2b$", "$2q$", 1), "not a bcrypt hash"),
    ];
    for (hash, why) in cases {
        let text = format!("basic_auth_users:\n  alice: {good}\n  bob: {hash}\n");
        let error = refusal(&dir, &text);
        assert!(
            error.contains("web.yml:3: the password of `bob`") && error.contains(why),
            "{hash}: {error}"
        );
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn unknown_users_are_checked_against_the_costliest_hash() {
    let dir = temp_dir("costliest");
    let cheap = bcrypt::hash("a", 4).unwrap();
    let dear = bcrypt::hash_with_salt("b", 7, [7; 16]).unwrap().to_string();
    let also_cheap = bcrypt::hash("c", 5).unwrap();
    for order in [[&cheap, &dear, &also_cheap], [&dear, &cheap, &also_cheap]] {
        let text = format!(
            "basic_auth_users:\n  u1: {}\n  u2: {}\n  u3: {}\n",
            order[0], order[1], order[2]
        );
        let config = WebConfig::load(write(&dir, "web.yml", &text)).unwrap();
        let settings = config.current();
        let users = settings.users.as_ref().unwrap();
        assert_eq!(basic_auth::costliest_hash(users), dear);
    }
    std::fs::remove_dir_all(dir).unwrap();
}

fn block_on<F: Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}

fn authorize(config: &WebConfig, authorization: Option<&str>) -> Verdict {
    let mut headers = hyper::HeaderMap::new();
    if let Some(value) = authorization {
        headers.insert(hyper::header::AUTHORIZATION, value.parse().unwrap());
    }
    block_on(config.authorize(&headers))
}

fn bcrypt_runs(config: &WebConfig) -> usize {
    config
        .watched
        .credentials
        .bcrypt_runs
        .load(std::sync::atomic::Ordering::Relaxed)
}

#[test]
fn basic_auth_checks_bcrypt_once() {
    let dir = temp_dir("bcrypt-once");
    let hash = bcrypt::hash("secret", 4).unwrap();
    let text = format!("basic_auth_users:\n  alice: {hash}\n");
    let config = WebConfig::load(write(&dir, "web.yml", &text)).unwrap();
    let check = |authorization: Option<&str>| authorize(&config, authorization);
    assert_eq!(check(Some(&header("alice:secret"))), Verdict::Allowed);
    assert_eq!(bcrypt_runs(&config), 1);
    assert_eq!(check(Some(&header("alice:secret"))), Verdict::Allowed);
    assert_eq!(bcrypt_runs(&config), 1, "from the cache");
    assert_eq!(check(Some(&header("alice:wrong"))), Verdict::Refused);
    assert_eq!(check(Some(&header("bob:secret"))), Verdict::Refused);
    assert_eq!(bcrypt_runs(&config), 3, "unknown users run bcrypt too");
    assert_eq!(check(Some("Bearer x")), Verdict::Refused);
    assert_eq!(check(None), Verdict::Refused);
    assert_eq!(bcrypt_runs(&config), 3);
    std::fs::remove_dir_all(dir).unwrap();
}

/// While bcrypt is busy (its single permit held here), a request gives up after the wait
/// deadline with `Busy` (429) instead of queueing for ever.
#[test]
fn a_request_waits_for_bcrypt_only_so_long() {
    let dir = temp_dir("bcrypt-wait");
    let hash = bcrypt::hash("secret", 4).unwrap();
    let text = format!("basic_auth_users:\n  alice: {hash}\n");
    let config = WebConfig::load(write(&dir, "web.yml", &text)).unwrap();
    let permit = config.watched.credentials.hold_bcrypt();
    let started = Instant::now();
    let verdict = authorize(&config, Some(&header("alice:secret")));
    assert_eq!(verdict, Verdict::Busy);
    assert!(started.elapsed() >= basic_auth::BCRYPT_WAIT);
    assert_eq!(bcrypt_runs(&config), 0);
    let response = verdict.refusal().unwrap();
    assert_eq!(response.status(), hyper::StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(response.headers()[hyper::header::RETRY_AFTER], "1");
    drop(permit);
    let verdict = authorize(&config, Some(&header("alice:secret")));
    assert_eq!(verdict, Verdict::Allowed);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn decodes_basic_credentials() {
    assert_eq!(
        decode_basic("Basic YWxpY2U6czNjcjN0"),
        Some(("alice".into(), "s3cr3t".into()))
    );
    for scheme in ["basic", "BASIC", "bAsIc"] {
        assert_eq!(
            decode_basic(&format!("{scheme} YWxpY2U6czNjcjN0")),
            Some(("alice".into(), "s3cr3t".into())),
            "{scheme}"
        );
    }
    assert_eq!(
        decode_basic("Basic YTpiOmM="),
        Some(("a".into(), "b:c".into()))
    );
    assert_eq!(decode_basic("Basic !!"), None);
    assert_eq!(decode_basic("Basicx YWxpY2U6czNjcjN0"), None);
    assert_eq!(decode_basic("Bearer YWxpY2U6czNjcjN0"), None);
}

/// Replaces `path` atomically, as kubelet and cert-manager do.
fn replace(path: &Path, text: &str) {
    let temporary = path.with_extension("new");
    std::fs::write(&temporary, text).unwrap();
    std::fs::rename(&temporary, path).unwrap();
}

#[test]
fn edited_users_apply_and_the_cache_forgets_changed_ones() {
    let dir = temp_dir("users-reload");
    let (old, new) = (
        bcrypt::hash("old", 4).unwrap(),
        bcrypt::hash("new", 4).unwrap(),
    );
    let path = write(
        &dir,
        "web.yml",
        &format!("basic_auth_users:\n  alice: {old}\n  bob: {old}\n"),
    );
    let config = WebConfig::load(&path).unwrap();
    assert!(!config.reload().unwrap(), "nothing changed");
    assert_eq!(
        authorize(&config, Some(&header("alice:old"))),
        Verdict::Allowed
    );
    assert_eq!(
        authorize(&config, Some(&header("bob:old"))),
        Verdict::Allowed
    );
    assert_eq!(config.watched.credentials_cached(), 2);

    replace(&path, &format!("basic_auth_users:\n  alice: {new}\n"));
    assert!(config.reload().unwrap());
    assert_eq!(
        config.watched.credentials_cached(),
        0,
        "alice changed, bob left"
    );
    assert_eq!(
        authorize(&config, Some(&header("alice:old"))),
        Verdict::Refused
    );
    assert_eq!(
        authorize(&config, Some(&header("bob:old"))),
        Verdict::Refused
    );
    assert_eq!(
        authorize(&config, Some(&header("alice:new"))),
        Verdict::Allowed
    );

    let carol = bcrypt::hash("carol", 4).unwrap();
    replace(
        &path,
        &format!("basic_auth_users:\n  alice: {new}\n  carol: {carol}\n"),
    );
    assert!(config.reload().unwrap());
    assert_eq!(config.watched.credentials_cached(), 1, "alice is unchanged");
    let runs = bcrypt_runs(&config);
    assert_eq!(
        authorize(&config, Some(&header("alice:new"))),
        Verdict::Allowed
    );
    assert_eq!(bcrypt_runs(&config), runs, "still verified");

    replace(&path, "basic_auth_users:\n  alice: typo\n");
    let error = config.reload().unwrap_err().to_string();
    assert!(
        error.contains("web.yml:2: the password of `alice`"),
        "{error}"
    );
    assert_eq!(
        authorize(&config, Some(&header("alice:new"))),
        Verdict::Allowed,
        "the last good config stays"
    );
    assert!(
        !config.reload().unwrap(),
        "a bad file is not read again unchanged"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn response_headers_are_checked_like_exporter_toolkit() {
    let dir = temp_dir("headers");
    let path = write(
        &dir,
        "web.yml",
        "http_server_config:\n  http2: false\n  headers:\n    Strict-Transport-Security: max-age=31536000\n    X-Frame-Options: deny\n    X-Content-Type-Options: nosniff\n    Content-Security-Policy: \"default-src 'self'\"\n    X-XSS-Protection: \"1; mode=block\"\n",
    );
    let config = WebConfig::load(&path).unwrap();
    let mut headers = hyper::HeaderMap::new();
    headers.insert("x-frame-options", "sameorigin".parse().unwrap());
    config.add_headers(&mut headers);
    assert_eq!(headers["strict-transport-security"], "max-age=31536000");
    assert_eq!(
        headers["x-frame-options"], "sameorigin",
        "a response's own value wins"
    );
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["content-security-policy"], "default-src 'self'");
    assert_eq!(headers["x-xss-protection"], "1; mode=block");
    assert_eq!(headers.len(), 5);
    let cases = [
        (
            "    Server: promexport\n",
            "web.yml:3: HTTP header `Server` cannot be configured",
        ),
        (
            "    X-Frame-Options: allow\n",
            "web.yml:3: `X-Frame-Options` must be one of deny, sameorigin, not `allow`",
        ),
        (
            "    X-Content-Type-Options: sniff\n",
            "web.yml:3: `X-Content-Type-Options` must be one of nosniff",
        ),
    ];
    for (line, expected) in cases {
        let error = refusal(&dir, &format!("http_server_config:\n  headers:\n{line}"));
        assert!(error.contains(expected), "{error}");
    }
    let error = refusal(&dir, "http_server_config:\n  http2: true\n");
    assert!(error.contains("web.yml:2: HTTP/2 is not served"), "{error}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn settings_that_cannot_be_honoured_are_refused() {
    let dir = temp_dir("unhonoured");
    let tls = "tls_server_config:\n  cert_file: a.crt\n  key_file: a.key\n";
    let cases = [
        (
            "  cipher_suites:\n    - TLS_AES_128_GCM_SHA256\n",
            "web.yml:4: `cipher_suites` cannot be honoured",
        ),
        (
            "  curve_preferences: [X25519]\n",
            "web.yml:4: `curve_preferences` cannot be honoured",
        ),
        (
            "  client_allowed_sans: [a]\n",
            "web.yml:4: `client_allowed_sans` is not supported",
        ),
        ("  cert: inline\n", "web.yml:4: inline PEM"),
    ];
    for (line, expected) in cases {
        let error = refusal(&dir, &format!("{tls}{line}"));
        assert!(error.contains(expected), "{error}");
    }
    let error = refusal(&dir, "rate_limit:\n  burst: 1\n");
    assert!(
        error.contains("web.yml:1: `rate_limit` is not supported"),
        "{error}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

impl Watched {
    fn credentials_cached(&self) -> usize {
        self.credentials.cached()
    }
}

#[test]
fn loading_runs_no_bcrypt_whatever_cost_a_hash_claims() {
    // Cost 31 takes days: a load that hashed at a file's cost would never return (found as a
    // timeout of fuzz/fuzz_targets/web_config.rs; the input is fuzz/corpus/web_config/bcrypt-cost-31).
    let dir = temp_dir("cost");
    let hash = "$2y$31$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy";
    let path = write(
        &dir,
        "web.yml",
        &format!("basic_auth_users:\n  alice: {hash}\n"),
    );
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || sender.send(WebConfig::load(&path).map(|c| c.has_basic_auth())));
    let loaded = receiver.recv_timeout(Duration::from_secs(60));
    assert!(matches!(loaded, Ok(Ok(true))), "{loaded:?}");
    std::fs::remove_dir_all(dir).unwrap();
}
