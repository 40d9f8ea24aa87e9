//! An independent decoder of remote write requests (snappy, then protobuf messages written by
//! hand after Prometheus' `prompb/types.proto` and `prompb/io/prometheus/write/v2/types.proto`,
//! decoded by `prost`), and a loopback receiver whose answers the test scripts.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// `prometheus.WriteRequest` (remote write 1.0).
#[derive(Clone, PartialEq, prost::Message)]
pub struct WriteRequest {
    #[prost(message, repeated, tag = "1")]
    pub timeseries: Vec<TimeSeries>,
    #[prost(message, repeated, tag = "3")]
    pub metadata: Vec<MetricMetadata>,
}

/// `prometheus.TimeSeries`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TimeSeries {
    #[prost(message, repeated, tag = "1")]
    pub labels: Vec<Label>,
    #[prost(message, repeated, tag = "2")]
    pub samples: Vec<Sample>,
    #[prost(message, repeated, tag = "4")]
    pub histograms: Vec<NativeHistogram>,
}

/// `prometheus.Histogram` (and `io.prometheus.write.v2.Histogram`: the same fields), the
/// integer-count form.
#[derive(Clone, PartialEq, prost::Message)]
pub struct NativeHistogram {
    #[prost(uint64, tag = "1")]
    pub count_int: u64,
    #[prost(double, tag = "3")]
    pub sum: f64,
    #[prost(sint32, tag = "4")]
    pub schema: i32,
    #[prost(double, tag = "5")]
    pub zero_threshold: f64,
    #[prost(uint64, tag = "6")]
    pub zero_count_int: u64,
    #[prost(message, repeated, tag = "8")]
    pub negative_spans: Vec<BucketSpan>,
    #[prost(sint64, repeated, tag = "9")]
    pub negative_deltas: Vec<i64>,
    #[prost(message, repeated, tag = "11")]
    pub positive_spans: Vec<BucketSpan>,
    #[prost(sint64, repeated, tag = "12")]
    pub positive_deltas: Vec<i64>,
    #[prost(int64, tag = "15")]
    pub timestamp: i64,
}

/// `prometheus.BucketSpan`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct BucketSpan {
    #[prost(sint32, tag = "1")]
    pub offset: i32,
    #[prost(uint32, tag = "2")]
    pub length: u32,
}

/// `prometheus.Label`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Label {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(string, tag = "2")]
    pub value: String,
}

/// `prometheus.Sample` (and `io.prometheus.write.v2.Sample`: the same fields).
#[derive(Clone, PartialEq, prost::Message)]
pub struct Sample {
    #[prost(double, tag = "1")]
    pub value: f64,
    #[prost(int64, tag = "2")]
    pub timestamp: i64,
}

/// `prometheus.MetricMetadata`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct MetricMetadata {
    /// `MetricType`: 0 unknown, 1 counter, 2 gauge, 3 histogram, 4 gauge histogram, 5 summary,
    /// 6 info, 7 state set.
    #[prost(int32, tag = "1")]
    pub r#type: i32,
    #[prost(string, tag = "2")]
    pub metric_family_name: String,
    #[prost(string, tag = "4")]
    pub help: String,
    #[prost(string, tag = "5")]
    pub unit: String,
}

/// `io.prometheus.write.v2.Request` (remote write 2.0).
#[derive(Clone, PartialEq, prost::Message)]
pub struct RequestV2 {
    #[prost(string, repeated, tag = "4")]
    pub symbols: Vec<String>,
    #[prost(message, repeated, tag = "5")]
    pub timeseries: Vec<TimeSeriesV2>,
}

/// `io.prometheus.write.v2.TimeSeries`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TimeSeriesV2 {
    #[prost(uint32, repeated, tag = "1")]
    pub labels_refs: Vec<u32>,
    #[prost(message, repeated, tag = "2")]
    pub samples: Vec<Sample>,
    #[prost(message, repeated, tag = "3")]
    pub histograms: Vec<NativeHistogram>,
    #[prost(message, repeated, tag = "4")]
    pub exemplars: Vec<ExemplarV2>,
    #[prost(message, optional, tag = "5")]
    pub metadata: Option<MetadataV2>,
    #[prost(int64, tag = "6")]
    pub created_timestamp: i64,
}

/// `io.prometheus.write.v2.Exemplar`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ExemplarV2 {
    #[prost(uint32, repeated, tag = "1")]
    pub labels_refs: Vec<u32>,
    #[prost(double, tag = "2")]
    pub value: f64,
    #[prost(int64, tag = "3")]
    pub timestamp: i64,
}

/// `io.prometheus.write.v2.Metadata`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct MetadataV2 {
    #[prost(int32, tag = "1")]
    pub r#type: i32,
    #[prost(uint32, tag = "3")]
    pub help_ref: u32,
    #[prost(uint32, tag = "4")]
    pub unit_ref: u32,
}

impl WriteRequest {
    /// Decodes a snappy-compressed 1.0 body.
    ///
    /// # Panics
    /// When it is not one.
    pub fn decode_body(body: &[u8]) -> Self {
        let raw = snap::raw::Decoder::new()
            .decompress_vec(body)
            .expect("a snappy block");
        prost::Message::decode(raw.as_slice()).expect("a prometheus.WriteRequest")
    }
}

impl RequestV2 {
    /// Decodes a snappy-compressed 2.0 body.
    ///
    /// # Panics
    /// When it is not one.
    pub fn decode_body(body: &[u8]) -> Self {
        let raw = snap::raw::Decoder::new()
            .decompress_vec(body)
            .expect("a snappy block");
        prost::Message::decode(raw.as_slice()).expect("an io.prometheus.write.v2.Request")
    }
}

impl TimeSeries {
    /// The value of label `name`.
    pub fn label(&self, name: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|label| label.name == name)
            .map(|label| label.value.as_str())
    }
}

/// A collector of one native histogram (with classic buckets), written through the typed
/// family API as a native-histogram implementation would: `latency_seconds`, 3 observations
/// (0.0005 in the zero bucket, 0.3 and 1.5), schema 0.
#[derive(Debug)]
pub struct NativeLatency;

/// Its positive buckets at schema 0: 0.3 in (0.25, 0.5] (index -1), 1.5 in (1, 2] (index 1).
pub const NATIVE_POSITIVE: [(i32, u64); 2] = [(-1, 1), (1, 1)];

impl promexport::Collect for NativeLatency {
    fn describe(&self) -> Vec<promexport::FamilyDescription> {
        vec![promexport::FamilyDescription {
            name: "latency_seconds".into(),
            kind: promexport::MetricKind::Histogram,
            help: "Latency.".into(),
        }]
    }

    fn encode(&self, encoder: &mut promexport::Encoder<'_>) {
        use promexport::{ClassicBucket, HistogramSample, Labels, NativeHistogramParts};
        const DESCRIPTOR: promexport::Descriptor = promexport::Descriptor {
            name: "latency_seconds",
            help: "Latency.",
            unit: Some("seconds"),
            kind: promexport::MetricKind::Histogram,
        };
        let buckets = [
            ClassicBucket {
                upper_bound: 1.0,
                cumulative_count: 2,
                exemplar: None,
            },
            ClassicBucket {
                upper_bound: f64::INFINITY,
                cumulative_count: 3,
                exemplar: None,
            },
        ];
        let native = NativeHistogramParts {
            schema: 0,
            zero_threshold: 0.001,
            zero_count: 1,
            positive: &NATIVE_POSITIVE,
            negative: &[],
            exemplars: &[],
        };
        encoder.family(&DESCRIPTOR, "").histogram(
            Labels::NONE,
            &HistogramSample {
                buckets: &buckets,
                sum: 1.8005,
                created: None,
                native: Some(native),
            },
        );
    }
}

/// How the receiver answers one request.
#[derive(Debug, Clone)]
pub enum Reply {
    /// This status, with a `Retry-After: <seconds>` header if given.
    Status(u16, Option<u64>),
    /// No answer: the connection stays open, unanswered, this long, then closes.
    Hang(Duration),
}

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    pub at: Instant,
    pub path: String,
    /// Header names in lower case.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The status it was answered, `None` if it was left hanging.
    pub answered: Option<u16>,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Default)]
struct Script {
    replies: VecDeque<Reply>,
    received: Vec<Received>,
}

/// A remote write receiver on 127.0.0.1: answers each request with the next scripted
/// [`Reply`], then 204, and records every request.
#[derive(Clone)]
pub struct FakeReceiver {
    pub port: u16,
    script: Arc<Mutex<Script>>,
}

impl FakeReceiver {
    /// A receiver on a port of its own.
    pub fn start() -> Self {
        Self::start_on(TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0"))
    }

    /// A receiver on `port` (one a writer was already told about).
    pub fn start_on_port(port: u16) -> Self {
        Self::start_on(TcpListener::bind(("127.0.0.1", port)).expect("bind the receiver's port"))
    }

    fn start_on(listener: TcpListener) -> Self {
        let port = listener.local_addr().expect("local address").port();
        let receiver = FakeReceiver {
            port,
            script: Arc::default(),
        };
        let script = receiver.script.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let script = script.clone();
                std::thread::spawn(move || serve(stream, &script));
            }
        });
        receiver
    }

    /// The URL of its write endpoint.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/api/v1/write", self.port)
    }

    /// Answers the next requests so, in order.
    pub fn script(&self, replies: impl IntoIterator<Item = Reply>) {
        self.script.lock().unwrap().replies.extend(replies);
    }

    /// Every request so far.
    pub fn received(&self) -> Vec<Received> {
        self.script.lock().unwrap().received.clone()
    }

    /// Waits (at most `timeout`) until `count` requests were answered with a 2xx, and returns
    /// every request so far.
    ///
    /// # Panics
    /// When they do not come in time.
    pub fn wait_for_accepted(&self, count: usize, timeout: Duration) -> Vec<Received> {
        crate::wait_for(
            &format!("{count} accepted remote write requests"),
            timeout,
            || {
                let received = self.received();
                let accepted = received
                    .iter()
                    .filter(|r| r.answered.is_some_and(|s| (200..300).contains(&s)))
                    .count();
                (accepted >= count).then_some(received)
            },
        )
    }
}

fn serve(stream: TcpStream, script: &Mutex<Script>) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let mut reader = BufReader::new(match stream.try_clone() {
        Ok(stream) => stream,
        Err(_) => return,
    });
    let mut stream = stream;
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        let path = request_line
            .split_whitespace()
            .nth(1)
            .unwrap_or_default()
            .to_owned();
        let mut headers = Vec::new();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
            }
        }
        let length: usize = headers
            .iter()
            .find(|(name, _)| name == "content-length")
            .and_then(|(_, value)| value.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let reply = {
            let mut script = script.lock().unwrap();
            let reply = script
                .replies
                .pop_front()
                .unwrap_or(Reply::Status(204, None));
            script.received.push(Received {
                at: Instant::now(),
                path,
                headers,
                body,
                answered: match reply {
                    Reply::Status(status, _) => Some(status),
                    Reply::Hang(_) => None,
                },
            });
            reply
        };
        match reply {
            Reply::Hang(duration) => {
                std::thread::sleep(duration);
                return;
            }
            Reply::Status(status, retry_after) => {
                let retry_after = retry_after
                    .map(|seconds| format!("Retry-After: {seconds}\r\n"))
                    .unwrap_or_default();
                let body = if status >= 300 {
                    "scripted failure\n"
                } else {
                    ""
                };
                let answer = format!(
                    "HTTP/1.1 {status} Scripted\r\n{retry_after}Content-Length: {}\r\n\r\n{body}",
                    body.len()
                );
                if stream.write_all(answer.as_bytes()).is_err() {
                    return;
                }
            }
        }
    }
}
