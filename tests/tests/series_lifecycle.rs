//! Series that come and go, seen through scrapes: `remove`, `retain`, `clear` and idle expiry
//! (`#[metric(expire_after)]`) each take series out of the exposition, a series created again
//! starts at zero, and the series limit counts live series.

use promexport::{Counter, Family, Format, Gauge, LabelSet, LabelValue, Metrics, Registry};
use promexport_tests::{promtool_check_metrics, sample_value};
use std::sync::Arc;
use std::time::Duration;

#[derive(Clone, Debug, PartialEq, Eq, Hash, LabelSet)]
struct PodLabels {
    namespace: String,
    pod: String,
}

fn pod(namespace: &str, pod: &str) -> PodLabels {
    PodLabels {
        namespace: namespace.to_owned(),
        pod: pod.to_owned(),
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelValue)]
enum Phase {
    Pending,
    Running,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, LabelSet)]
struct PhaseLabels {
    phase: Phase,
}

#[derive(Metrics)]
#[metrics(prefix = "cluster", no_global)]
struct Cluster {
    /// Restarts by pod.
    #[metric(max_series = 3)]
    restarts: Family<PodLabels, Counter>,
    /// Pods by phase.
    pods: Family<PhaseLabels, Gauge>,
    /// Bytes sent, by peer pod; pods gone quiet are dropped.
    #[metric(expire_after = "1s")]
    sent: Family<PodLabels, Counter>,
}

fn scrape(registry: &Registry) -> String {
    let text = registry.render(Format::Text);
    promtool_check_metrics(&text);
    text
}

fn restarts(text: &str, namespace: &str, name: &str) -> Option<f64> {
    sample_value(
        text,
        "cluster_restarts_total",
        &[("namespace", namespace), ("pod", name)],
    )
}

fn setup() -> (Registry, Arc<Cluster>) {
    let cluster = Arc::new(Cluster::new());
    let registry = Registry::new();
    registry.register(cluster.clone()).unwrap();
    (registry, cluster)
}

#[test]
fn removed_series_leave_the_scrape_and_come_back_at_zero() {
    let (registry, cluster) = setup();
    cluster.restarts.get(&pod("web", "web-1")).inc_by(4);
    cluster.restarts.get(&pod("web", "web-2")).inc();
    let held = cluster.restarts.get(&pod("web", "web-1"));
    assert_eq!(restarts(&scrape(&registry), "web", "web-1"), Some(4.0));

    assert!(cluster.restarts.remove(&pod("web", "web-1")));
    held.inc();
    let text = scrape(&registry);
    assert_eq!(restarts(&text, "web", "web-1"), None, "removed");
    assert_eq!(restarts(&text, "web", "web-2"), Some(1.0));

    cluster.restarts.get(&pod("web", "web-1")).inc();
    assert_eq!(
        restarts(&scrape(&registry), "web", "web-1"),
        Some(1.0),
        "a fresh series, without the held handle's update"
    );
}

#[test]
fn retain_and_clear_take_series_out_of_the_scrape() {
    let (registry, cluster) = setup();
    for (namespace, name) in [("web", "web-1"), ("batch", "job-1"), ("batch", "job-2")] {
        cluster.restarts.get(&pod(namespace, name)).inc();
    }
    cluster
        .restarts
        .retain(|labels| labels.namespace != "batch");
    let text = scrape(&registry);
    assert_eq!(restarts(&text, "web", "web-1"), Some(1.0));
    assert_eq!(restarts(&text, "batch", "job-1"), None);
    assert_eq!(restarts(&text, "batch", "job-2"), None);

    cluster.restarts.clear();
    let text = scrape(&registry);
    assert!(!text.contains("cluster_restarts_total{"), "{text}");
    assert!(cluster.restarts.is_empty());
}

#[test]
fn the_series_limit_counts_live_series() {
    let (registry, cluster) = setup();
    for i in 0..3 {
        cluster.restarts.get(&pod("web", &format!("web-{i}"))).inc();
    }
    cluster.restarts.get(&pod("web", "web-3")).inc();
    assert_eq!(restarts(&scrape(&registry), "web", "web-3"), None, "full");
    cluster.restarts.remove(&pod("web", "web-0"));
    cluster.restarts.get(&pod("web", "web-3")).inc();
    assert_eq!(
        restarts(&scrape(&registry), "web", "web-3"),
        Some(1.0),
        "room made by the removal"
    );
}

#[test]
fn removing_a_closed_series_unserves_it_until_it_is_touched() {
    let (registry, cluster) = setup();
    let running = PhaseLabels {
        phase: Phase::Running,
    };
    let pending = PhaseLabels {
        phase: Phase::Pending,
    };
    cluster.pods.get(&running).set(3);
    cluster.pods.get(&pending).set(1);
    assert!(cluster.pods.remove(&pending));
    let text = scrape(&registry);
    assert_eq!(
        sample_value(&text, "cluster_pods", &[("phase", "running")]),
        Some(3.0)
    );
    assert_eq!(
        sample_value(&text, "cluster_pods", &[("phase", "pending")]),
        None
    );
    cluster.pods.get(&pending).set(2);
    assert_eq!(
        sample_value(&scrape(&registry), "cluster_pods", &[("phase", "pending")]),
        Some(2.0)
    );
}

#[test]
fn series_idle_for_expire_after_are_dropped_by_a_scrape() {
    let (registry, cluster) = setup();
    let sent = |text: &str, name: &str| {
        sample_value(
            text,
            "cluster_sent_total",
            &[("namespace", "web"), ("pod", name)],
        )
    };
    cluster.sent.get(&pod("web", "quiet")).inc();
    cluster.sent.get(&pod("web", "busy")).inc();
    let held = cluster.sent.get(&pod("web", "held"));
    let text = scrape(&registry);
    assert_eq!(sent(&text, "quiet"), Some(1.0));
    // Used after the first scrape, and more than `expire_after` later the second one drops the
    // series last used before the first. Sleeping longer only makes the idle series older.
    cluster.sent.get(&pod("web", "busy")).inc();
    std::thread::sleep(Duration::from_millis(1_300));
    held.inc();
    let text = scrape(&registry);
    assert_eq!(sent(&text, "quiet"), None, "idle for over a second");
    assert_eq!(sent(&text, "busy"), Some(2.0));
    assert_eq!(sent(&text, "held"), Some(1.0), "a held series is in use");
    assert_eq!(cluster.sent.len(), 2);

    cluster.sent.get(&pod("web", "quiet")).inc();
    assert_eq!(
        sent(&scrape(&registry), "quiet"),
        Some(1.0),
        "back, from zero"
    );
}
