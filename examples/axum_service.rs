//! `axum_service`: a small axum service whose handlers are all `#[promexport::instrument]`ed,
//! with `http_server_*` metrics by matched route and its own `/metrics` on the same port.
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
use promexport::axum::HttpMetricsLayer;
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

#[promexport::instrument]
async fn item(Path(id): Path<u32>) -> Result<String, AppError> {
    match id {
        0 => Err(AppError("there is no item 0\n")),
        id => Ok(format!("item {id}\n")),
    }
}

async fn metrics(request: Request) -> impl IntoResponse {
    promexport::handle_request(promexport::registry(), &request).await
}

fn app() -> Router {
    Router::new()
        .route("/hello", get(hello))
        .route("/fail", get(fail))
        .route("/items/{id}", get(item))
        .route("/metrics", get(metrics))
        .layer(HttpMetricsLayer::new())
}

/// `--web.listen-address HOST:PORT` (or `=`), default `127.0.0.1:3000`.
fn listen_address(mut args: impl Iterator<Item = String>) -> Result<String, String> {
    let mut address = "127.0.0.1:3000".to_owned();
    while let Some(arg) = args.next() {
        match arg.split_once('=') {
            Some(("--web.listen-address", value)) => address = value.to_owned(),
            None if arg == "--web.listen-address" => {
                address = args.next().ok_or("--web.listen-address needs HOST:PORT")?;
            }
            _ => {
                return Err(format!(
                    "unknown argument {arg:?}; usage: axum_service [--web.listen-address HOST:PORT]"
                ));
            }
        }
    }
    Ok(address)
}

#[tokio::main]
async fn main() -> ExitCode {
    let address = match listen_address(std::env::args().skip(1)) {
        Ok(address) => address,
        Err(message) => {
            eprintln!("axum_service: {message}");
            return ExitCode::from(2);
        }
    };
    if let Err(error) = promexport::check() {
        eprintln!("axum_service: {error}");
        return ExitCode::FAILURE;
    }
    let listener = match tokio::net::TcpListener::bind(&address).await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("axum_service: binding {address}: {error}");
            return ExitCode::FAILURE;
        }
    };
    if let Ok(local) = listener.local_addr() {
        println!("axum_service: listening on http://{local}");
    }
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    match serve(listener, app())
        .with_graceful_shutdown(shutdown)
        .await
    {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("axum_service: {error}");
            ExitCode::FAILURE
        }
    }
}
