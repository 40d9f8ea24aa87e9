//! The embedded demo application: `GET /status` answers JSON whose numbers change over time.

use crate::http_client::find;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Serves `GET /status` on `listener` until the process ends.
pub(crate) async fn serve(listener: TcpListener) {
    let started = Instant::now();
    loop {
        match listener.accept().await {
            Ok((stream, _)) => drop(tokio::spawn(demo_answer(stream, started))),
            Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
        }
    }
}

async fn demo_answer(mut stream: TcpStream, started: Instant) {
    let (mut request, mut buffer) = (Vec::new(), [0; 1024]);
    let read_head = async {
        while find(&request, b"\r\n\r\n").is_none() && request.len() < 8192 {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => request.extend_from_slice(&buffer[..n]),
            }
        }
    };
    if tokio::time::timeout(Duration::from_secs(5), read_head)
        .await
        .is_err()
    {
        return;
    }
    let (status, body) = match request.starts_with(b"GET /status ") {
        true => ("200 OK", demo_status(started.elapsed())),
        false => ("404 Not Found", "{\"error\": \"not found\"}".to_owned()),
    };
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(response.as_bytes()).await;
}

/// The demo's status after `elapsed`: busy waves, and unhealthy 5 s of every minute.
pub(crate) fn demo_status(elapsed: Duration) -> String {
    let t = elapsed.as_secs_f64();
    let current = (5.0 + 4.0 * (t / 20.0).sin()).round();
    let pending = (1.5 + 1.5 * (t / 7.0).cos()).round();
    let health = ["healthy", "unhealthy"][usize::from(elapsed.as_secs() % 60 >= 55)];
    format!(
        "{{\"requests_current\": {current}, \"requests_pending\": {pending}, \
         \"uptime_seconds\": {t:.3}, \"health\": \"{health}\"}}"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Health;
    use crate::status::parse_status;

    #[test]
    fn demo_status_is_valid_and_flips_health() {
        let at = |secs| parse_status(&demo_status(Duration::from_secs(secs))).unwrap();
        assert_eq!(at(10).health, Health::Healthy);
        assert_eq!(at(57).health, Health::Unhealthy);
        assert_eq!(at(104).uptime_seconds, 104.0);
    }
}
