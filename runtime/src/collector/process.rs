//! `process_*` metrics as client_golang names them, read from `/proc/self` at each scrape.

use super::DefaultCollector;
use crate::encoding::{Encoder, Value};
use crate::metrics::{Descriptor, MetricKind};
use crate::registry::{Collect, FamilyDescription};
use std::fs;

/// Linux's `USER_HZ`, the unit of CPU times in `/proc/<pid>/stat` (100 on every Linux ABI).
const TICKS_PER_SECOND: f64 = 100.0;

const fn gauge(name: &'static str, help: &'static str) -> Descriptor {
    Descriptor {
        name,
        help,
        unit: None,
        kind: MetricKind::Gauge,
    }
}

const CPU: Descriptor = Descriptor {
    name: "process_cpu_seconds",
    help: "Total user and system CPU time spent in seconds.",
    unit: Some("seconds"),
    kind: MetricKind::Counter,
};
const OPEN_FDS: Descriptor = gauge("process_open_fds", "Number of open file descriptors.");
const MAX_FDS: Descriptor = gauge(
    "process_max_fds",
    "Maximum number of open file descriptors.",
);
const VIRTUAL: Descriptor = gauge(
    "process_virtual_memory_bytes",
    "Virtual memory size in bytes.",
);
const VIRTUAL_MAX: Descriptor = gauge(
    "process_virtual_memory_max_bytes",
    "Maximum amount of virtual memory available in bytes.",
);
const RESIDENT: Descriptor = gauge(
    "process_resident_memory_bytes",
    "Resident memory size in bytes.",
);
const START: Descriptor = gauge(
    "process_start_time_seconds",
    "Start time of the process since unix epoch in seconds.",
);
const THREADS: Descriptor = gauge("process_threads", "Number of OS threads in the process.");

const FAMILIES: [Descriptor; 8] = [
    CPU,
    OPEN_FDS,
    MAX_FDS,
    VIRTUAL,
    VIRTUAL_MAX,
    RESIDENT,
    START,
    THREADS,
];

/// Process metrics of the current process (Linux).
///
/// A value that cannot be read is left out of the scrape; the rest is still served.
#[derive(Debug, Default)]
pub struct ProcessCollector {
    _private: (),
}

impl ProcessCollector {
    /// A collector for the current process.
    pub fn new() -> Self {
        Self::default()
    }
}

/// The fields of `/proc/self/stat` this collector uses.
struct Stat {
    cpu_seconds: f64,
    threads: i64,
    start_ticks: f64,
    virtual_bytes: u64,
}

fn read_stat() -> Option<Stat> {
    let text = fs::read_to_string("/proc/self/stat").ok()?;
    // The command name (field 2) may contain spaces and parentheses: fields start after the last ')'.
    let fields: Vec<&str> = text
        .get(text.rfind(')')? + 2..)?
        .split_whitespace()
        .collect();
    // `fields[0]` is field 3 (state) of proc(5).
    let field = |number: usize| fields.get(number - 3).copied();
    let ticks = |number: usize| field(number)?.parse::<f64>().ok();
    Some(Stat {
        cpu_seconds: (ticks(14)? + ticks(15)?) / TICKS_PER_SECOND,
        threads: field(20)?.parse().ok()?,
        start_ticks: ticks(22)?,
        virtual_bytes: field(23)?.parse().ok()?,
    })
}

fn boot_time_seconds() -> Option<f64> {
    let text = fs::read_to_string("/proc/stat").ok()?;
    text.lines()
        .find_map(|line| line.strip_prefix("btime ")?.trim().parse().ok())
}

fn resident_bytes() -> Option<u64> {
    let text = fs::read_to_string("/proc/self/status").ok()?;
    let kib: u64 = text
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    Some(kib * 1024)
}

/// A soft limit from `/proc/self/limits`; `u64::MAX` when unlimited, as client_golang reports it.
fn soft_limit(name: &str) -> Option<u64> {
    let text = fs::read_to_string("/proc/self/limits").ok()?;
    let rest = text.lines().find_map(|line| line.strip_prefix(name))?;
    match rest.split_whitespace().next()? {
        "unlimited" => Some(u64::MAX),
        value => value.parse().ok(),
    }
}

fn open_fds() -> Option<i64> {
    Some(fs::read_dir("/proc/self/fd").ok()?.count() as i64)
}

fn write(encoder: &mut Encoder<'_>, desc: &Descriptor, value: Option<Value>) {
    if let Some(value) = value {
        let suffix = if desc.kind == MetricKind::Counter {
            "_total"
        } else {
            ""
        };
        encoder.family(desc, "").sample(suffix, "", None, value);
    }
}

impl Collect for ProcessCollector {
    fn describe(&self) -> Vec<FamilyDescription> {
        FAMILIES.iter().map(FamilyDescription::from).collect()
    }

    fn encode(&self, encoder: &mut Encoder<'_>) {
        if !DefaultCollector::Process.is_enabled() {
            return;
        }
        let stat = read_stat();
        let as_f64 = |v: u64| Value::F64(v as f64);
        write(
            encoder,
            &CPU,
            stat.as_ref().map(|s| Value::F64(s.cpu_seconds)),
        );
        write(encoder, &OPEN_FDS, open_fds().map(Value::I64));
        write(encoder, &MAX_FDS, soft_limit("Max open files").map(as_f64));
        write(
            encoder,
            &VIRTUAL,
            stat.as_ref().map(|s| as_f64(s.virtual_bytes)),
        );
        write(
            encoder,
            &VIRTUAL_MAX,
            soft_limit("Max address space").map(as_f64),
        );
        write(encoder, &RESIDENT, resident_bytes().map(as_f64));
        let start = stat
            .as_ref()
            .zip(boot_time_seconds())
            .map(|(s, boot)| Value::F64(boot + s.start_ticks / TICKS_PER_SECOND));
        write(encoder, &START, start);
        write(
            encoder,
            &THREADS,
            stat.as_ref().map(|s| Value::I64(s.threads)),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_process() {
        let stat = read_stat().expect("/proc/self/stat parses");
        assert!(stat.threads >= 1);
        assert!(stat.virtual_bytes > 0);
        assert!(resident_bytes().unwrap() > 0);
        assert!(open_fds().unwrap() >= 3);
        assert!(soft_limit("Max open files").unwrap() > 0);
        let start = boot_time_seconds().unwrap() + stat.start_ticks / TICKS_PER_SECOND;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        assert!(start <= now + 1.0 && start > now - 86_400.0 * 365.0);
    }
}
