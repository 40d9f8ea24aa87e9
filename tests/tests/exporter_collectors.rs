//! The exporter toolkit's named collectors, on the real `toolkit_fixture` binary: one failing,
//! one panicking and one slow collector beside healthy ones, `--collector.NAME` /
//! `--no-collector.NAME` / `--collector.disable-defaults`, and `collect[]` / `exclude[]`.

use promexport_tests::{
    Process, TempDir, free_port, http_get, promtool_check_metrics, sample_value, try_http_get,
    wait_for,
};
use std::process::Command;
use std::time::{Duration, Instant};

struct Fixture {
    process: Process,
    base: String,
    _dir: TempDir,
}

fn start(args: &[&str]) -> Fixture {
    let dir = TempDir::new("toolkit-collectors");
    let port = free_port();
    let mut command = Command::new(env!("CARGO_BIN_EXE_toolkit_fixture"));
    command
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .args(args);
    let mut process = Process::start(command, dir.path().join("exporter.log"));
    let base = format!("http://127.0.0.1:{port}/metrics");
    wait_for("the exporter to serve", Duration::from_secs(30), || {
        assert!(process.is_running(), "exited:\n{}", process.log());
        try_http_get(&format!("http://127.0.0.1:{port}/-/healthy"))
    });
    Fixture {
        process,
        base,
        _dir: dir,
    }
}

impl Fixture {
    fn get(&self, query: &str, headers: &[(&str, &str)]) -> (u16, String) {
        let (status, _, body) = http_get(&format!("{}{query}", self.base), headers);
        (status, String::from_utf8(body).unwrap())
    }

    fn scrape(&self, query: &str) -> String {
        let (status, text) = self.get(query, &[]);
        assert_eq!(status, 200, "{text}\n{}", self.process.log());
        text
    }
}

fn success(text: &str, collector: &str) -> Option<f64> {
    sample_value(
        text,
        "toolkit_fixture_scrape_collector_success",
        &[("collector", collector)],
    )
}

#[test]
fn failing_and_panicking_collectors_leave_only_their_own_series_out() {
    let fixture = start(&[]);
    let text = fixture.scrape("");
    for (collector, succeeded) in [
        ("healthy", 1.0),
        ("slow", 1.0),
        ("blocking", 1.0),
        ("failing", 0.0),
        ("panicking", 0.0),
    ] {
        assert_eq!(
            success(&text, collector),
            Some(succeeded),
            "{collector}\n{text}"
        );
        let duration = sample_value(
            &text,
            "toolkit_fixture_scrape_collector_duration_seconds",
            &[("collector", collector)],
        );
        assert!(duration.is_some_and(|d| d >= 0.0), "{collector}\n{text}");
    }
    assert_eq!(success(&text, "optional"), None, "off by default\n{text}");
    assert!(text.contains("fixture_healthy 1\n"), "{text}");
    assert!(text.contains("fixture_blocking 1\n"), "{text}");
    assert!(!text.contains("fixture_never"), "{text}");
    assert!(!text.contains("fixture_optional"), "{text}");
    assert!(
        text.contains("toolkit_fixture_build_info{version="),
        "{text}"
    );
    assert!(
        text.contains("promhttp_metric_handler_requests_total"),
        "{text}"
    );
    let log = fixture.process.log();
    assert!(
        log.contains("msg=\"collector failed\" name=failing")
            && log.contains("err=\"the target refused\""),
        "{log}"
    );
    assert!(
        log.contains("name=panicking") && log.contains("err=panicked"),
        "{log}"
    );
    let lint = promtool_check_metrics(&text);
    assert!(lint.trim().is_empty(), "{lint}");
    // The exporter still serves after the panics.
    assert!(fixture.scrape("").contains("fixture_healthy 1\n"));
}

#[test]
fn a_slow_collector_is_cut_at_the_scrape_deadline_and_the_others_are_served() {
    let fixture = start(&["--fixture.slow-seconds=60"]);
    let start = Instant::now();
    let (status, text) = fixture.get("", &[("X-Prometheus-Scrape-Timeout-Seconds", "2")]);
    let took = start.elapsed();
    assert_eq!(status, 200);
    assert_eq!(success(&text, "slow"), Some(0.0), "{text}");
    assert_eq!(success(&text, "healthy"), Some(1.0), "{text}");
    assert!(text.contains("fixture_healthy 1\n"), "{text}");
    assert!(!text.contains("fixture_slow "), "{text}");
    let slow = sample_value(
        &text,
        "toolkit_fixture_scrape_collector_duration_seconds",
        &[("collector", "slow")],
    )
    .unwrap();
    // 2 s announced, less the 0.5 s offset.
    assert!((1.4..20.0).contains(&slow), "{slow}");
    assert!(took < Duration::from_secs(30), "{took:?}");
    assert!(
        fixture.process.log().contains("timed out after 1.5s"),
        "{}",
        fixture.process.log()
    );
}

#[test]
fn collectors_run_at_the_same_time_each_timed_on_its_own() {
    let fixture = start(&["--fixture.slow-seconds=3"]);
    let start = Instant::now();
    let text = fixture.scrape("");
    let took = start.elapsed();
    assert_eq!(success(&text, "slow"), Some(1.0), "{text}");
    assert_eq!(success(&text, "sluggish"), Some(1.0), "{text}");
    // One after the other they would take 6 s.
    assert!(took < Duration::from_millis(5500), "{took:?}");
    let duration = |collector| {
        sample_value(
            &text,
            "toolkit_fixture_scrape_collector_duration_seconds",
            &[("collector", collector)],
        )
        .unwrap()
    };
    assert!(duration("slow") >= 3.0, "{text}");
    // Awaited after `slow`, still timed as the quick collector it is.
    assert!(duration("blocking") < 2.0, "{text}");
}

#[test]
fn collectors_are_switched_by_their_flags() {
    let fixture = start(&["--no-collector.healthy", "--collector.optional"]);
    let text = fixture.scrape("");
    assert_eq!(success(&text, "healthy"), None, "{text}");
    assert!(!text.contains("fixture_healthy"), "{text}");
    assert_eq!(success(&text, "optional"), Some(1.0), "{text}");
    assert!(text.contains("fixture_optional 1\n"), "{text}");
    assert_eq!(success(&text, "failing"), Some(0.0), "{text}");

    let only = start(&["--collector.disable-defaults", "--collector.healthy"]);
    let text = only.scrape("");
    assert_eq!(success(&text, "healthy"), Some(1.0), "{text}");
    for off in [
        "failing",
        "slow",
        "sluggish",
        "panicking",
        "blocking",
        "optional",
    ] {
        assert_eq!(success(&text, off), None, "{off}\n{text}");
    }
    // The last of `--collector.X` / `--no-collector.X` wins, as with kingpin.
    let last = start(&["--no-collector.blocking", "--collector.blocking"]);
    assert_eq!(success(&last.scrape(""), "blocking"), Some(1.0));
}

#[test]
fn collect_and_exclude_narrow_one_scrape() {
    let fixture = start(&[]);
    let text = fixture.scrape("?collect[]=healthy&collect%5B%5D=blocking");
    assert_eq!(success(&text, "healthy"), Some(1.0), "{text}");
    assert_eq!(success(&text, "blocking"), Some(1.0), "{text}");
    for left_out in ["failing", "slow", "panicking"] {
        assert_eq!(success(&text, left_out), None, "{left_out}\n{text}");
    }
    let text = fixture.scrape("?exclude[]=failing&exclude[]=panicking");
    assert_eq!(success(&text, "failing"), None, "{text}");
    assert_eq!(success(&text, "panicking"), None, "{text}");
    assert_eq!(success(&text, "healthy"), Some(1.0), "{text}");
    for refused in [
        "?collect[]=nope",
        "?exclude[]=nope",
        // Off by flag: not collectable by query.
        "?collect[]=optional",
        "?collect[]=healthy&exclude[]=failing",
    ] {
        let (status, body) = fixture.get(refused, &[]);
        assert_eq!(status, 400, "{refused}: {body}");
    }
    // Counted as the server counts scrapes.
    let text = fixture.scrape("?collect[]=healthy");
    assert!(
        sample_value(
            &text,
            "promhttp_metric_handler_requests_total",
            &[("code", "400")]
        )
        .is_some_and(|count| count >= 4.0),
        "{text}"
    );
}

#[test]
fn exporter_metrics_can_be_left_out() {
    let fixture = start(&["--web.disable-exporter-metrics"]);
    let text = fixture.scrape("");
    assert!(!text.contains("promhttp_"), "{text}");
    assert!(!text.contains("process_"), "{text}");
    assert!(text.contains("toolkit_fixture_build_info"), "{text}");
    assert!(text.contains("fixture_healthy 1\n"), "{text}");
}

#[test]
fn probes_beyond_max_requests_get_503_and_a_panicking_probe_fails_alone() {
    let fixture = start(&["--web.max-requests=1"]);
    let probe_url = fixture.base.replace("/metrics", "/probe");
    // Tried again while a quick probe of the poll below holds the one permit.
    let long = std::thread::spawn({
        let url = format!("{probe_url}?target=5");
        move || {
            for _ in 0..200 {
                let answer = http_get(&url, &[("X-Prometheus-Scrape-Timeout-Seconds", "30")]);
                if answer.0 != 503 {
                    return answer;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            panic!("the long probe was refused 200 times");
        }
    });
    wait_for(
        "a probe refused while the long one runs",
        Duration::from_secs(20),
        || {
            let (status, _, _) = http_get(&format!("{probe_url}?target=0"), &[]);
            assert!(status == 200 || status == 503, "{status}");
            (status == 503).then_some(())
        },
    );
    let (status, _, body) = long.join().unwrap();
    assert_eq!(status, 200);
    let text = String::from_utf8(body).unwrap();
    assert!(text.contains("probe_success 1\n"), "{text}");
    let (status, _, body) = http_get(&format!("{probe_url}?target=panic"), &[]);
    assert_eq!(status, 200);
    let text = String::from_utf8(body).unwrap();
    assert!(text.contains("probe_success 0\n"), "{text}");
    let (status, _, body) = http_get(&format!("{probe_url}?target=0"), &[]);
    assert_eq!(status, 200);
    assert!(
        String::from_utf8(body)
            .unwrap()
            .contains("probe_success 1\n")
    );
}

#[test]
fn a_probe_error_serves_its_metrics_or_refuses_the_target() {
    let fixture = start(&[]);
    let probe_url = fixture.base.replace("/metrics", "/probe");
    let (status, _, body) = http_get(&format!("{probe_url}?target=refused"), &[]);
    let text = String::from_utf8(body).unwrap();
    assert_eq!(status, 200, "{text}");
    assert_eq!(
        sample_value(&text, "probe_success", &[]),
        Some(0.0),
        "{text}"
    );
    assert_eq!(
        sample_value(&text, "fixture_probe_answered", &[]),
        Some(0.0),
        "{text}"
    );
    assert!(text.contains("probe_duration_seconds "), "{text}");
    assert_eq!(promtool_check_metrics(&text), "");
    wait_for("the failure logged", Duration::from_secs(5), || {
        fixture
            .process
            .log()
            .contains("the target refused")
            .then_some(())
    });
    let (status, _, body) = http_get(&format!("{probe_url}?target=nonsense"), &[]);
    let text = String::from_utf8(body).unwrap();
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("not a probe target"), "{text}");
    assert!(!text.contains("probe_success"), "{text}");
}

#[test]
fn the_telemetry_path_is_the_flag_s() {
    let fixture = start(&["--web.telemetry-path=/internal/metrics"]);
    let (status, _) = fixture.get("", &[]);
    assert_eq!(status, 404);
    let (status, _, body) = http_get(&fixture.base.replace("/metrics", "/internal/metrics"), &[]);
    assert_eq!(status, 200);
    assert!(
        String::from_utf8(body)
            .unwrap()
            .contains("fixture_healthy 1\n")
    );
    let (_, _, page) = http_get(&fixture.base.replace("/metrics", "/"), &[]);
    assert!(
        String::from_utf8(page)
            .unwrap()
            .contains("href=\"internal/metrics\"")
    );
}
