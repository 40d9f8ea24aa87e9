//! `promexport::exporter`: the standard flags as Go's exporters parse them, `--version`, several
//! listen addresses, systemd socket activation, and a graceful SIGTERM, on the real binaries
//! `toolkit_exporter` (the example) and `toolkit_fixture`.

use clap::FromArgMatches;
use promexport::exporter::{Exporter, Flags, LogFormat, LogLevel};
use promexport_tests::{Process, TempDir, free_port, http_get, sample_value, tool, wait_for};
use std::process::Command;
use std::time::Duration;

const FIXTURE: &str = env!("CARGO_BIN_EXE_toolkit_fixture");

fn parse(args: &[&str]) -> Result<Flags, clap::Error> {
    let command = Exporter::<Flags>::new("test_exporter")
        .default_address(":9100")
        .command();
    let matches = command
        .try_get_matches_from(std::iter::once("test_exporter").chain(args.iter().copied()))?;
    Flags::from_arg_matches(&matches)
}

/// exporter-toolkit's defaults (`kingpinflag.AddFlags(app, ":9100")`, `bootstrap.New`,
/// `promslogflag.AddFlags`), and the spellings kingpin accepts.
#[test]
fn flags_parse_as_in_go_exporters() {
    let defaults = parse(&[]).unwrap();
    assert_eq!(defaults.listen_addresses, [":9100"]);
    assert!(!defaults.systemd_socket);
    assert_eq!(defaults.web_config_file, None);
    assert_eq!(defaults.telemetry_path, "/metrics");
    assert!(!defaults.disable_exporter_metrics);
    assert_eq!(defaults.max_requests, 40);
    assert_eq!(defaults.log_level, LogLevel::Info);
    assert_eq!(defaults.log_format, LogFormat::Logfmt);

    type Check = fn(&Flags) -> bool;
    let table: &[(&[&str], Check)] = &[
        (&["--web.listen-address=:9200"], |f| {
            f.listen_addresses == [":9200"]
        }),
        (&["--web.listen-address", "[::1]:9200"], |f| {
            f.listen_addresses == ["[::1]:9200"]
        }),
        (
            &[
                "--web.listen-address=:1",
                "--web.listen-address=127.0.0.1:2",
            ],
            |f| f.listen_addresses == [":1", "127.0.0.1:2"],
        ),
        (&["--web.systemd-socket"], |f| f.systemd_socket),
        (&["--web.systemd-socket", "--no-web.systemd-socket"], |f| {
            !f.systemd_socket
        }),
        (&["--web.config.file=web.yml"], |f| {
            f.web_config_file.as_deref() == Some("web.yml".as_ref())
        }),
        (&["--web.telemetry-path=/m"], |f| f.telemetry_path == "/m"),
        (&["--web.disable-exporter-metrics"], |f| {
            f.disable_exporter_metrics
        }),
        (&["--web.max-requests=0"], |f| f.max_requests == 0),
        (&["--log.level=debug"], |f| f.log_level == LogLevel::Debug),
        (&["--log.level", "warn"], |f| f.log_level == LogLevel::Warn),
        (&["--log.level=error"], |f| f.log_level == LogLevel::Error),
        (&["--log.format=json"], |f| f.log_format == LogFormat::Json),
    ];
    for (args, check) in table {
        let flags = parse(args).unwrap_or_else(|e| panic!("{args:?}: {e}"));
        assert!(check(&flags), "{args:?} gave {flags:?}");
    }
    for refused in [
        &["--log.level=verbose"][..],
        &["--log.format=text"],
        &["--web.max-requests=-1"],
        &["--web.listen"],
        &["--no-such-flag"],
    ] {
        assert!(parse(refused).is_err(), "{refused:?} was accepted");
    }
}

#[test]
fn collector_flags_and_help_name_what_go_names() {
    let output = Command::new(FIXTURE).arg("--help").output().unwrap();
    assert!(output.status.success());
    let help = String::from_utf8(output.stdout).unwrap();
    for expected in [
        "--web.listen-address <ADDRESS>",
        "[default: :9100]",
        "--web.systemd-socket",
        "Use systemd socket activation listeners instead of port listeners (Linux only).",
        "--web.config.file <FILE>",
        "--web.telemetry-path <PATH>",
        "--web.disable-exporter-metrics",
        "--web.max-requests <N>",
        "Maximum number of parallel scrape requests. Use 0 to disable.",
        "--log.level <LEVEL>",
        "One of: [debug, info, warn, error]",
        "--log.format <FORMAT>",
        "--collector.healthy",
        "Enable the healthy collector (default: enabled).",
        "--no-collector.healthy",
        "Enable the optional collector (default: disabled).",
        "--collector.disable-defaults",
        "--version",
        "--fixture.slow-seconds",
    ] {
        assert!(help.contains(expected), "no {expected:?} in\n{help}");
    }
    let refused = Command::new(FIXTURE)
        .arg("--collector.nope")
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(2));
}

#[test]
fn version_is_printed_in_the_prometheus_common_layout() {
    let output = Command::new(env!("CARGO_BIN_EXE_toolkit_exporter"))
        .arg("--version")
        .output()
        .unwrap();
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 5, "{text}");
    assert!(
        lines[0].starts_with(&format!(
            "toolkit_exporter, version {} (branch: ",
            env!("CARGO_PKG_VERSION")
        )),
        "{text}"
    );
    assert!(
        lines[0].contains(", revision: ") && lines[0].ends_with(')'),
        "{text}"
    );
    assert!(lines[1].starts_with("  build user:       "), "{text}");
    assert!(lines[2].starts_with("  build date:       "), "{text}");
    assert!(lines[3].starts_with("  rustc version:    1."), "{text}");
    assert!(lines[4].starts_with("  platform:         "), "{text}");
    assert!(lines[4].contains('/'), "{text}");
}

/// The examples built on the toolkit take its standard flags and print its `--version`.
#[test]
fn the_examples_take_the_standard_flags() {
    for (binary, name) in [
        (env!("CARGO_BIN_EXE_app_exporter"), "app_exporter"),
        (env!("CARGO_BIN_EXE_nginx_exporter"), "nginx_exporter"),
        (env!("CARGO_BIN_EXE_redis_exporter"), "redis_exporter"),
    ] {
        let output = Command::new(binary).arg("--version").output().unwrap();
        assert!(output.status.success(), "{name}");
        let text = String::from_utf8(output.stdout).unwrap();
        assert!(text.starts_with(&format!("{name}, version ")), "{text}");
        let output = Command::new(binary).arg("--help").output().unwrap();
        let help = String::from_utf8(output.stdout).unwrap();
        for flag in [
            "--web.listen-address",
            "--web.systemd-socket",
            "--web.config.file",
            "--web.telemetry-path",
            "--web.max-requests",
            "--log.level",
            "--log.format",
        ] {
            assert!(help.contains(flag), "{name} --help lacks {flag}:\n{help}");
        }
        let output = Command::new(binary)
            .arg("--web.listen-address=127.0.0.1:99999")
            .output()
            .unwrap();
        assert_eq!(
            output.status.code(),
            Some(1),
            "{name}: a bad address stops it"
        );
    }
}

fn start(dir: &TempDir, args: &[&str]) -> Process {
    let mut command = Command::new(FIXTURE);
    command.args(args);
    Process::start(command, dir.path().join("exporter.log"))
}

fn wait_until_served(exporter: &mut Process, url: &str) -> String {
    wait_for("the exporter to serve", Duration::from_secs(30), || {
        assert!(exporter.is_running(), "exited:\n{}", exporter.log());
        let (status, _, body) = promexport_tests::try_http_get(url)?;
        (status == 200).then(|| String::from_utf8(body).unwrap())
    })
}

#[test]
fn two_listen_addresses_are_served_at_once() {
    let dir = TempDir::new("toolkit-two-addresses");
    let (first, second) = (free_port(), free_port());
    let mut exporter = start(
        &dir,
        &[
            &format!("--web.listen-address=127.0.0.1:{first}"),
            "--web.listen-address",
            &format!("127.0.0.1:{second}"),
        ],
    );
    for port in [first, second] {
        let text = wait_until_served(&mut exporter, &format!("http://127.0.0.1:{port}/metrics"));
        assert!(text.contains("fixture_healthy 1\n"), "{text}");
    }
    let log = exporter.log();
    for port in [first, second] {
        assert!(
            log.contains(&format!("msg=\"Listening on\" address=127.0.0.1:{port}")),
            "{log}"
        );
    }
    assert!(log.contains("level=INFO source="), "{log}");
    assert!(
        log.contains("msg=\"Starting toolkit_fixture\" version=\"(version="),
        "{log}"
    );
    let (status, _, body) = http_get(&format!("http://127.0.0.1:{first}/"), &[]);
    assert_eq!(status, 200);
    assert!(
        String::from_utf8(body)
            .unwrap()
            .contains("href=\"metrics\"")
    );
    let (status, _, _) = http_get(&format!("http://127.0.0.1:{second}/-/healthy"), &[]);
    assert_eq!(status, 200);
}

#[test]
fn json_logs_carry_the_same_keys() {
    let dir = TempDir::new("toolkit-json-logs");
    let port = free_port();
    let mut exporter = start(
        &dir,
        &[
            &format!("--web.listen-address=127.0.0.1:{port}"),
            "--log.format=json",
        ],
    );
    wait_until_served(&mut exporter, &format!("http://127.0.0.1:{port}/metrics"));
    let log = exporter.log();
    let listening = log
        .lines()
        .find(|line| line.contains("Listening on"))
        .unwrap_or_else(|| panic!("{log}"));
    assert!(listening.starts_with("{\"time\":\""), "{listening}");
    assert!(
        listening.contains("\"level\":\"INFO\",\"source\":\""),
        "{listening}"
    );
    assert!(
        listening.ends_with(&format!(
            "\"msg\":\"Listening on\",\"address\":\"127.0.0.1:{port}\"}}"
        )),
        "{listening}"
    );
}

/// The way systemd passes a socket: bound and listening on descriptor 3, `LISTEN_FDS=1`, and
/// `LISTEN_PID` the pid of the process that gets it (Python sets both, then execs the exporter
/// in its own process, keeping the pid).
const SOCKET_ACTIVATION: &str = r#"
import os, socket, sys
port, pid = int(sys.argv[1]), sys.argv[2]
listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", port))
listener.listen(16)
if listener.fileno() != 3:
    os.dup2(listener.fileno(), 3)
os.set_inheritable(3, True)
os.environ["LISTEN_FDS"] = "1"
os.environ["LISTEN_PID"] = str(os.getpid()) if pid == "self" else pid
os.execv(sys.argv[3], sys.argv[3:])
"#;

fn socket_activated(dir: &TempDir, port: u16, pid: &str) -> Process {
    let mut command = Command::new(tool("python3"));
    command.args([
        "-c",
        SOCKET_ACTIVATION,
        &port.to_string(),
        pid,
        FIXTURE,
        "--web.systemd-socket",
        // Ignored with socket activation, as in Go: the port listeners are not opened.
        "--web.listen-address=127.0.0.1:1",
    ]);
    Process::start(command, dir.path().join("exporter.log"))
}

#[test]
fn systemd_socket_activation_serves_the_passed_socket() {
    let dir = TempDir::new("toolkit-systemd");
    let port = free_port();
    let mut exporter = socket_activated(&dir, port, "self");
    let text = wait_until_served(&mut exporter, &format!("http://127.0.0.1:{port}/metrics"));
    assert!(text.contains("fixture_healthy 1\n"), "{text}");
    let log = exporter.log();
    assert!(
        log.contains("msg=\"Listening on systemd activated listeners instead of port listeners.\""),
        "{log}"
    );
    assert!(log.contains(&format!("address=127.0.0.1:{port}")), "{log}");
}

#[test]
fn sockets_passed_to_another_process_are_refused() {
    let dir = TempDir::new("toolkit-systemd-other");
    let mut exporter = socket_activated(&dir, free_port(), "1");
    let status = exporter
        .wait_timeout(Duration::from_secs(30))
        .expect("the exporter exits");
    assert_eq!(status.code(), Some(1));
    let log = exporter.log();
    assert!(
        log.contains("--web.systemd-socket: the sockets were passed to process 1"),
        "{log}"
    );
}

#[test]
fn sigterm_lets_a_slow_scrape_finish() {
    let dir = TempDir::new("toolkit-sigterm");
    let port = free_port();
    let mut exporter = start(
        &dir,
        &[
            &format!("--web.listen-address=127.0.0.1:{port}"),
            "--fixture.slow-seconds=3",
        ],
    );
    let base = format!("http://127.0.0.1:{port}/metrics");
    wait_until_served(
        &mut exporter,
        &format!("{base}?exclude[]=slow&exclude[]=sluggish"),
    );
    let slow = std::thread::spawn({
        let url = base.clone();
        move || http_get(&url, &[("X-Prometheus-Scrape-Timeout-Seconds", "30")])
    });
    // The slow scrape is in flight when a quick one (without the two slow collectors) counts two.
    wait_for(
        "the slow scrape to be in flight",
        Duration::from_secs(20),
        || {
            let (_, _, body) = http_get(&format!("{base}?exclude[]=slow&exclude[]=sluggish"), &[]);
            let text = String::from_utf8(body).unwrap();
            (sample_value(&text, "promhttp_metric_handler_requests_in_flight", &[])? >= 2.0)
                .then_some(())
        },
    );
    let killed = Command::new("kill")
        .args(["-TERM", &exporter.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let (status, _, body) = slow.join().unwrap();
    let text = String::from_utf8(body).unwrap();
    assert_eq!(status, 200);
    assert!(text.contains("fixture_slow 1\n"), "{text}");
    let exited = exporter
        .wait_timeout(Duration::from_secs(20))
        .expect("exits");
    assert!(exited.success(), "{exited:?}\n{}", exporter.log());
    assert!(
        exporter.log().contains("signal=SIGTERM"),
        "{}",
        exporter.log()
    );
}
