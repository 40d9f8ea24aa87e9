//! `axum_service`: a small axum service whose handlers are all `#[promexport::instrument]`ed,
//! with `http_server_*` metrics by matched route and its own `/metrics` on the same port.
//! Request durations are native histograms beside their classic buckets: Prometheus scraping
//! protobuf stores the native part, text and OpenMetrics carry the classic one.
//! `--web.config.file PATH` secures every route (TLS, basic auth) with an exporter-toolkit web
//! config file, as for the exporters.
//!
//! ```text
//! $ cargo run --example axum_service -- --web.listen-address 127.0.0.1:3000
//! axum_service: listening on http://127.0.0.1:3000
//! $ curl -s localhost:3000/items/7 && curl -s localhost:3000/fail
//! $ curl -s localhost:3000/metrics | grep -E '^(http_server_requests|function_calls)_total'
//! http_server_requests_total{method="GET",route="/items/{id}",status="200"} 1
//! http_server_requests_total{method="GET",route="/fail",status="500"} 1
//! function_calls_total{function="item",module="axum_service",...,result="ok"} 1
//! function_calls_total{function="fail",module="axum_service",...,result="error"} 1
//! ```

use axum::extract::{Path, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Router, serve};
use clap::Parser;
use promexport::axum::{BasicAuthLayer, HttpMetricsLayer, WebConfigListener};
use promexport::{ListenAddress, NativeHistogramOptions, WebConfig};
use std::process::ExitCode;

promexport::build_info!("axum_service");

/// Why a request failed; answered as a 500.
#[derive(Debug)]
struct AppError(&'static str);

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        (StatusCode::INTERNAL_SERVER_ERROR, self.0).into_response()
    }
}

#[promexport::instrument]
async fn hello() -> &'static str {
    "hello\n"
}

#[promexport::instrument]
async fn fail() -> Result<String, AppError> {
    Err(AppError("this handler always fails\n"))
}

#[promexport::instrument(native(factor = 1.1, max_buckets = 160, min_reset = "1h"))]
async fn item(Path(id): Path<u32>) -> Result<String, AppError> {
    match id {
        0 => Err(AppError("there is no item 0\n")),
        id => Ok(format!("item {id}\n")),
    }
}

async fn metrics(request: Request) -> impl IntoResponse {
    promexport::handle_request(promexport::registry(), &request).await
}

fn app() -> Result<Router, promexport::Error> {
    // client_golang's recommended settings: 8 buckets per doubling, at most 160 of them.
    let durations = NativeHistogramOptions {
        factor: 1.1,
        max_buckets: 160,
        min_reset: std::time::Duration::from_secs(3600),
        ..NativeHistogramOptions::DEFAULT
    };
    let http_metrics = HttpMetricsLayer::new().with_native_durations(durations)?;
    Ok(Router::<()>::new()
        .route("/hello", get(hello))
        .route("/fail", get(fail))
        .route("/items/{id}", get(item))
        .route("/metrics", get(metrics))
        .layer(http_metrics))
}

#[derive(Parser, Debug)]
#[command(about = "A small instrumented axum service with its own /metrics.")]
struct Flags {
    /// Address to listen on; `:3000` is every interface.
    #[arg(long = "web.listen-address", default_value = "127.0.0.1:3000")]
    listen_address: String,
    /// TLS and basic auth settings for every route (exporter-toolkit format).
    #[arg(long = "web.config.file")]
    web_config: Option<String>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let flags = Flags::parse();
    // No file: plain HTTP and no credentials, as with every exporter-toolkit exporter.
    let web_config = flags
        .web_config
        .as_deref()
        .map_or(Ok(WebConfig::default()), WebConfig::load);
    let web_config = match web_config.and_then(|config| promexport::check().map(|()| config)) {
        Ok(config) => config,
        Err(error) => return exit_with(error),
    };
    let addrs = match flags.listen_address.socket_addrs() {
        Ok(addrs) => addrs,
        Err(error) => return exit_with(error),
    };
    let listener = match tokio::net::TcpListener::bind(addrs.as_slice()).await {
        Ok(listener) => listener,
        Err(error) => return exit_with(format!("binding {}: {error}", flags.listen_address)),
    };
    if let Ok(local) = listener.local_addr() {
        let scheme = if web_config.has_tls() {
            "https"
        } else {
            "http"
        };
        println!("axum_service: listening on {scheme}://{local}");
    }
    let app = match app() {
        Ok(app) => app.layer(BasicAuthLayer::new(&web_config)),
        Err(error) => return exit_with(error),
    };
    let served = serve(WebConfigListener::new(listener, &web_config), app)
        .with_graceful_shutdown(promexport::exporter::shutdown_signal());
    match served.await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => exit_with(error),
    }
}

fn exit_with(error: impl std::fmt::Display) -> ExitCode {
    eprintln!("axum_service: {error}");
    ExitCode::FAILURE
}
