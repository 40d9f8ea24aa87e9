//! Protobuf encoding of the `protobuf` bench's 10,000 labelled counters (`method` of four,
//! `path` `/api/v1/items/{i / 4}`, value `7 i`): promexport's `Format::Protobuf` into a reused
//! buffer, against tikv prometheus 0.14's `gather()` + `ProtobufEncoder` (what its users call
//! per scrape), with promexport's text 0.0.4 of the same series beside them. Interleaved rounds,
//! each starting with the next case, the median of each. Run it with `run.sh`.

use prometheus::Encoder as _;
use promexport::{Counter, Family, Format, LabelSet, Metrics, Registry};
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

const SERIES: usize = 10_000;
const METHODS: [&str; 4] = ["get", "post", "put", "delete"];
const ROUNDS: usize = 15;
const PER_ROUND: u32 = 20;

#[derive(Clone, PartialEq, Eq, Hash, LabelSet)]
struct StringLabels {
    method: String,
    path: String,
}

#[derive(Metrics)]
#[metrics(prefix = "bench", no_global)]
struct EncodeMetrics {
    /// Requests served.
    #[metric(max_series = 20000)]
    requests: Family<StringLabels, Counter>,
}

fn series(i: usize) -> (&'static str, String, u64) {
    (
        METHODS[i % METHODS.len()],
        format!("/api/v1/items/{}", i / METHODS.len()),
        i as u64 * 7,
    )
}

fn promexport_registry() -> Registry {
    let registry = Registry::new();
    let metrics = Arc::new(EncodeMetrics::new());
    registry.register(metrics.clone()).unwrap();
    for i in 0..SERIES {
        let (method, path, value) = series(i);
        let labels = StringLabels {
            method: method.to_owned(),
            path,
        };
        metrics.requests.get(&labels).inc_by(value);
    }
    registry
}

fn tikv_registry() -> prometheus::Registry {
    let registry = prometheus::Registry::new();
    let requests = prometheus::IntCounterVec::new(
        prometheus::Opts::new("bench_requests_total", "Requests served."),
        &["method", "path"],
    )
    .unwrap();
    registry.register(Box::new(requests.clone())).unwrap();
    for i in 0..SERIES {
        let (method, path, value) = series(i);
        requests.with_label_values(&[method, &path]).inc_by(value);
    }
    registry
}

/// The time of one call of `encode`, the median of `ROUNDS` rounds of `PER_ROUND` calls.
struct Case<'a> {
    name: &'a str,
    encode: Box<dyn FnMut() -> usize + 'a>,
    rounds: Vec<Duration>,
}

fn main() {
    let promexport = promexport_registry();
    let tikv = tikv_registry();

    let families = tikv.gather();
    let tikv_series: usize = families
        .iter()
        .map(|family| family.get_metric().len())
        .sum();
    assert_eq!(tikv_series, SERIES, "tikv gathers every series");
    let mut tikv_body = Vec::new();
    prometheus::ProtobufEncoder::new()
        .encode(&families, &mut tikv_body)
        .unwrap();
    let ours = promexport.render_bytes(Format::Protobuf);
    let text = promexport.render_bytes(Format::Text);
    assert_eq!(
        text.split(|&byte| byte == b'\n')
            .filter(|line| line.starts_with(b"bench_requests_total{"))
            .count(),
        SERIES,
        "promexport serves every series"
    );
    println!(
        "bodies: promexport protobuf {} B, tikv protobuf {} B, promexport text {} B",
        ours.len(),
        tikv_body.len(),
        text.len()
    );

    let mut buffer = Vec::new();
    let mut text_buffer = Vec::new();
    let mut tikv_buffer = Vec::new();
    let mut cases = [
        Case {
            name: "promexport protobuf",
            encode: Box::new(|| {
                buffer.clear();
                promexport.encode(Format::Protobuf, &mut buffer);
                buffer.len()
            }),
            rounds: Vec::new(),
        },
        Case {
            name: "promexport text",
            encode: Box::new(|| {
                text_buffer.clear();
                promexport.encode(Format::Text, &mut text_buffer);
                text_buffer.len()
            }),
            rounds: Vec::new(),
        },
        Case {
            name: "tikv gather + ProtobufEncoder",
            encode: Box::new(|| {
                tikv_buffer.clear();
                let families = tikv.gather();
                prometheus::ProtobufEncoder::new()
                    .encode(&families, &mut tikv_buffer)
                    .unwrap();
                tikv_buffer.len()
            }),
            rounds: Vec::new(),
        },
    ];
    for case in &mut cases {
        black_box((case.encode)());
    }
    // Each round starts with the next case: the first case of a round finds the caches full of
    // the last one's data, and with a fixed order that cost fell on promexport protobuf alone
    // (0.94-1.17x text as first or last).
    for round in 0..ROUNDS {
        let count = cases.len();
        for case in (0..count).map(|k| (round + k) % count) {
            let case = &mut cases[case];
            let start = Instant::now();
            for _ in 0..PER_ROUND {
                black_box((case.encode)());
            }
            case.rounds.push(start.elapsed() / PER_ROUND);
        }
    }
    let medians: Vec<(&str, Duration)> = cases
        .iter_mut()
        .map(|case| {
            case.rounds.sort();
            (case.name, case.rounds[ROUNDS / 2])
        })
        .collect();
    let ours = medians[0].1.as_secs_f64();
    println!(
        "| case ({SERIES} series, median of {ROUNDS} rounds of {PER_ROUND}) | ms | ÷ promexport protobuf |"
    );
    println!("|---|---:|---:|");
    for (name, median) in &medians {
        let time = median.as_secs_f64();
        println!("| {name} | {:.3} | {:.2} |", time * 1e3, time / ours);
    }
}
