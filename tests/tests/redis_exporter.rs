//! The Redis exporter against real Redis servers (Debian's `redis-server`, on loopback, no
//! persistence): the keys and commands it serves match those sent, a stopped Redis gives
//! `redis_up 0` with the scrape still 200, and `/scrape?target=` serves any of several servers.

use promexport_tests::{
    Process, TempDir, free_port, http_get, promtool_check_metrics, python_parse, sample_value,
    tool, wait_for,
};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::Duration;

struct Redis {
    port: u16,
    _server: Process,
}

fn start_redis(dir: &TempDir, name: &str) -> Redis {
    let port = free_port();
    let data = dir.path().join(name);
    std::fs::create_dir_all(&data).unwrap();
    let mut command = Command::new(tool("redis-server"));
    command.args(["--bind", "127.0.0.1", "--port", &port.to_string()]);
    command.args(["--save", "", "--appendonly", "no", "--daemonize", "no"]);
    command.arg("--dir").arg(&data);
    let server = Process::start(command, dir.path().join(format!("{name}.log")));
    wait_for("redis-server to listen", Duration::from_secs(20), || {
        TcpStream::connect(("127.0.0.1", port)).ok()
    });
    Redis {
        port,
        _server: server,
    }
}

/// Sends `commands` on one connection, in RESP, checking each reply is of the type `reply`
/// (`+` OK, `-` an error): the test knows exactly which commands Redis counted.
fn send(port: u16, commands: &[Vec<String>], reply_type: char) {
    let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    for command in commands {
        let mut request = format!("*{}\r\n", command.len());
        for arg in command {
            request += &format!("${}\r\n{arg}\r\n", arg.len());
        }
        writer.write_all(request.as_bytes()).unwrap();
        let mut reply = String::new();
        reader.read_line(&mut reply).unwrap();
        assert!(
            reply.starts_with(reply_type),
            "{command:?} answered {reply:?}"
        );
    }
}

fn sets(count: usize, tag: &str) -> Vec<Vec<String>> {
    (0..count)
        .map(|i| vec!["SET".into(), format!("{tag}:{i}"), "v".into()])
        .collect()
}

fn start_exporter(dir: &TempDir, redis_addr: &str) -> (Process, String) {
    let port = free_port();
    let mut command = Command::new(env!("CARGO_BIN_EXE_redis_exporter"));
    command.args([
        &format!("--redis.addr={redis_addr}"),
        &format!("--web.listen-address=127.0.0.1:{port}"),
        "--connection-timeout=5s",
    ]);
    let exporter = Process::start(command, dir.path().join("exporter.log"));
    wait_for("the exporter to listen", Duration::from_secs(20), || {
        TcpStream::connect(("127.0.0.1", port)).ok()
    });
    (exporter, format!("http://127.0.0.1:{port}"))
}

/// A scrape as Prometheus sends it; asserts the 200.
fn scrape(url: &str) -> String {
    let (status, _, body) = http_get(url, &[("X-Prometheus-Scrape-Timeout-Seconds", "10")]);
    let text = String::from_utf8(body).unwrap();
    assert_eq!(status, 200, "{url}: {text}");
    text
}

#[test]
fn exports_the_keys_and_commands_redis_counted_and_reports_it_down() {
    let dir = TempDir::new("redis");
    let redis = start_redis(&dir, "redis");
    const IN_DB0: usize = 12;
    const IN_DB1: usize = 5;
    let mut commands = sets(IN_DB0, "zero");
    commands.push(vec!["SELECT".into(), "1".into()]);
    commands.extend(sets(IN_DB1, "one"));
    send(redis.port, &commands, '+');
    // A command that fails: `# Commandstats` and `# Errorstats` count it.
    send(redis.port, &[vec!["INCR".into(), "zero:0".into()]], '-');

    let (exporter, base) = start_exporter(&dir, &format!("redis://127.0.0.1:{}", redis.port));
    let metrics = format!("{base}/metrics");
    let text = scrape(&metrics);
    let value = |name: &str, labels: &[(&str, &str)]| sample_value(&text, name, labels);
    assert_eq!(
        value("redis_up", &[]),
        Some(1.0),
        "{text}\n{}",
        exporter.log()
    );
    assert_eq!(
        value("redis_db_keys", &[("db", "db0")]),
        Some(IN_DB0 as f64)
    );
    assert_eq!(
        value("redis_db_keys", &[("db", "db1")]),
        Some(IN_DB1 as f64)
    );
    assert_eq!(
        value("redis_db_keys", &[("db", "db2")]),
        Some(0.0),
        "empty dbs too"
    );
    assert_eq!(value("redis_db_keys_expiring", &[("db", "db0")]), Some(0.0));
    assert_eq!(
        value("redis_commands_total", &[("cmd", "set")]),
        Some((IN_DB0 + IN_DB1) as f64)
    );
    assert!(value("redis_commands_duration_seconds_total", &[("cmd", "set")]).unwrap() > 0.0);
    let incr = [("cmd", "incr")];
    assert_eq!(value("redis_commands_total", &incr), Some(1.0));
    assert_eq!(value("redis_commands_failed_calls_total", &incr), Some(1.0));
    assert_eq!(value("redis_errors_total", &[("err", "ERR")]), Some(1.0));
    // INFO reports the commands before itself: the test's SETs, SELECT and INCR, nothing else.
    let processed = (IN_DB0 + IN_DB1 + 2) as f64;
    assert_eq!(
        value("redis_commands_processed_total", &[]),
        Some(processed)
    );
    // The exporter's connection, and the test's if Redis has not yet seen it close.
    assert!(value("redis_connected_clients", &[]).unwrap() >= 1.0);
    assert_eq!(
        value(
            "redis_replication_role",
            &[("redis_replication_role", "master")]
        ),
        Some(1.0)
    );
    assert_eq!(
        value("redis_instance_info", &[("redis_mode", "standalone")]),
        Some(1.0)
    );
    assert!(value("redis_memory_used_bytes", &[]).unwrap() > 0.0);
    assert!(value("redis_uptime_in_seconds", &[]).is_some());
    assert_eq!(promtool_check_metrics(&text), "");
    let families = python_parse(&text, false);
    let db_keys = families.iter().find(|f| f.name == "redis_db_keys").unwrap();
    assert_eq!(db_keys.kind, "gauge");
    let (status, _, open_metrics) = http_get(
        &metrics,
        &[("Accept", "application/openmetrics-text; version=1.0.0")],
    );
    assert_eq!(status, 200);
    let families = python_parse(&String::from_utf8(open_metrics).unwrap(), true);
    let role = families.iter().find(|f| f.name == "redis_replication_role");
    assert_eq!(role.unwrap().kind, "stateset");

    // The first scrape sent INFO and CONFIG GET, the OpenMetrics one two more.
    let text = scrape(&metrics);
    assert_eq!(
        sample_value(&text, "redis_commands_processed_total", &[]),
        Some(processed + 4.0),
        "{text}"
    );

    drop(redis);
    let text = scrape(&metrics);
    let value = |name: &str| sample_value(&text, name, &[]);
    assert_eq!(value("redis_up"), Some(0.0), "{text}");
    assert_eq!(value("redis_db_keys"), None, "nothing stale is served");
    assert_eq!(value("redis_connected_clients"), None);
    assert_eq!(
        sample_value(
            &text,
            "redis_collection_errors_total",
            &[("reason", "error")]
        ),
        Some(1.0)
    );
    assert!(text.contains("process_cpu_seconds_total"));
    assert_eq!(promtool_check_metrics(&text), "");
    wait_for("a log line saying why", Duration::from_secs(5), || {
        exporter
            .log()
            .contains("reading redis://127.0.0.1")
            .then_some(())
    });
}

#[test]
fn serves_several_redis_servers_through_scrape_target() {
    let dir = TempDir::new("redis-multi");
    let first = start_redis(&dir, "first");
    let second = start_redis(&dir, "second");
    send(first.port, &sets(3, "a"), '+');
    send(second.port, &sets(7, "b"), '+');
    let down_port = free_port();
    // The single target is down: /scrape does not depend on it.
    let (exporter, base) = start_exporter(&dir, &format!("127.0.0.1:{down_port}"));

    let target_url = |target: &str| {
        let encoded = target.replace(':', "%3A").replace('/', "%2F");
        format!("{base}/scrape?target={encoded}")
    };
    for (port, keys) in [(first.port, 3.0), (second.port, 7.0)] {
        // Both forms the official exporter takes: a URL, and `host:port`.
        for target in [
            format!("redis://127.0.0.1:{port}"),
            format!("127.0.0.1:{port}"),
        ] {
            let text = scrape(&target_url(&target));
            let value = |name: &str, labels: &[(&str, &str)]| sample_value(&text, name, labels);
            assert_eq!(
                value("redis_up", &[]),
                Some(1.0),
                "{text}\n{}",
                exporter.log()
            );
            assert_eq!(
                value("redis_db_keys", &[("db", "db0")]),
                Some(keys),
                "{target}"
            );
            let port_label = port.to_string();
            assert_eq!(
                value("redis_instance_info", &[("tcp_port", &port_label)]),
                Some(1.0)
            );
            assert!(
                !text.contains("process_cpu_seconds_total"),
                "only the target"
            );
            assert_eq!(value("probe_success", &[]), Some(1.0), "{text}");
            assert_eq!(promtool_check_metrics(&text), "");
        }
    }

    let text = scrape(&target_url(&format!("redis://127.0.0.1:{down_port}")));
    assert_eq!(sample_value(&text, "redis_up", &[]), Some(0.0), "{text}");
    assert_eq!(sample_value(&text, "redis_db_keys", &[]), None);
    assert_eq!(
        sample_value(&text, "probe_success", &[]),
        Some(0.0),
        "{text}"
    );
    assert_eq!(promtool_check_metrics(&text), "");
    let text = scrape(&format!("{base}/metrics"));
    assert_eq!(sample_value(&text, "redis_up", &[]), Some(0.0), "{text}");

    for bad in [format!("{base}/scrape"), target_url("http://127.0.0.1/")] {
        let (status, _, body) = http_get(&bad, &[]);
        assert_eq!(status, 400, "{bad}: {}", String::from_utf8_lossy(&body));
    }
}
