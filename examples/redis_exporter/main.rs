//! `redis_exporter`: exports a Redis server's `INFO` at each scrape, with the flags and metric
//! names of the official oliver006/redis_exporter, single-target (`--redis.addr`, at
//! `/metrics`) and multi-target (`/scrape?target=redis://host:port`, the toolkit's probe
//! endpoint), on `promexport::exporter` (the standard flags: `--web.listen-address`,
//! `--web.config.file`, `--log.level`, `--version`, ...).
//!
//! ```text
//! $ cargo run --example redis_exporter -- --redis.addr redis://127.0.0.1:6379
//! time=... level=INFO source=mod.rs:... msg="Listening on" address=[::]:9121
//! $ curl -s localhost:9121/metrics | grep -E '^redis_(up|connected_clients|db_keys)'
//! redis_up 1
//! redis_connected_clients 1
//! redis_db_keys{db="db0"} 12
//! $ curl -s 'localhost:9121/scrape?target=redis://10.0.0.7:6379' | grep -E '^(redis_up|probe_)'
//! redis_up 0
//! probe_success 0
//! probe_duration_seconds 0.000412
//! ```
//!
//! When Redis cannot be read, `redis_up` is 0, its other series are left out (never served
//! stale), a log line says why, and the scrape still answers 200. `/metrics` also serves
//! `process_*`; `/scrape` serves only the target's series, `probe_success` and
//! `probe_duration_seconds`, from a registry of its own; a target that is no Redis address is
//! a 400.

use clap::Parser;
use promexport::exporter::{Exporter, ProbeError, ProbeRequest};
use promexport::{Collector, ConstMetrics, Gauge, Metrics};
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

mod info;

promexport::build_info!("redis_exporter");

#[derive(Parser, Debug)]
struct Cli {
    #[command(flatten)]
    exporter: promexport::exporter::Flags,
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
    /// Timeout of each connection to Redis (connect, then each reply), in seconds.
    #[arg(long = "connection-timeout", default_value = "15", value_parser = seconds)]
    connection_timeout: Duration,
}

fn exporter() -> Exporter<Cli> {
    // The official exporter's variable for its listen address; the flag wins over it.
    let address = std::env::var("REDIS_EXPORTER_WEB_LISTEN_ADDRESS");
    Exporter::<Cli>::new("redis_exporter")
        .description("Exports a Redis server's INFO as Prometheus metrics.")
        .default_address(address.as_deref().unwrap_or(":9121"))
        .on_start(|cli: &Cli| collector(Target::new(cli), &cli.redis_addr)?.register())
        .probe(
            "/scrape",
            |_: &Cli| None,
            |cli: &Cli, probe: ProbeRequest<()>| scrape(Target::new(cli), probe),
        )
}

fn main() -> ExitCode {
    exporter().run()
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

/// How to reach any Redis: the credentials and timeout of the flags.
#[derive(Clone)]
struct Target {
    user: Option<String>,
    password: Option<String>,
    timeout: Duration,
}

impl Target {
    fn new(cli: &Cli) -> Self {
        Target {
            user: cli.redis_user.clone(),
            password: cli.redis_password.clone(),
            timeout: cli.connection_timeout,
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
fn collector(target: Target, address: &str) -> Result<Collector<ConstMetrics>, promexport::Error> {
    let client = target
        .client(address)
        .map_err(|e| promexport::Error::Config(format!("Redis address {address:?}: {e}")))?;
    let shown = address.to_owned();
    let timeout = target.timeout;
    // Blocking: the client's own timeouts bound each collection (the collector's is a backstop).
    let read = move || read_info(&client, timeout).map_err(|e| format!("reading {shown}: {e}"));
    let backstop = timeout.saturating_mul(3);
    Ok(Collector::blocking("redis", read)
        .timeout(backstop.min(Collector::<ConstMetrics>::MAX_TIMEOUT)))
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn read_info(client: &redis::Client, timeout: Duration) -> Result<ConstMetrics, BoxError> {
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
    info::parse(&reply, databases, now.as_secs())
}

/// `redis_up` of a probe (no prefix: `redis_up` in a `redis` struct is a `Collector`'s own).
#[derive(Metrics)]
#[metrics(no_global)]
struct Up {
    /// Whether the last collection from the target succeeded (1) or not (0).
    redis_up: Gauge,
}

/// The multi-target pattern: one read of the Redis at `probe.target`, in the registry of the
/// request, with `redis_up` as the single target has it.
async fn scrape(target: Target, probe: ProbeRequest<()>) -> Result<(Up, ConstMetrics), ProbeError> {
    let client = target
        .client(&probe.target)
        .map_err(|e| ProbeError::bad_target(e.to_string()))?;
    let timeout = target.timeout.min(probe.deadline);
    let read = tokio::task::spawn_blocking(move || read_info(&client, timeout)).await;
    let read = read
        .map_err(|e| e.to_string())
        .and_then(|read| read.map_err(|e| e.to_string()));
    let up = Up::new();
    match read {
        Ok(metrics) => {
            up.redis_up.set(1);
            Ok((up, metrics))
        }
        Err(error) => Err(ProbeError::with_metrics(
            format!("reading {}: {error}", probe.target),
            up,
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        exporter().try_parse_from(args)
    }

    #[test]
    fn flags_follow_the_official_exporter() {
        let cli = parse(&["redis_exporter"]).unwrap();
        assert_eq!(cli.redis_addr, "redis://localhost:6379");
        assert_eq!(cli.exporter.listen_addresses, [":9121"]);
        assert_eq!(cli.connection_timeout, Duration::from_secs(15));
        let cli = parse(&[
            "x",
            "--redis.addr=h:1",
            "--web.listen-address",
            "127.0.0.1:0",
            "--connection-timeout",
            "2s",
        ])
        .unwrap();
        assert_eq!(
            (
                cli.redis_addr.as_str(),
                cli.exporter.listen_addresses.as_slice()
            ),
            ("h:1", &["127.0.0.1:0".to_owned()][..])
        );
        assert_eq!(cli.connection_timeout, Duration::from_secs(2));
        assert!(parse(&["x", "--connection-timeout", "0"]).is_err());
        let huge = parse(&["x", "--connection-timeout", "1e18"]).unwrap();
        let target = Target::new(&huge);
        assert!(collector(target, "127.0.0.1:1").is_ok(), "no overflow");
        assert!(parse(&["x", "--verbose"]).is_err());
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
