//! Remote write of 10,000 series, promexport against prometheus-reqwest-remote-write (the path
//! its README shows: a tikv `prometheus` registry's `gather()`, `WriteRequest::
//! from_metric_families`, `encode_compressed`), measured in one run. Run it with `run.sh`.
//!
//! 1. One request: registry walk + protobuf + snappy, median over interleaved rounds, and its
//!    compressed size.
//! 2. An agent: each sends the 10,000 series to a loopback receiver every `INTERVAL` for
//!    `AGENT_RUN`, over HTTP/1.1 as it would every 15 s. The process CPU (user + system) of the
//!    run, less the receiver thread's own, divided by the requests the receiver answered, is the
//!    CPU of one send; divided by 15 s it is the CPU per second of an agent on a 15 s interval.

use prometheus_reqwest_remote_write::WriteRequest;
use promexport::remote_write::{Endpoint, Protocol, RemoteWriter, encode_request};
use promexport::{Counter, Family, LabelSet, Metrics, Registry};
use std::hint::black_box;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const SERIES: usize = 10_000;
const EXTERNAL: &[(&str, &str)] = &[("instance", "edge-17"), ("job", "bench")];
const ROUNDS: usize = 7;
const PER_ROUND: usize = 10;
const INTERVAL: Duration = Duration::from_millis(250);
const AGENT_RUN: Duration = Duration::from_secs(6);
const PRODUCTION_INTERVAL_S: f64 = 15.0;

#[derive(Clone, PartialEq, Eq, Hash, LabelSet)]
struct Device {
    device: String,
    zone: String,
}

#[derive(Metrics)]
#[metrics(prefix = "fleet", no_global)]
struct FleetMetrics {
    /// Frames processed, by device.
    #[metric(max_series = 20000)]
    frames: Family<Device, Counter>,
}

fn promexport_registry() -> Registry {
    let registry = Registry::new();
    let metrics = Arc::new(FleetMetrics::new());
    registry.register(metrics.clone()).unwrap();
    for i in 0..SERIES {
        let device = Device {
            device: format!("device-{i:05}"),
            zone: format!("zone-{}", i % 16),
        };
        metrics.frames.get(&device).inc_by(i as u64 * 7);
    }
    registry
}

fn tikv_registry() -> prometheus::Registry {
    let registry = prometheus::Registry::new();
    let frames = prometheus::IntCounterVec::new(
        prometheus::Opts::new("fleet_frames_total", "Frames processed, by device."),
        &["device", "zone"],
    )
    .unwrap();
    registry.register(Box::new(frames.clone())).unwrap();
    for i in 0..SERIES {
        frames
            .with_label_values(&[format!("device-{i:05}"), format!("zone-{}", i % 16)])
            .inc_by(i as u64 * 7);
    }
    registry
}

fn external() -> Vec<(String, String)> {
    EXTERNAL
        .iter()
        .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
        .collect()
}

fn peer_body(registry: &prometheus::Registry) -> Vec<u8> {
    WriteRequest::from_metric_families(registry.gather(), Some(external()))
        .unwrap()
        .encode_compressed()
        .unwrap()
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn cpu(clock: libc::clockid_t) -> Duration {
    let mut time = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `time` is a valid timespec the call writes.
    assert_eq!(unsafe { libc::clock_gettime(clock, &mut time) }, 0);
    Duration::new(time.tv_sec as u64, time.tv_nsec as u32)
}

/// A loopback HTTP/1.1 receiver answering 204 to every request; it counts them and its own CPU.
struct Receiver {
    url: String,
    requests: Arc<AtomicU64>,
    cpu_ns: Arc<AtomicU64>,
}

impl Receiver {
    fn start() -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/api/v1/write", listener.local_addr().unwrap());
        let requests = Arc::new(AtomicU64::new(0));
        let cpu_ns = Arc::new(AtomicU64::new(0));
        let (counted, spent) = (requests.clone(), cpu_ns.clone());
        std::thread::spawn(move || {
            for connection in listener.incoming() {
                let (requests, cpu_ns) = (counted.clone(), spent.clone());
                std::thread::spawn(move || serve(connection.unwrap(), &requests, &cpu_ns));
            }
        });
        Receiver {
            url,
            requests,
            cpu_ns,
        }
    }

    fn snapshot(&self) -> (u64, Duration) {
        (
            self.requests.load(Ordering::SeqCst),
            Duration::from_nanos(self.cpu_ns.load(Ordering::SeqCst)),
        )
    }
}

fn serve(stream: TcpStream, requests: &AtomicU64, cpu_ns: &AtomicU64) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    let mut line = String::new();
    let mut body = Vec::new();
    let mut reported = Duration::ZERO;
    loop {
        let mut length = 0;
        loop {
            line.clear();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            if line == "\r\n" {
                break;
            }
            if let Some((name, value)) = line.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().unwrap();
            }
        }
        body.resize(length, 0);
        reader.read_exact(&mut body).unwrap();
        writer
            .write_all(b"HTTP/1.1 204 No Content\r\n\r\n")
            .unwrap();
        let spent = cpu(libc::CLOCK_THREAD_CPUTIME_ID);
        cpu_ns.fetch_add((spent - reported).as_nanos() as u64, Ordering::SeqCst);
        reported = spent;
        requests.fetch_add(1, Ordering::SeqCst);
    }
}

/// CPU of the process less the receiver's, per request the receiver answered, over `run`.
fn agent_cpu_per_send(receiver: &Receiver, run: impl FnOnce()) -> (Duration, u64) {
    let (requests_before, receiver_before) = receiver.snapshot();
    let process_before = cpu(libc::CLOCK_PROCESS_CPUTIME_ID);
    run();
    let process = cpu(libc::CLOCK_PROCESS_CPUTIME_ID) - process_before;
    let (requests_after, receiver_after) = receiver.snapshot();
    let sends = requests_after - requests_before;
    let agent = process.saturating_sub(receiver_after - receiver_before);
    (agent / sends.max(1) as u32, sends)
}

fn run_promexport_agent(registry: &Registry, url: &str) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let writer = RemoteWriter::new()
            .registry(registry)
            .interval(INTERVAL)
            .external_label("instance", "edge-17")
            .external_label("job", "bench")
            .endpoint(
                Endpoint::new(url)
                    .unwrap()
                    // The 10,000 series and the writer's own few dozen: one request each time.
                    .max_series_per_request(2 * SERIES),
            )
            .start()
            .unwrap();
        tokio::time::sleep(AGENT_RUN).await;
        writer.shutdown(Duration::from_secs(10)).await.unwrap();
    });
}

fn run_peer_agent(registry: &prometheus::Registry, url: &str) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let client = reqwest::Client::new();
        let started = Instant::now();
        let mut ticks = tokio::time::interval(INTERVAL);
        while started.elapsed() < AGENT_RUN {
            ticks.tick().await;
            let request = WriteRequest::from_metric_families(registry.gather(), Some(external()))
                .unwrap()
                .build_http_request(client.clone(), url, "bench")
                .unwrap();
            let response = client.execute(request).await.unwrap();
            assert!(response.status().is_success());
        }
    });
}

fn main() {
    let ours = promexport_registry();
    let theirs = tikv_registry();
    let our_bytes = encode_request(&ours, Protocol::V1, now_ms(), EXTERNAL)
        .unwrap()
        .len();
    let their_bytes = peer_body(&theirs).len();
    let (mut our_times, mut their_times) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        let started = Instant::now();
        for _ in 0..PER_ROUND {
            black_box(encode_request(black_box(&ours), Protocol::V1, now_ms(), EXTERNAL).unwrap());
        }
        our_times.push(started.elapsed().as_secs_f64() * 1e3 / PER_ROUND as f64);
        let started = Instant::now();
        for _ in 0..PER_ROUND {
            black_box(peer_body(black_box(&theirs)));
        }
        their_times.push(started.elapsed().as_secs_f64() * 1e3 / PER_ROUND as f64);
    }
    let (our_ms, their_ms) = (median(our_times), median(their_times));
    println!(
        "## one request of {SERIES} series (walk + protobuf + snappy), median of {ROUNDS} rounds"
    );
    println!("| library | ms | bytes compressed |");
    println!("|---|---:|---:|");
    println!("| promexport (1.0) | {our_ms:.2} | {our_bytes} |");
    println!("| prometheus-reqwest-remote-write | {their_ms:.2} | {their_bytes} |");
    println!("ratio peer/promexport: {:.2}x", their_ms / our_ms);

    let receiver = Receiver::start();
    let url = receiver.url.clone();
    let mut rows = Vec::new();
    for round in 0..2 {
        // A writer's self-metrics stay registered after its shutdown: a new registry per round.
        let ours = promexport_registry();
        let (ours_cpu, ours_sends) =
            agent_cpu_per_send(&receiver, || run_promexport_agent(&ours, &url));
        let (theirs_cpu, theirs_sends) =
            agent_cpu_per_send(&receiver, || run_peer_agent(&theirs, &url));
        rows.push((round, ours_cpu, ours_sends, theirs_cpu, theirs_sends));
    }
    println!(
        "\n## agent: {SERIES} series every {} ms for {} s, CPU per send, scaled to a 15 s interval",
        INTERVAL.as_millis(),
        AGENT_RUN.as_secs()
    );
    println!("| round | library | sends | CPU ms/send | CPU ms/s at 15 s | % of a core |");
    println!("|---|---|---:|---:|---:|---:|");
    for (round, ours_cpu, ours_sends, theirs_cpu, theirs_sends) in rows {
        for (name, per_send, sends) in [
            ("promexport", ours_cpu, ours_sends),
            ("prometheus-reqwest-remote-write", theirs_cpu, theirs_sends),
        ] {
            let ms = per_send.as_secs_f64() * 1e3;
            let per_second = ms / PRODUCTION_INTERVAL_S;
            println!(
                "| {round} | {name} | {sends} | {ms:.2} | {per_second:.3} | {:.3} |",
                per_second / 10.0
            );
        }
    }
}
