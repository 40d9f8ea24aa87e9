//! Test harness: the real Prometheus tools (`promtool`, `prometheus`) and an independent parser
//! (Python's `prometheus_client`), driven on loopback with temp dirs and free ports.
//!
//! The tools live in the project's `target/test-tools/bin`, where `scripts/test-deps.sh` puts them
//! (taken out of Debian's packages, never installed as services); the tests never run a tool of the
//! same name that happens to be on the machine. A missing tool is a test failure with a message
//! saying how to get it, never a skip.

mod go;
mod pki;
pub mod remote_write;

pub use go::go_program;
pub use pki::{Pki, make_pki, tls_and_basic_auth};

use std::io::Write;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The path of a test tool (`prometheus`, `promtool`, `prometheus-pushgateway`, `nginx`,
/// `redis-server`, `redis-cli`, `victoria-metrics`, `python3` with `prometheus_client`) in the project's `target/test-tools/bin`.
///
/// # Panics
/// When it is not there: run `scripts/test-deps.sh`.
pub fn tool(name: &str) -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../target/test-tools/bin")
        .join(name);
    assert!(
        path.exists(),
        "test tool `{name}` is missing at {}: run scripts/test-deps.sh",
        path.display()
    );
    path
}

/// Runs the test tool `program` (see [`tool`]) with `args`, feeding `stdin`, and returns its
/// output.
pub fn run_with_stdin(program: &str, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(tool(program))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("cannot run `{program}` ({e}); install the test tools with scripts/test-deps.sh")
        });
    child
        .stdin
        .take()
        .expect("piped stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    child.wait_with_output().expect("wait for child")
}

/// `promtool check metrics` on an exposition: returns its combined output; panics on errors.
///
/// Lint warnings (exit code 3) are returned for the caller to judge; parse errors fail.
pub fn promtool_check_metrics(exposition: &str) -> String {
    let output = run_with_stdin("promtool", &["check", "metrics"], exposition);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let code = output.status.code();
    assert!(
        code == Some(0) || (code == Some(3) && !text.contains("error")),
        "promtool check metrics failed ({code:?}):\n{text}\n--- input ---\n{exposition}"
    );
    text
}

/// One sample as an independent parser read it: name, sorted labels, value.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedSample {
    /// Sample name (with `_total`, `_bucket`, ... suffixes).
    pub name: String,
    /// Labels, sorted by name.
    pub labels: Vec<(String, String)>,
    /// Value.
    pub value: f64,
}

/// A family as an independent parser read it.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedFamily {
    /// Family name as the parser reports it.
    pub name: String,
    /// Type (`counter`, `gauge`, `stateset`, ...).
    pub kind: String,
    /// HELP text, unescaped.
    pub help: String,
    /// Unit (OpenMetrics only).
    pub unit: String,
    /// Samples.
    pub samples: Vec<ParsedSample>,
}

const PARSER: &str = r#"
import json, sys
from prometheus_client.parser import text_string_to_metric_families as text_parse
from prometheus_client.openmetrics.parser import text_string_to_metric_families as om_parse
text = sys.stdin.read()
parse = om_parse if sys.argv[1] == "openmetrics" else text_parse
out = []
for family in parse(text):
    out.append({
        "name": family.name, "kind": family.type, "help": family.documentation,
        "unit": getattr(family, "unit", ""),
        "samples": [[s.name, sorted(s.labels.items()), repr(float(s.value))] for s in family.samples],
    })
print(json.dumps(out))
"#;

/// Parses an exposition with Python's `prometheus_client` (text 0.0.4 or OpenMetrics).
///
/// # Panics
/// When the parser rejects the text.
pub fn python_parse(exposition: &str, open_metrics: bool) -> Vec<ParsedFamily> {
    parse_with("python3", exposition, open_metrics)
}

/// [`python_parse`] with the first prometheus_client that reads quoted (UTF-8) names, 0.22.0
/// (`python3-utf8`; its releases reject an exemplar value holding `\"`, so the rest of the
/// suite keeps 0.21.1).
///
/// # Panics
/// When the parser rejects the text.
pub fn python_parse_utf8(exposition: &str, open_metrics: bool) -> Vec<ParsedFamily> {
    parse_with("python3-utf8", exposition, open_metrics)
}

fn parse_with(python: &str, exposition: &str, open_metrics: bool) -> Vec<ParsedFamily> {
    let format = if open_metrics { "openmetrics" } else { "text" };
    let output = run_with_stdin(python, &["-c", PARSER, format], exposition);
    assert!(
        output.status.success(),
        "prometheus_client rejected the {format} exposition:\n{}\n--- input ---\n{exposition}",
        String::from_utf8_lossy(&output.stderr)
    );
    json::families(&String::from_utf8_lossy(&output.stdout))
}

/// A minimal reader for the JSON the parser script prints (so the harness needs no serde).
mod json {
    use super::{ParsedFamily, ParsedSample};

    struct Reader<'a> {
        text: &'a [u8],
        at: usize,
    }

    enum Json {
        Str(String),
        Arr(Vec<Json>),
        Obj(Vec<(String, Json)>),
    }

    impl Reader<'_> {
        fn skip(&mut self) {
            while self.text.get(self.at).is_some_and(u8::is_ascii_whitespace) {
                self.at += 1;
            }
        }
        fn eat(&mut self, byte: u8) {
            self.skip();
            assert_eq!(self.text.get(self.at), Some(&byte), "JSON at {}", self.at);
            self.at += 1;
        }
        fn value(&mut self) -> Json {
            self.skip();
            match self.text[self.at] {
                b'"' => Json::Str(self.string()),
                b'[' => {
                    self.eat(b'[');
                    let mut items = Vec::new();
                    self.skip();
                    if self.text[self.at] == b']' {
                        self.at += 1;
                        return Json::Arr(items);
                    }
                    loop {
                        items.push(self.value());
                        self.skip();
                        self.at += 1;
                        if self.text[self.at - 1] == b']' {
                            return Json::Arr(items);
                        }
                    }
                }
                b'{' => {
                    self.eat(b'{');
                    let mut fields = Vec::new();
                    self.skip();
                    if self.text[self.at] == b'}' {
                        self.at += 1;
                        return Json::Obj(fields);
                    }
                    loop {
                        self.skip();
                        let key = self.string();
                        self.eat(b':');
                        fields.push((key, self.value()));
                        self.skip();
                        self.at += 1;
                        if self.text[self.at - 1] == b'}' {
                            return Json::Obj(fields);
                        }
                    }
                }
                other => panic!("unexpected JSON byte {other} at {}", self.at),
            }
        }
        fn string(&mut self) -> String {
            self.eat(b'"');
            let mut bytes = Vec::new();
            loop {
                let byte = self.text[self.at];
                self.at += 1;
                match byte {
                    b'"' => return String::from_utf8(bytes).expect("utf-8"),
                    b'\\' => {
                        let escaped = self.text[self.at];
                        self.at += 1;
                        match escaped {
                            b'n' => bytes.push(b'\n'),
                            b't' => bytes.push(b'\t'),
                            b'r' => bytes.push(b'\r'),
                            b'b' => bytes.push(8),
                            b'f' => bytes.push(12),
                            b'u' => {
                                let mut code = self.hex4();
                                if (0xD800..0xDC00).contains(&code) {
                                    self.at += 2; // the `\u` of the low surrogate
                                    code =
                                        0x10000 + ((code - 0xD800) << 10) + (self.hex4() - 0xDC00);
                                }
                                let c = char::from_u32(code).expect("valid code point");
                                bytes.extend_from_slice(c.to_string().as_bytes());
                            }
                            other => bytes.push(other),
                        }
                    }
                    other => bytes.push(other),
                }
            }
        }
        fn hex4(&mut self) -> u32 {
            let digits = std::str::from_utf8(&self.text[self.at..self.at + 4]).expect("hex");
            self.at += 4;
            u32::from_str_radix(digits, 16).expect("hex digits")
        }
    }

    fn field<'a>(fields: &'a [(String, Json)], key: &str) -> &'a Json {
        &fields
            .iter()
            .find(|(k, _)| k == key)
            .expect("field present")
            .1
    }

    fn text(json: &Json) -> String {
        match json {
            Json::Str(s) => s.clone(),
            _ => panic!("expected a JSON string"),
        }
    }

    fn array(json: &Json) -> &[Json] {
        match json {
            Json::Arr(items) => items,
            _ => panic!("expected a JSON array"),
        }
    }

    pub(super) fn families(output: &str) -> Vec<ParsedFamily> {
        let mut reader = Reader {
            text: output.as_bytes(),
            at: 0,
        };
        array(&reader.value())
            .iter()
            .map(|family| {
                let Json::Obj(fields) = family else {
                    panic!("expected a JSON object")
                };
                let samples = array(field(fields, "samples"))
                    .iter()
                    .map(|sample| {
                        let parts = array(sample);
                        let labels = array(&parts[1])
                            .iter()
                            .map(|pair| (text(&array(pair)[0]), text(&array(pair)[1])))
                            .collect();
                        ParsedSample {
                            name: text(&parts[0]),
                            labels,
                            value: text(&parts[2]).parse().expect("float repr"),
                        }
                    })
                    .collect();
                ParsedFamily {
                    name: text(field(fields, "name")),
                    kind: text(field(fields, "kind")),
                    help: text(field(fields, "help")),
                    unit: text(field(fields, "unit")),
                    samples,
                }
            })
            .collect()
    }
}

/// A TCP port free on 127.0.0.1 at the time of the call, for a program the test starts (a
/// server of the test itself binds port 0 and reads its `local_addr()` instead).
///
/// Free is not reserved, so the port is taken where others are unlikely to land: below the
/// kernel's ephemeral range (Linux starts it at 32768), which port-0 binds and outgoing
/// connections use; never twice in one process; and starting at a place of its own in each
/// process, so test binaries running side by side try different ports.
pub fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU32, Ordering};
    const FIRST: u32 = 20_000;
    const COUNT: u32 = 12_000;
    static NEXT: AtomicU32 = AtomicU32::new(u32::MAX);
    let start = std::process::id().wrapping_mul(7_919) % COUNT;
    let _ = NEXT.compare_exchange(u32::MAX, start, Ordering::Relaxed, Ordering::Relaxed);
    for _ in 0..COUNT {
        let port = (FIRST + NEXT.fetch_add(1, Ordering::Relaxed) % COUNT) as u16;
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free port on 127.0.0.1 in {FIRST}..{}", FIRST + COUNT);
}

/// For a test that would disturb the tests beside it (it uses up the process's file
/// descriptors): in the test binary, runs test `name` again in a child process of its own and
/// checks that it passed, returning `false`; in that child, returns `true`, and the test runs.
pub fn in_a_process_of_its_own(name: &str) -> bool {
    const CHILD: &str = "PROMEXPORT_TEST_IN_A_PROCESS_OF_ITS_OWN";
    if std::env::var_os(CHILD).is_some() {
        return true;
    }
    let output = Command::new(std::env::current_exe().expect("the test binary"))
        .args([name, "--exact", "--test-threads=1", "--nocapture"])
        .env(CHILD, "1")
        .output()
        .expect("run the test alone");
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "{printed}");
    assert!(printed.contains("1 passed"), "{printed}");
    false
}

/// Opens `/dev/null` until the process is out of file descriptors (`EMFILE`), then closes one:
/// exactly one descriptor is left, until the files returned are dropped.
pub fn use_up_file_descriptors_but_one() -> Vec<std::fs::File> {
    let mut files = Vec::new();
    loop {
        match std::fs::File::open("/dev/null") {
            Ok(file) => files.push(file),
            Err(error) if error.raw_os_error() == Some(24) => break,
            Err(error) => panic!("{error}"),
        }
        assert!(files.len() < 10_000_000, "no descriptor limit");
    }
    drop(files.pop());
    files
}

/// Polls `check` every 100 ms until it returns `Some`, failing after `timeout`.
pub fn wait_for<T>(what: &str, timeout: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A child process killed when dropped, with its output captured to a file for failure reports.
pub struct Process {
    child: Child,
    log: PathBuf,
}

impl Process {
    /// Starts `command` with stdout and stderr going to `log`.
    pub fn start(mut command: Command, log: PathBuf) -> Self {
        let file = std::fs::File::create(&log).expect("create log file");
        let child = command
            .stdout(file.try_clone().expect("clone log handle"))
            .stderr(file)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {command:?} ({e}); run scripts/test-deps.sh"));
        Process { child, log }
    }

    /// What the process printed so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Its process id (to send it a signal).
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Waits up to `timeout` for the process to exit and returns its exit status, or `None`
    /// if it is still running then.
    pub fn wait_timeout(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A fresh directory under the system temp dir, removed when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    /// Creates `<tmp>/promexport-<tag>-<pid>-<nanos>`.
    pub fn new(tag: &str) -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let path =
            std::env::temp_dir().join(format!("promexport-{tag}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&path).expect("create temp dir");
        TempDir(path)
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// HTTP GET of `url` with extra request headers; returns status, headers and body bytes.
pub fn http_get(url: &str, headers: &[(&str, &str)]) -> HttpAnswer {
    http_request("GET", url, headers)
}

/// HTTP GET of `url`, or `None` when the connection fails (a server still starting).
pub fn try_http_get(url: &str) -> Option<HttpAnswer> {
    try_http_request("GET", url, &[]).ok()
}

/// Status, headers and body of an HTTP answer.
pub type HttpAnswer = (u16, Vec<(String, String)>, Vec<u8>);

/// An HTTP request with a real client (ureq); non-2xx statuses are returned, not errors.
///
/// # Panics
/// When the request cannot be sent or its answer read.
pub fn http_request(method: &str, url: &str, headers: &[(&str, &str)]) -> HttpAnswer {
    try_http_request(method, url, headers).unwrap_or_else(|e| panic!("{method} {url}: {e}"))
}

fn try_http_request(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
) -> Result<HttpAnswer, ureq::Error> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into();
    let mut request = ureq::http::Request::builder().method(method).uri(url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    answer_of(agent.run(request.body(()).expect("valid request"))?)
}

fn answer_of(response: ureq::http::Response<ureq::Body>) -> Result<HttpAnswer, ureq::Error> {
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let body = response
        .into_body()
        .with_config()
        .limit(64 << 20)
        .read_to_vec()?;
    Ok((status, headers, body))
}

/// The first header called `name` (case-insensitive).
pub fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// The address `host:port` on loopback.
pub fn loopback(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

/// The value of the first sample named `name` whose labels include every pair of `labels`,
/// read from a text 0.0.4 exposition (label values without escapes).
pub fn sample_value(exposition: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    exposition
        .lines()
        .filter(|line| !line.starts_with('#'))
        .find_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            let (sample_name, label_text) = match series.split_once('{') {
                Some((sample_name, rest)) => (sample_name, rest.strip_suffix('}')?),
                None => (series, ""),
            };
            let matches = sample_name == name
                && labels.iter().all(|(k, v)| {
                    label_text
                        .split(',')
                        .any(|pair| pair == format!("{k}=\"{v}\""))
                });
            matches.then(|| value.parse().ok()).flatten()
        })
}

/// HTTPS GET of `url` trusting only `ca_pem`, presenting `client` (certificate and key PEM) when
/// given; `Err` with the reason when the connection or handshake fails.
pub fn https_get(
    url: &str,
    ca_pem: &str,
    client: Option<(&str, &str)>,
    headers: &[(&str, &str)],
) -> Result<HttpAnswer, String> {
    use ureq::tls::{Certificate, ClientCert, PrivateKey, RootCerts, TlsConfig, TlsProvider};
    let ca = Certificate::from_pem(ca_pem.as_bytes()).map_err(|e| e.to_string())?;
    let client_cert = match client {
        Some((cert, key)) => Some(ClientCert::new_with_certs(
            &[Certificate::from_pem(cert.as_bytes()).map_err(|e| e.to_string())?],
            PrivateKey::from_pem(key.as_bytes()).map_err(|e| e.to_string())?,
        )),
        None => None,
    };
    let tls = TlsConfig::builder()
        .provider(TlsProvider::Rustls)
        .root_certs(RootCerts::new_with_certs(&[ca]))
        .client_cert(client_cert)
        .build();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .tls_config(tls)
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into();
    let mut request = ureq::http::Request::builder().method("GET").uri(url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    agent
        .run(request.body(()).expect("valid request"))
        .and_then(answer_of)
        .map_err(|e| e.to_string())
}

/// An `Authorization: Basic ...` header value.
pub fn basic_auth(user: &str, password: &str) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let bytes = format!("{user}:{password}").into_bytes();
    let mut out = String::from("Basic ");
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            out.push(if i <= chunk.len() {
                ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char
            } else {
                '='
            });
        }
    }
    out
}

/// Decodes a delimited protobuf exposition with client_golang's `expfmt` (the reference
/// decoder: tests/go/decode, built once per test process) and returns its families as JSON, one
/// value per family, as tests/go/decode/main.go describes them: `name`, `help`, `type`,
/// `metrics` (each with `labels` as `[name, value]` pairs and one of `counter`, `gauge`,
/// `untyped`, `summary`, `histogram`), and `unknown`, the fields the decoder did not know.
/// Floats are strings (`"NaN"`, `"+Inf"`, `"0.25"`).
///
/// # Panics
/// When Go or client_golang's sources are missing (run scripts/test-deps.sh), or when `expfmt`
/// rejects the exposition.
pub fn go_decode(exposition: &[u8]) -> Vec<serde_json::Value> {
    let mut child = Command::new(go_decoder())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the Go decoder");
    let mut stdin = child.stdin.take().expect("piped stdin");
    let input = exposition.to_vec();
    // Written from a thread: the decoder's output could fill its pipe before it reads all input.
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let output = child.wait_with_output().expect("wait for the Go decoder");
    writer
        .join()
        .expect("writer thread")
        .expect("write to the Go decoder");
    assert!(
        output.status.success(),
        "expfmt rejected the protobuf exposition: {}\n({} bytes: {:02x?})",
        String::from_utf8_lossy(&output.stderr),
        exposition.len(),
        &exposition[..exposition.len().min(512)]
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).expect("the decoder prints JSON lines"))
        .collect()
}

/// tests/go/decode (see [`go_program`]), looked up once per test process.
fn go_decoder() -> &'static Path {
    static DECODER: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    DECODER.get_or_init(|| go_program("decode"))
}

/// A real Prometheus server on loopback with a temp storage dir, killed when dropped.
pub struct Prometheus {
    process: Process,
    /// `host:port` of its HTTP API.
    pub listen: String,
}

impl Prometheus {
    /// Starts `prometheus` with `config` (YAML) written into `dir`.
    pub fn start(dir: &TempDir, config: &str) -> Self {
        Self::start_with_flags(dir, config, &[])
    }

    /// Starts `prometheus` with `config` and more command-line flags (`--enable-feature=...`).
    pub fn start_with_flags(dir: &TempDir, config: &str, flags: &[&str]) -> Self {
        let path = dir.path().join("prometheus.yml");
        std::fs::write(&path, config).expect("write prometheus.yml");
        let listen = format!("127.0.0.1:{}", free_port());
        let mut command = Command::new(tool("prometheus"));
        command.args([
            &format!("--config.file={}", path.display()),
            &format!("--storage.tsdb.path={}", dir.path().join("data").display()),
            &format!("--web.listen-address={listen}"),
            "--log.level=warn",
        ]);
        command.args(flags);
        let process = Process::start(command, dir.path().join("prometheus.log"));
        Prometheus { process, listen }
    }

    /// An HTTP API answer (JSON text), or `None` while Prometheus is not answering yet.
    ///
    /// # Panics
    /// When Prometheus has exited (its log says why).
    pub fn api(&mut self, path_and_query: &str) -> Option<String> {
        assert!(
            self.process.is_running(),
            "prometheus exited:\n{}",
            self.process.log()
        );
        let (status, _, body) = try_http_get(&format!("http://{}{path_and_query}", self.listen))?;
        (status == 200).then(|| String::from_utf8_lossy(&body).into_owned())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn free_ports_are_never_handed_out_twice_nor_ephemeral() {
        let ports: Vec<u16> = (0..200).map(|_| super::free_port()).collect();
        let mut distinct = ports.clone();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(distinct.len(), ports.len(), "{ports:?}");
        assert!(
            ports.iter().all(|port| (20_000..32_000).contains(port)),
            "{ports:?}"
        );
    }
}
