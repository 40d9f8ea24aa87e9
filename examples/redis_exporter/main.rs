//! `redis_exporter`: exports a Redis server's `INFO` at each scrape, with the flags and metric
//! names of the official oliver006/redis_exporter, single-target (`--redis.addr`, at
//! `/metrics`) and multi-target (`/scrape?target=redis://host:port`).
//!
//! ```text
//! $ cargo run --example redis_exporter -- --redis.addr redis://127.0.0.1:6379
//! redis_exporter: serving http://0.0.0.0:9121/metrics and /scrape?target=redis://host:port
//! $ curl -s localhost:9121/metrics | grep -E '^redis_(up|connected_clients|db_keys)'
//! redis_up 1
//! redis_connected_clients 1
//! redis_db_keys{db="db0"} 12
//! $ curl -s 'localhost:9121/scrape?target=redis://10.0.0.7:6379' | grep ^redis_up
//! redis_up 0
//! ```
//!
//! When Redis cannot be read, `redis_up` is 0, its other series are left out (never served
//! stale), a line on stderr says why, and the scrape still answers 200. `/metrics` also serves
//! `process_*`; `/scrape` serves only the target's series, from a registry of its own.

use axum::Router;
use axum::extract::{Query, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use clap::Parser;
use promexport::{Collector, ListenAddress, Registry};
use std::collections::HashMap;
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

mod info;

promexport::build_info!("redis_exporter");

#[derive(Parser, Debug)]
#[command(about = "Exports a Redis server's INFO as Prometheus metrics.")]
struct Flags {
    /// Address of the Redis instance to scrape at /metrics.
    #[arg(
        long = "redis.addr",
        env = "REDIS_ADDR",
        default_value = "redis://localhost:6379"
    )]
    redis_addr: String,
    /// User name for the Redis instances (/metrics and /scrape).
    #[arg(long = "redis.user", env = "REDIS_USER")]
    redis_user: Option<String>,
    /// Password for the Redis instances (/metrics and /scrape).
    #[arg(
        long = "redis.password",
        env = "REDIS_PASSWORD",
        hide_env_values = true
    )]
    redis_password: Option<String>,
    /// Address to listen on; `:9121` is every interface.
    #[arg(
        long = "web.listen-address",
        env = "REDIS_EXPORTER_WEB_LISTEN_ADDRESS",
        default_value = ":9121"
    )]
    listen_address: String,
    /// Path of the single-target metrics.
    #[arg(long = "web.telemetry-path", default_value = "/metrics")]
    telemetry_path: String,
    /// Timeout of each connection to Redis (connect, then each reply), in seconds.
    #[arg(long = "connection-timeout", default_value = "15", value_parser = seconds)]
    connection_timeout: Duration,
}

#[tokio::main]
async fn main() -> ExitCode {
    let flags = Flags::parse();
    let listener = match bind(&flags.listen_address).await {
        Ok(listener) => listener,
        Err(error) => return fail(error),
    };
    let target = Target::new(&flags);
    if let Err(error) = collector(target.clone(), &flags.redis_addr).and_then(Collector::register) {
        return fail(error);
    }
    let app = routes(&flags.telemetry_path, target);
    let shown = listener
        .local_addr()
        .map_or(flags.listen_address, |a| a.to_string());
    println!(
        "redis_exporter: serving http://{shown}{} and /scrape?target=redis://host:port",
        flags.telemetry_path
    );
    match axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await
    {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => fail(error),
    }
}

fn seconds(text: &str) -> Result<Duration, String> {
    let seconds: f64 = text
        .trim_end_matches('s')
        .parse()
        .map_err(|_| format!("{text:?} is not a number of seconds"))?;
    Duration::try_from_secs_f64(seconds)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| format!("{text:?} is not a positive duration"))
}

async fn bind(address: &str) -> Result<tokio::net::TcpListener, Box<dyn std::error::Error>> {
    let addrs = address.socket_addrs()?;
    Ok(tokio::net::TcpListener::bind(addrs.as_slice()).await?)
}

fn fail(error: impl std::fmt::Display) -> ExitCode {
    eprintln!("redis_exporter: {error}");
    ExitCode::FAILURE
}

/// Completes on Ctrl-C or SIGTERM (`docker stop`, Kubernetes).
async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::terminate()) {
        Ok(mut terminate) => tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = terminate.recv() => {}
        },
        Err(_) => drop(tokio::signal::ctrl_c().await),
    }
}

/// How to reach any Redis: the credentials and timeout of the flags.
#[derive(Clone)]
struct Target {
    user: Option<String>,
    password: Option<String>,
    timeout: Duration,
}

impl Target {
    fn new(flags: &Flags) -> Self {
        Target {
            user: flags.redis_user.clone(),
            password: flags.redis_password.clone(),
            timeout: flags.connection_timeout,
        }
    }

    /// `redis://[user:password@]host:port[/db]`, `redis+unix:///path`, or `host:port` (as the
    /// official exporter, which adds `redis://`); credentials in the address win over the flags.
    fn client(&self, address: &str) -> Result<redis::Client, redis::RedisError> {
        let address = match address.contains("://") {
            true => address.to_owned(),
            false => format!("redis://{address}"),
        };
        let mut info = redis::IntoConnectionInfo::into_connection_info(address.as_str())?;
        let mut settings = info.redis_settings().clone();
        if let (None, Some(user)) = (settings.username(), &self.user) {
            settings = settings.set_username(user);
        }
        if let (None, Some(password)) = (settings.password(), &self.password) {
            settings = settings.set_password(password);
        }
        // No `CLIENT SETINFO` at each connection: a scrape is `INFO` and `CONFIG GET`, nothing else.
        info = info.set_redis_settings(settings.set_skip_set_lib_name());
        redis::Client::open(info)
    }
}

/// The collector of one Redis at `address`; a bad address is an error now, not at each scrape.
fn collector(
    target: Target,
    address: &str,
) -> Result<Collector<info::RedisMetrics>, promexport::Error> {
    let client = target
        .client(address)
        .map_err(|e| promexport::Error::Config(format!("Redis address {address:?}: {e}")))?;
    let shown = address.to_owned();
    let timeout = target.timeout;
    // Blocking: the client's own timeouts bound each collection (the collector's is a backstop).
    let read = move || read_info(&client, timeout).map_err(|e| format!("reading {shown}: {e}"));
    let backstop = timeout.saturating_mul(3);
    Ok(Collector::blocking("redis", read)
        .timeout(backstop.min(Collector::<info::RedisMetrics>::MAX_TIMEOUT)))
}

fn read_info(
    client: &redis::Client,
    timeout: Duration,
) -> Result<info::RedisMetrics, redis::RedisError> {
    let mut connection = client.get_connection_with_timeout(timeout)?;
    connection.set_read_timeout(Some(timeout))?;
    connection.set_write_timeout(Some(timeout))?;
    let reply: String = redis::cmd("INFO").arg("ALL").query(&mut connection)?;
    // A server that forbids CONFIG (managed Redis) still gets its non-empty databases.
    let databases = redis::cmd("CONFIG")
        .arg("GET")
        .arg("databases")
        .query::<Vec<String>>(&mut connection);
    let databases = databases.ok().and_then(|reply| reply.get(1)?.parse().ok());
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    info::parse(&reply, databases, now.as_secs()).map_err(|message| {
        redis::RedisError::from((redis::ErrorKind::UnexpectedReturnType, message))
    })
}

fn routes(telemetry_path: &str, target: Target) -> Router {
    let single = |request: Request| async move {
        promexport::handle_request(promexport::registry(), &request).await
    };
    let multi = move |Query(query): Query<HashMap<String, String>>, request: Request| async move {
        scrape(&target, query.get("target"), request).await
    };
    Router::new()
        .route(telemetry_path, get(single))
        .route("/scrape", get(multi))
}

/// The multi-target pattern: a fresh registry with one collector for `target`, per request.
async fn scrape(target: &Target, address: Option<&String>, request: Request) -> Response {
    let Some(address) = address.filter(|a| !a.is_empty()) else {
        return (
            StatusCode::BAD_REQUEST,
            "'target' parameter must be specified\n",
        )
            .into_response();
    };
    let registry = Registry::new();
    let registered =
        collector(target.clone(), address).and_then(|collector| collector.register_in(&registry));
    match registered {
        Ok(()) => promexport::handle_request(&registry, &request)
            .await
            .into_response(),
        Err(error) => (
            StatusCode::BAD_REQUEST,
            format!("invalid 'target': {error}\n"),
        )
            .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_follow_the_official_exporter() {
        let flags = Flags::try_parse_from(["redis_exporter"]).unwrap();
        assert_eq!(flags.redis_addr, "redis://localhost:6379");
        assert_eq!(flags.listen_address, ":9121");
        assert_eq!(flags.connection_timeout, Duration::from_secs(15));
        let flags = Flags::try_parse_from([
            "x",
            "--redis.addr=h:1",
            "--web.listen-address",
            "127.0.0.1:0",
            "--connection-timeout",
            "2s",
        ])
        .unwrap();
        assert_eq!(
            (flags.redis_addr.as_str(), flags.listen_address.as_str()),
            ("h:1", "127.0.0.1:0")
        );
        assert_eq!(flags.connection_timeout, Duration::from_secs(2));
        assert!(Flags::try_parse_from(["x", "--connection-timeout", "0"]).is_err());
        let huge = Flags::try_parse_from(["x", "--connection-timeout", "1e18"]).unwrap();
        let target = Target::new(&huge);
        assert!(collector(target, "127.0.0.1:1").is_ok(), "no overflow");
        assert!(Flags::try_parse_from(["x", "--verbose"]).is_err());
    }

    #[test]
    fn addresses_take_the_flags_credentials_unless_they_carry_their_own() {
        let target = Target {
            user: Some("u".into()),
            password: Some("p".into()),
            timeout: Duration::from_secs(1),
        };
        let settings = |address: &str| {
            target
                .client(address)
                .unwrap()
                .get_connection_info()
                .redis_settings()
                .clone()
        };
        let from_flags = settings("127.0.0.1:6380");
        assert_eq!(
            (from_flags.username(), from_flags.password()),
            (Some("u"), Some("p"))
        );
        let own = settings("redis://me:secret@127.0.0.1:6380/2");
        assert_eq!(
            (own.username(), own.password(), own.db()),
            (Some("me"), Some("secret"), 2)
        );
        assert!(target.client("http://127.0.0.1/").is_err());
    }
}
