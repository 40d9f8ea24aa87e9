//! The target of `benches/http/run.sh`: one counter family of 1,000 series (the families Python's
//! prometheus_client serves in the same run), on a plain and a TLS port.
//!
//! `http_target PLAIN_PORT TLS_PORT DIR`: writes `DIR/server.crt` and `DIR/server.key` (a
//! self-signed certificate for 127.0.0.1) and serves until killed.

use promexport::{Counter, Family, LabelSet, Metrics, Registry, Server};
use std::sync::Arc;

#[derive(Clone, PartialEq, Eq, Hash, LabelSet)]
struct PathLabels {
    path: String,
}

#[derive(Metrics)]
#[metrics(prefix = "bench", no_global)]
struct BenchMetrics {
    /// Requests by path.
    requests: Family<PathLabels, Counter>,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [plain, tls, dir] = &args[..] else {
        return Err("usage: http_target PLAIN_PORT TLS_PORT DIR".into());
    };
    let dir = std::path::Path::new(dir);
    let registry = Registry::new();
    let metrics = Arc::new(BenchMetrics::new());
    registry.register(metrics.clone())?;
    for i in 0..1_000_u64 {
        let labels = PathLabels {
            path: format!("/api/v1/items/{i}"),
        };
        metrics.requests.get(&labels).inc_by(i * 7);
    }
    let key = rcgen::KeyPair::generate()?;
    let cert = rcgen::CertificateParams::new(vec!["127.0.0.1".into()])?.self_signed(&key)?;
    std::fs::write(dir.join("server.crt"), cert.pem())?;
    std::fs::write(dir.join("server.key"), key.serialize_pem())?;
    let config = dir.join("web.yml");
    std::fs::write(
        &config,
        "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n",
    )?;
    let plain = Server::bind(format!("127.0.0.1:{plain}"))?
        .registry(registry.clone())
        .max_concurrent_scrapes(64)
        .spawn()?;
    let tls = Server::bind(format!("127.0.0.1:{tls}"))?
        .registry(registry)
        .max_concurrent_scrapes(64)
        .web_config_file(&config)?
        .spawn()?;
    println!(
        "http_target: {} and https://127.0.0.1:{}/metrics",
        plain.url(),
        tls.local_addr().port()
    );
    loop {
        std::thread::park();
    }
}
