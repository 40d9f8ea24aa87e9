//! The embedded demo application: `GET /status` answers JSON whose numbers change over time.

use axum::http::header::CONTENT_TYPE;
use axum::{Router, routing::get};
use std::time::{Duration, Instant};

/// Serves `GET /status` on 127.0.0.1:`port` (0: a free port) until the process ends; returns
/// its URL. Call it inside a tokio runtime.
pub(crate) fn start(port: u16) -> std::io::Result<String> {
    let listener = std::net::TcpListener::bind(("127.0.0.1", port))?;
    listener.set_nonblocking(true)?;
    let listener = tokio::net::TcpListener::from_std(listener)?;
    let url = format!("http://{}/status", listener.local_addr()?);
    let started = Instant::now();
    let app = Router::new().route(
        "/status",
        get(move || async move {
            let body = demo_status(started.elapsed()).to_string();
            ([(CONTENT_TYPE, "application/json")], body)
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(url)
}

/// The demo's status after `elapsed`: busy waves, and unhealthy 5 s of every minute.
fn demo_status(elapsed: Duration) -> serde_json::Value {
    let t = elapsed.as_secs_f64();
    let health = ["healthy", "unhealthy"][usize::from(elapsed.as_secs() % 60 >= 55)];
    serde_json::json!({
        "requests_current": (5.0 + 4.0 * (t / 20.0).sin()).round() as i64,
        "requests_pending": (1.5 + 1.5 * (t / 7.0).cos()).round() as i64,
        "uptime_seconds": (t * 1000.0).round() / 1000.0,
        "health": health,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::{Health, Status};

    #[test]
    fn demo_status_is_valid_and_flips_health() {
        let at = |secs| {
            serde_json::from_value::<Status>(demo_status(Duration::from_secs(secs))).unwrap()
        };
        assert_eq!(at(10).health, Health::Healthy);
        assert_eq!(at(57).health, Health::Unhealthy);
        assert_eq!(at(104).uptime_seconds, 104.0);
    }
}
