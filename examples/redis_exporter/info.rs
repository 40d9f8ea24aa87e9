//! Redis' `INFO ALL` reply as metrics, with the names of the official redis_exporter
//! (oliver006/redis_exporter), mapped by the tables below at each scrape: most of `INFO` is
//! open-ended (a family per column of `# Commandstats`, a series per command or database), so
//! the families are built at run time ([`ConstMetrics`]), not declared in a struct.

use crate::BoxError;
use promexport::MetricKind::{self, Counter, Gauge};
use promexport::{ConstFamily, ConstMetrics, FamilyError, Value};
use std::collections::{BTreeMap, HashMap};

/// Fields served as they are: (field, name less `redis_`, type). The names are those of the
/// official exporter's `metricMapGauges`/`metricMapCounters`, and so is the help,
/// `<name> metric`; `max_clients` is this exporter's own.
#[rustfmt::skip]
const FIELDS: &[(&str, &str, MetricKind)] = &[
    ("uptime_in_seconds",           "uptime_in_seconds",               Gauge),
    ("connected_clients",           "connected_clients",               Gauge),
    ("blocked_clients",             "blocked_clients",                 Gauge),
    ("maxclients",                  "max_clients",                     Gauge),
    ("used_memory",                 "memory_used_bytes",               Gauge),
    ("used_memory_rss",             "memory_used_rss_bytes",           Gauge),
    ("used_memory_peak",            "memory_used_peak_bytes",          Gauge),
    ("used_memory_lua",             "memory_used_lua_bytes",           Gauge),
    ("maxmemory",                   "memory_max_bytes",                Gauge),
    ("mem_fragmentation_ratio",     "mem_fragmentation_ratio",         Gauge),
    ("rdb_changes_since_last_save", "rdb_changes_since_last_save",     Gauge),
    ("rdb_last_save_time",          "rdb_last_save_timestamp_seconds", Gauge),
    ("rdb_last_bgsave_status",      "rdb_last_bgsave_status",          Gauge),
    ("aof_enabled",                 "aof_enabled",                     Gauge),
    ("pubsub_channels",             "pubsub_channels",                 Gauge),
    ("pubsub_patterns",             "pubsub_patterns",                 Gauge),
    ("connected_slaves",            "connected_slaves",                Gauge),
    ("master_repl_offset",          "master_repl_offset",              Gauge),
    ("total_commands_processed",    "commands_processed_total",        Counter),
    ("total_connections_received",  "connections_received_total",      Counter),
    ("rejected_connections",        "rejected_connections_total",      Counter),
    ("total_net_input_bytes",       "net_input_bytes_total",           Counter),
    ("total_net_output_bytes",      "net_output_bytes_total",          Counter),
    ("expired_keys",                "expired_keys_total",              Counter),
    ("evicted_keys",                "evicted_keys_total",              Counter),
    ("keyspace_hits",               "keyspace_hits_total",             Counter),
    ("keyspace_misses",             "keyspace_misses_total",           Counter),
    ("used_cpu_sys",                "cpu_sys_seconds_total",           Counter),
    ("used_cpu_user",               "cpu_user_seconds_total",          Counter),
    ("used_cpu_sys_children",       "cpu_sys_children_seconds_total",  Counter),
    ("used_cpu_user_children",      "cpu_user_children_seconds_total", Counter),
];

/// One family of the `a=1,b=2` values of fields named `<prefix><x>`: (sub-field, type, name
/// less `redis_`, help, what to divide by for the served unit).
type Column = (&'static str, MetricKind, &'static str, &'static str, f64);

/// `db0:keys=10,expires=2,avg_ttl=1500`, by `db` (`avg_ttl` in milliseconds).
#[rustfmt::skip]
const KEYSPACE: &[Column] = &[
    ("keys",    Gauge, "db_keys",            "Total number of keys by DB",          1.0),
    ("expires", Gauge, "db_keys_expiring",   "Total number of expiring keys by DB", 1.0),
    ("avg_ttl", Gauge, "db_avg_ttl_seconds", "Avg TTL in seconds",                  1e3),
];

/// `cmdstat_set:calls=12,usec=30,usec_per_call=2.50,rejected_calls=0,failed_calls=0`, by `cmd`
/// (the last two since Redis 6.2).
#[rustfmt::skip]
const COMMANDSTATS: &[Column] = &[
    ("calls", Counter, "commands_total", "Total number of calls per command", 1.0),
    ("usec", Counter, "commands_duration_seconds_total",
        "Total amount of time in seconds spent per command", 1e6),
    ("rejected_calls", Counter, "commands_rejected_calls_total",
        "commands_rejected_calls_total metric", 1.0),
    ("failed_calls", Counter, "commands_failed_calls_total",
        "commands_failed_calls_total metric", 1.0),
];

/// `errorstat_ERR:count=4` (Redis 6.2), by `err`.
#[rustfmt::skip]
const ERRORSTATS: &[Column] = &[
    ("count", Counter, "errors_total", "Total number of errors per error type", 1.0),
];

/// The labels of `redis_instance_info`, each the `INFO` field of that name.
#[rustfmt::skip]
const INSTANCE: [&str; 10] = [
    "role", "redis_version", "redis_build_id", "redis_mode", "os", "maxmemory_policy",
    "tcp_port", "run_id", "process_id", "master_replid",
];

/// The metrics of one `INFO ALL` reply. `databases` (`CONFIG GET databases`) adds `db_keys 0`
/// and `db_keys_expiring 0` for the databases `# Keyspace` leaves out because they are empty;
/// a field the reply lacks (older Redis versions) or that is no number is left out, both as
/// the official exporter does. A reply without `redis_version` is not `INFO`'s: an error.
pub fn parse(
    info: &str,
    databases: Option<u32>,
    now_unix_seconds: u64,
) -> Result<ConstMetrics, BoxError> {
    let fields: HashMap<&str, &str> = pairs(info).collect();
    let text = |key: &str| fields.get(key).copied().unwrap_or_default();
    if !fields.contains_key("redis_version") {
        return Err("the INFO reply has no redis_version".into());
    }
    let mut metrics = ConstMetrics::new();
    let help = "Information about the Redis instance";
    let mut instance = ConstFamily::info("redis_instance_info", help, &INSTANCE)?;
    instance.add_info(INSTANCE.map(text))?;
    metrics.push(instance)?;
    let help = "The instance's replication role";
    let mut role = ConstFamily::state_set("redis_replication_role", help, &[])?;
    let states = ["master", "slave"].map(|state| (state, text("role") == state));
    role.add_states((), &states)?;
    metrics.push(role)?;

    for &(field, name, kind) in FIELDS {
        if let Some(value) = fields.get(field).and_then(|text| number(text, 1.0)) {
            let mut family = family(kind, name, &format!("{name} metric"), &[])?;
            family.add((), value)?;
            metrics.push(family)?;
        }
    }
    if let Ok(uptime) = text("uptime_in_seconds").parse::<i64>() {
        let help = "Start time of the Redis instance since unix epoch in seconds.";
        let mut start = family(Gauge, "start_time_seconds", help, &[])?;
        start.add((), now_unix_seconds as i64 - uptime)?;
        metrics.push(start)?;
    }

    // The empty databases `# Keyspace` leaves out, then those it has: by number.
    let mut keyspace: BTreeMap<u32, &str> = (0..databases.unwrap_or(0))
        .map(|db| (db, "keys=0,expires=0"))
        .collect();
    for (key, value) in &fields {
        if let Some(db) = key.strip_prefix("db").and_then(|db| db.parse().ok()) {
            keyspace.insert(db, value);
        }
    }
    let keyspace: Vec<(String, &str)> = keyspace
        .into_iter()
        .map(|(db, value)| (format!("db{db}"), value))
        .collect();
    by_label(&mut metrics, "db", &keyspace, KEYSPACE)?;
    let prefixed = |prefix: &str| -> Vec<(&str, &str)> {
        let rows = pairs(info).filter_map(|(key, value)| Some((key.strip_prefix(prefix)?, value)));
        rows.collect()
    };
    by_label(&mut metrics, "cmd", &prefixed("cmdstat_"), COMMANDSTATS)?;
    by_label(&mut metrics, "err", &prefixed("errorstat_"), ERRORSTATS)?;
    Ok(metrics)
}

/// `INFO`'s `key:value` lines, in order (section headers and blank lines skipped).
fn pairs(info: &str) -> impl Iterator<Item = (&str, &str)> {
    info.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| line.trim_end().split_once(':'))
}

/// A value as the official exporter reads it, divided by `divisor`: a number, or `ok`/`true`
/// (1) and `err`/`fail`/`false` (0). Integers stay integers (`12`, not `12.0`) when not divided.
fn number(text: &str, divisor: f64) -> Option<Value> {
    let integer = match text {
        "ok" | "true" => Ok(1),
        "err" | "fail" | "false" => Ok(0),
        _ => text.parse::<i64>(),
    };
    match integer {
        Ok(integer) if divisor == 1.0 => Some(Value::I64(integer)),
        Ok(integer) => Some(Value::F64(integer as f64 / divisor)),
        Err(_) => Some(Value::F64(text.parse::<f64>().ok()? / divisor)),
    }
}

/// The family `redis_<name>`, with the unit (OpenMetrics `# UNIT`) its name ends with.
fn family(
    kind: MetricKind,
    name: &str,
    help: &str,
    labels: &[&str],
) -> Result<ConstFamily, FamilyError> {
    let family = ConstFamily::new(kind, &format!("redis_{name}"), help, labels)?;
    let unit = ["bytes", "seconds"]
        .into_iter()
        .find(|unit| family.name().ends_with(&format!("_{unit}")));
    match unit {
        Some(unit) => family.with_unit(unit),
        None => Ok(family),
    }
}

/// A family per column of `table`, with a series labelled `label` per row that has the
/// column's sub-field: rows are (label value, `a=1,b=2`). Families no row fills are left out.
fn by_label(
    metrics: &mut ConstMetrics,
    label: &str,
    rows: &[(impl AsRef<str>, &str)],
    table: &[Column],
) -> Result<(), FamilyError> {
    for &(column, kind, name, help, divisor) in table {
        let mut family = family(kind, name, help, &[label])?;
        for (value_label, row) in rows {
            let mut sub_fields = row.split(',').filter_map(|pair| pair.split_once('='));
            let text = sub_fields.find(|&(key, _)| key == column);
            if let Some(value) = text.and_then(|(_, text)| number(text, divisor)) {
                family.add([value_label.as_ref()], value)?;
            }
        }
        if !family.is_empty() {
            metrics.push(family)?;
        }
    }
    Ok(())
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
        # Persistence\r\nrdb_last_bgsave_status:ok\r\n\r\n\
        # Stats\r\ntotal_commands_processed:17\r\n\r\n\
        # Replication\r\nrole:master\r\nconnected_slaves:0\r\n\r\n\
        # CPU\r\nused_cpu_sys:0.5\r\n\r\n\
        # Commandstats\r\ncmdstat_set:calls=12,usec=30,usec_per_call=2.50,\
        rejected_calls=0,failed_calls=1\r\ncmdstat_config|get:calls=1,usec=7,\
        usec_per_call=7.00,rejected_calls=0,failed_calls=0\r\n\r\n\
        # Errorstats\r\nerrorstat_WRONGTYPE:count=1\r\n\r\n\
        # Keyspace\r\ndb0:keys=10,expires=2,avg_ttl=1500\r\ndb3:keys=5,expires=0,avg_ttl=0\r\n";

    fn exposition(metrics: ConstMetrics, format: Format) -> String {
        let registry = Registry::new();
        registry.register(metrics).unwrap();
        registry.render(format)
    }

    #[test]
    fn reads_the_sections_the_official_exporter_reads() {
        let text = exposition(parse(INFO, Some(4), 1_000).unwrap(), Format::Text);
        for line in [
            "redis_uptime_in_seconds 100\n",
            "redis_start_time_seconds 900\n",
            "redis_connected_clients 3\n",
            "redis_max_clients 10000\n",
            "redis_memory_used_bytes 1048576\n",
            "redis_mem_fragmentation_ratio 1.25\n",
            "redis_rdb_last_bgsave_status 1\n",
            "redis_commands_processed_total 17\n",
            "redis_cpu_sys_seconds_total 0.5\n",
            "redis_replication_role{redis_replication_role=\"master\"} 1\n",
            "redis_replication_role{redis_replication_role=\"slave\"} 0\n",
            "# TYPE redis_db_keys gauge\nredis_db_keys{db=\"db0\"} 10\n\
             redis_db_keys{db=\"db1\"} 0\nredis_db_keys{db=\"db2\"} 0\n\
             redis_db_keys{db=\"db3\"} 5\n",
            "redis_db_keys_expiring{db=\"db0\"} 2\n",
            "redis_db_keys_expiring{db=\"db1\"} 0\n",
            "redis_db_avg_ttl_seconds{db=\"db0\"} 1.5\n",
            "# TYPE redis_commands_total counter\n",
            "redis_commands_total{cmd=\"set\"} 12\n",
            "redis_commands_total{cmd=\"config|get\"} 1\n",
            "redis_commands_duration_seconds_total{cmd=\"set\"} 0.00003\n",
            "redis_commands_failed_calls_total{cmd=\"set\"} 1\n",
            "redis_errors_total{err=\"WRONGTYPE\"} 1\n",
        ] {
            assert!(text.contains(line), "no {line:?} in\n{text}");
        }
        assert!(text.contains("redis_instance_info{role=\"master\",redis_version=\"7.0.15\""));
        assert!(
            !text.contains("redis_db_avg_ttl_seconds{db=\"db1\"}"),
            "{text}"
        );
        assert!(
            !text.contains("redis_memory_max_bytes"),
            "not in the reply: {text}"
        );
        let open_metrics = exposition(parse(INFO, None, 0).unwrap(), Format::OpenMetrics);
        assert!(open_metrics.contains("# UNIT redis_memory_used_bytes bytes\n"));
        assert!(open_metrics.contains("# UNIT redis_commands_duration_seconds seconds\n"));
    }

    /// Each field builds its family only when the reply has it: every name, checked at once.
    #[test]
    fn the_tables_name_valid_families_none_twice() {
        let mut all = ConstMetrics::new();
        for &(_, name, kind) in FIELDS {
            all.push(family(kind, name, "", &[]).unwrap()).unwrap();
        }
        for &(_, kind, name, _, _) in [KEYSPACE, COMMANDSTATS, ERRORSTATS].concat().iter() {
            all.push(family(kind, name, "", &["x"]).unwrap()).unwrap();
        }
        let start_time = family(Gauge, "start_time_seconds", "", &[]).unwrap();
        all.push(start_time).unwrap();
        assert!(ConstFamily::info("redis_instance_info", "", &INSTANCE).is_ok());
    }

    #[test]
    fn unreadable_fields_are_left_out_and_other_replies_refused() {
        let reply = "redis_version:1\r\n:::\r\nrole:\r\nconnected_clients:x\r\ndb0:keys=x\r\n\
                     cmdstat_get:usec=10\r\n";
        let text = exposition(parse(reply, None, 0).unwrap(), Format::Text);
        assert!(!text.contains("redis_connected_clients"), "{text}");
        assert!(!text.contains("redis_db_keys"), "{text}");
        assert!(!text.contains("redis_commands_total"), "{text}");
        assert!(text.contains("redis_commands_duration_seconds_total{cmd=\"get\"} 0.00001\n"));
        assert!(!text.contains("redis_replication_role{redis_replication_role=\"master\"} 1"));
        // A label value Redis does not restrict is escaped, not a broken exposition.
        let text = exposition(
            parse("redis_version:\"a\"\\\nb\n", None, 0).unwrap(),
            Format::Text,
        );
        assert!(text.contains("redis_version=\"\\\"a\\\"\\\\\""), "{text}");
        assert!(parse("-ERR unknown command\r\n", None, 0).is_err());
    }
}
