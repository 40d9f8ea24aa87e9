//! Redis' `INFO ALL` reply as metrics, with the names of the official redis_exporter
//! (oliver006/redis_exporter) where it has them.

use promexport::{Counter, Family, Gauge, Info, LabelSet, LabelValue, Metrics, StateSet};
use std::collections::HashMap;

/// What `role:` says in `# Replication`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelValue)]
pub enum Role {
    Master,
    Slave,
}

#[derive(Clone, PartialEq, Eq, Hash, LabelSet)]
pub struct Db {
    /// `db0`, `db1`, ... as `# Keyspace` names them.
    db: String,
}

#[derive(Clone, PartialEq, Eq, Hash, LabelSet)]
pub struct Command {
    /// The command, lower case, as `# Commandstats` names it (`set`, `config|get`).
    cmd: String,
}

#[derive(Clone, PartialEq, Eq, Hash, LabelSet)]
pub struct Instance {
    role: String,
    redis_version: String,
    redis_build_id: String,
    redis_mode: String,
    os: String,
    maxmemory_policy: String,
    tcp_port: String,
    run_id: String,
    process_id: String,
    master_replid: String,
}

#[derive(Metrics)]
#[metrics(prefix = "redis", no_global)]
pub struct RedisMetrics {
    /// Information about the Redis instance
    pub instance: Info<Instance>,
    /// The instance's replication role
    pub replication_role: StateSet<Role>,
    /// uptime_in_seconds metric
    pub uptime_in_seconds: Gauge,
    /// start_time_seconds metric
    #[metric(unit = "seconds")]
    pub start_time: Gauge,
    /// connected_clients metric
    pub connected_clients: Gauge,
    /// blocked_clients metric
    pub blocked_clients: Gauge,
    /// max_clients metric
    pub max_clients: Gauge,
    /// memory_used_bytes metric
    #[metric(unit = "bytes")]
    pub memory_used: Gauge,
    /// memory_used_rss_bytes metric
    #[metric(unit = "bytes")]
    pub memory_used_rss: Gauge,
    /// memory_used_peak_bytes metric
    #[metric(unit = "bytes")]
    pub memory_used_peak: Gauge,
    /// memory_max_bytes metric
    #[metric(unit = "bytes")]
    pub memory_max: Gauge,
    /// mem_fragmentation_ratio metric
    pub mem_fragmentation_ratio: Gauge<f64>,
    /// connected_slaves metric
    pub connected_slaves: Gauge,
    /// rdb_changes_since_last_save metric
    pub rdb_changes_since_last_save: Gauge,
    /// rdb_last_save_timestamp_seconds metric
    #[metric(unit = "seconds")]
    pub rdb_last_save_timestamp: Gauge,
    /// aof_enabled metric
    pub aof_enabled: Gauge,
    /// commands_processed_total metric
    pub commands_processed: Counter,
    /// connections_received_total metric
    pub connections_received: Counter,
    /// rejected_connections_total metric
    pub rejected_connections: Counter,
    /// net_input_bytes_total metric
    #[metric(unit = "bytes")]
    pub net_input: Counter,
    /// net_output_bytes_total metric
    #[metric(unit = "bytes")]
    pub net_output: Counter,
    /// expired_keys_total metric
    pub expired_keys: Counter,
    /// evicted_keys_total metric
    pub evicted_keys: Counter,
    /// keyspace_hits_total metric
    pub keyspace_hits: Counter,
    /// keyspace_misses_total metric
    pub keyspace_misses: Counter,
    /// cpu_sys_seconds_total metric
    #[metric(unit = "seconds")]
    pub cpu_sys: Counter<f64>,
    /// cpu_user_seconds_total metric
    #[metric(unit = "seconds")]
    pub cpu_user: Counter<f64>,
    /// Total number of keys by DB
    pub db_keys: Family<Db, Gauge>,
    /// Total number of expiring keys by DB
    pub db_keys_expiring: Family<Db, Gauge>,
    /// Avg TTL in seconds
    #[metric(unit = "seconds")]
    pub db_avg_ttl: Family<Db, Gauge<f64>>,
    /// Total number of calls per command
    pub commands: Family<Command, Counter>,
    /// Total amount of time in seconds spent per command
    #[metric(unit = "seconds")]
    pub commands_duration: Family<Command, Counter<f64>>,
}

/// `INFO`'s `key:value` lines (section headers and blank lines skipped).
fn fields(info: &str) -> HashMap<&str, &str> {
    info.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| line.trim_end().split_once(':'))
        .collect()
}

/// `keys=3,expires=1,avg_ttl=0` (a `db0:` value, or a `cmdstat_set:` one) as pairs.
fn sub_fields(value: &str) -> impl Iterator<Item = (&str, &str)> {
    value.split(',').filter_map(|pair| pair.split_once('='))
}

/// The metrics of one `INFO ALL` reply. `databases` (`CONFIG GET databases`) adds `db_keys 0`
/// for the databases `# Keyspace` leaves out because they are empty, as the official exporter
/// does; a field the reply lacks (older Redis versions) or cannot be read stays 0. A reply
/// without `redis_version` is not `INFO`'s: an error.
pub fn parse(
    info: &str,
    databases: Option<u32>,
    now_unix_seconds: u64,
) -> Result<RedisMetrics, &'static str> {
    let fields = fields(info);
    if !fields.contains_key("redis_version") {
        return Err("the INFO reply has no redis_version");
    }
    let metrics = RedisMetrics::new();
    let number = |key: &str| fields.get(key).and_then(|v| v.parse::<f64>().ok());
    let gauge = |gauge: &Gauge, key: &str| gauge.set(number(key).unwrap_or(0.0) as i64);
    let counter = |counter: &Counter, key: &str| counter.inc_by(number(key).unwrap_or(0.0) as u64);
    gauge(&metrics.uptime_in_seconds, "uptime_in_seconds");
    if let Some(uptime) = number("uptime_in_seconds") {
        metrics
            .start_time
            .set(now_unix_seconds as i64 - uptime as i64);
    }
    gauge(&metrics.connected_clients, "connected_clients");
    gauge(&metrics.blocked_clients, "blocked_clients");
    gauge(&metrics.max_clients, "maxclients");
    gauge(&metrics.memory_used, "used_memory");
    gauge(&metrics.memory_used_rss, "used_memory_rss");
    gauge(&metrics.memory_used_peak, "used_memory_peak");
    gauge(&metrics.memory_max, "maxmemory");
    let ratio = number("mem_fragmentation_ratio").unwrap_or(0.0);
    metrics.mem_fragmentation_ratio.set(ratio);
    gauge(&metrics.connected_slaves, "connected_slaves");
    gauge(
        &metrics.rdb_changes_since_last_save,
        "rdb_changes_since_last_save",
    );
    gauge(&metrics.rdb_last_save_timestamp, "rdb_last_save_time");
    gauge(&metrics.aof_enabled, "aof_enabled");
    counter(&metrics.commands_processed, "total_commands_processed");
    counter(&metrics.connections_received, "total_connections_received");
    counter(&metrics.rejected_connections, "rejected_connections");
    counter(&metrics.net_input, "total_net_input_bytes");
    counter(&metrics.net_output, "total_net_output_bytes");
    counter(&metrics.expired_keys, "expired_keys");
    counter(&metrics.evicted_keys, "evicted_keys");
    counter(&metrics.keyspace_hits, "keyspace_hits");
    counter(&metrics.keyspace_misses, "keyspace_misses");
    metrics
        .cpu_sys
        .inc_by(number("used_cpu_sys").unwrap_or(0.0));
    metrics
        .cpu_user
        .inc_by(number("used_cpu_user").unwrap_or(0.0));

    match fields.get("role").copied() {
        Some("master") => metrics.replication_role.set(Role::Master),
        Some("slave") => metrics.replication_role.set(Role::Slave),
        _ => {}
    }
    let text = |key: &str| fields.get(key).copied().unwrap_or_default().to_owned();
    metrics.instance.set(Instance {
        role: text("role"),
        redis_version: text("redis_version"),
        redis_build_id: text("redis_build_id"),
        redis_mode: text("redis_mode"),
        os: text("os"),
        maxmemory_policy: text("maxmemory_policy"),
        tcp_port: text("tcp_port"),
        run_id: text("run_id"),
        process_id: text("process_id"),
        master_replid: text("master_replid"),
    });

    for index in 0..databases.unwrap_or(0) {
        let db = Db {
            db: format!("db{index}"),
        };
        metrics.db_keys.get(&db).set(0);
        metrics.db_keys_expiring.get(&db).set(0);
    }
    for (key, value) in &fields {
        let db_number = key.strip_prefix("db").filter(|n| n.parse::<u32>().is_ok());
        if db_number.is_some() {
            let db = Db {
                db: (*key).to_owned(),
            };
            for (name, count) in sub_fields(value) {
                let Ok(count) = count.parse::<i64>() else {
                    continue;
                };
                match name {
                    "keys" => metrics.db_keys.get(&db).set(count),
                    "expires" => metrics.db_keys_expiring.get(&db).set(count),
                    // Milliseconds in INFO; the official exporter serves seconds.
                    "avg_ttl" => metrics.db_avg_ttl.get(&db).set(count as f64 / 1000.0),
                    _ => {}
                }
            }
        } else if let Some(cmd) = key.strip_prefix("cmdstat_") {
            let command = Command {
                cmd: cmd.to_owned(),
            };
            for (name, value) in sub_fields(value) {
                match (name, value.parse::<f64>()) {
                    ("calls", Ok(calls)) => metrics.commands.get(&command).inc_by(calls as u64),
                    ("usec", Ok(usec)) => {
                        metrics.commands_duration.get(&command).inc_by(usec / 1e6);
                    }
                    _ => {}
                }
            }
        }
    }
    Ok(metrics)
}

#[cfg(test)]
mod tests {
    use super::*;
    use promexport::{Format, Registry};

    const INFO: &str = "# Server\r\nredis_version:7.0.15\r\nredis_mode:standalone\r\n\
        os:Linux 6.1 x86_64\r\nprocess_id:42\r\ntcp_port:6379\r\nuptime_in_seconds:100\r\n\r\n\
        # Clients\r\nconnected_clients:3\r\nmaxclients:10000\r\n\r\n\
        # Memory\r\nused_memory:1048576\r\nmem_fragmentation_ratio:1.25\r\n\
        maxmemory_policy:noeviction\r\n\r\n\
        # Stats\r\ntotal_commands_processed:17\r\n\r\n\
        # Replication\r\nrole:master\r\nconnected_slaves:0\r\n\r\n\
        # CPU\r\nused_cpu_sys:0.5\r\n\r\n\
        # Commandstats\r\ncmdstat_set:calls=12,usec=30,usec_per_call=2.50,rejected_calls=0,failed_calls=0\r\n\
        cmdstat_config|get:calls=1,usec=7,usec_per_call=7.00,rejected_calls=0,failed_calls=0\r\n\r\n\
        # Keyspace\r\ndb0:keys=10,expires=2,avg_ttl=1500\r\ndb3:keys=5,expires=0,avg_ttl=0\r\n";

    fn exposition(metrics: RedisMetrics) -> String {
        let registry = Registry::new();
        registry.register(metrics).unwrap();
        registry.render(Format::Text)
    }

    #[test]
    fn reads_the_sections_the_official_exporter_reads() {
        let text = exposition(parse(INFO, Some(4), 1_000).unwrap());
        for line in [
            "redis_uptime_in_seconds 100\n",
            "redis_start_time_seconds 900\n",
            "redis_connected_clients 3\n",
            "redis_max_clients 10000\n",
            "redis_memory_used_bytes 1048576\n",
            "redis_mem_fragmentation_ratio 1.25\n",
            "redis_commands_processed_total 17\n",
            "redis_cpu_sys_seconds_total 0.5\n",
            "redis_replication_role{redis_replication_role=\"master\"} 1\n",
            "redis_replication_role{redis_replication_role=\"slave\"} 0\n",
            "redis_db_keys{db=\"db0\"} 10\n",
            "redis_db_keys_expiring{db=\"db0\"} 2\n",
            "redis_db_avg_ttl_seconds{db=\"db0\"} 1.5\n",
            "redis_db_keys{db=\"db1\"} 0\n",
            "redis_db_keys{db=\"db3\"} 5\n",
            "redis_commands_total{cmd=\"set\"} 12\n",
            "redis_commands_total{cmd=\"config|get\"} 1\n",
            "redis_commands_duration_seconds_total{cmd=\"set\"} 0.00003\n",
        ] {
            assert!(text.contains(line), "no {line:?} in\n{text}");
        }
        assert!(text.contains("redis_instance_info{role=\"master\",redis_version=\"7.0.15\""));
    }

    #[test]
    fn unreadable_fields_are_left_at_zero_and_other_replies_refused() {
        let reply = "redis_version:1\r\n:::\r\nrole:\r\nconnected_clients:x\r\ndb0:keys=x\r\n";
        let text = exposition(parse(reply, None, 0).unwrap());
        assert!(text.contains("redis_connected_clients 0\n"), "{text}");
        assert!(!text.contains("redis_db_keys{"), "{text}");
        assert!(!text.contains("redis_replication_role{redis_replication_role=\"master\"} 1"));
        assert!(parse("-ERR unknown command\r\n", None, 0).is_err());
    }
}
