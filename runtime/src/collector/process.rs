//! `process_*` metrics as client_golang names them, read from `/proc/self` and `getrlimit` at
//! each scrape.

use super::{DefaultCollector, gauge};
use crate::encoding::{Encoder, Value};
use crate::metrics::{Descriptor, MetricKind};
use crate::registry::{Collect, FamilyDescription};
use std::fs;
use std::os::unix::fs::FileExt;
use std::sync::{Mutex, OnceLock, PoisonError};

/// Linux's `USER_HZ`, the unit of CPU times in `/proc/<pid>/stat` (100 on every Linux ABI).
const TICKS_PER_SECOND: f64 = 100.0;

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

/// Process metrics of the current process (Linux), named as client_golang names them.
///
/// A scrape reads `/proc/self/stat` (kept open after the first scrape: one descriptor, counted
/// in `process_open_fds`), two `getrlimit`s and the size of `/proc/self/fd`: about 10 µs,
/// where opening and listing the files as client_golang and client_python do costs about 150 µs.
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
    resident_pages: u64,
}

/// `/proc/self/stat`, kept open: opening a file of /proc costs more than reading it.
struct StatFile {
    /// The process the file belongs to: a forked child opens its own.
    pid: u32,
    file: fs::File,
}

fn read_stat() -> Option<Stat> {
    static FILE: Mutex<Option<StatFile>> = Mutex::new(None);
    // The line is under 1 KiB (52 numbers and a name of at most 64 bytes).
    let mut buffer = [0; 4096];
    let mut length = 0;
    {
        let mut cached = FILE.lock().unwrap_or_else(PoisonError::into_inner);
        let pid = std::process::id();
        if cached.as_ref().is_none_or(|cached| cached.pid != pid) {
            let file = fs::File::open("/proc/self/stat").ok()?;
            *cached = Some(StatFile { pid, file });
        }
        let file = &cached.as_ref()?.file;
        // /proc regenerates the text when it is read from the start.
        while length < buffer.len() {
            match file.read_at(&mut buffer[length..], length as u64).ok()? {
                0 => break,
                read => length += read,
            }
        }
    }
    let text = std::str::from_utf8(&buffer[..length]).ok()?;
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
        resident_pages: field(24)?.parse().ok()?,
    })
}

/// The process start time, read once: it never changes, and `/proc/stat` is slow to read.
fn start_time_seconds(stat: &Stat) -> Option<f64> {
    static START: OnceLock<Option<f64>> = OnceLock::new();
    *START.get_or_init(|| {
        let text = fs::read_to_string("/proc/stat").ok()?;
        let boot: f64 = text
            .lines()
            .find_map(|line| line.strip_prefix("btime ")?.trim().parse().ok())?;
        Some(boot + stat.start_ticks / TICKS_PER_SECOND)
    })
}

/// The page size, to turn the resident pages of `/proc/self/stat` into bytes.
fn page_size() -> Option<u64> {
    // SAFETY: sysconf has no preconditions.
    u64::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).ok()
}

#[cfg(target_env = "gnu")]
type Resource = libc::__rlimit_resource_t;
#[cfg(not(target_env = "gnu"))]
type Resource = libc::c_int;

/// A soft limit of the process (`getrlimit`); `u64::MAX` when unlimited, as client_golang reports
/// it.
fn soft_limit(resource: Resource) -> Option<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `limit` is a valid `rlimit` to write to.
    if unsafe { libc::getrlimit(resource, &mut limit) } != 0 {
        return None;
    }
    Some(match limit.rlim_cur {
        libc::RLIM_INFINITY => u64::MAX,
        current => current,
    })
}

fn open_fds() -> Option<i64> {
    // Since Linux 6.2 the size of the directory is the number of open descriptors: one `statx`
    // instead of listing them (a quarter of a scrape's time); before, the size is 0.
    match fs::metadata("/proc/self/fd").ok()?.len() {
        0 => Some(fs::read_dir("/proc/self/fd").ok()?.count() as i64),
        count => i64::try_from(count).ok(),
    }
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
        write(
            encoder,
            &MAX_FDS,
            soft_limit(libc::RLIMIT_NOFILE).map(as_f64),
        );
        write(
            encoder,
            &VIRTUAL,
            stat.as_ref().map(|s| as_f64(s.virtual_bytes)),
        );
        write(
            encoder,
            &VIRTUAL_MAX,
            soft_limit(libc::RLIMIT_AS).map(as_f64),
        );
        let resident = stat
            .as_ref()
            .zip(page_size())
            .map(|(s, page)| as_f64(s.resident_pages * page));
        write(encoder, &RESIDENT, resident);
        write(
            encoder,
            &START,
            stat.as_ref().and_then(start_time_seconds).map(Value::F64),
        );
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
        let listed = fs::read_dir("/proc/self/fd").unwrap().count() as i64;
        // Other tests of this binary open and close files meanwhile; listing opens one too.
        assert!(
            open_fds().unwrap().abs_diff(listed) <= 8,
            "{:?} vs {listed}",
            open_fds()
        );
        assert!(open_fds().unwrap() >= 3);
        let limits = fs::read_to_string("/proc/self/limits").unwrap();
        let open_files = limits
            .lines()
            .find_map(|line| line.strip_prefix("Max open files"))
            .and_then(|rest| rest.split_whitespace().next()?.parse().ok());
        assert_eq!(soft_limit(libc::RLIMIT_NOFILE), open_files);
        assert!(soft_limit(libc::RLIMIT_AS).is_some());
        let start = start_time_seconds(&stat).unwrap();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        assert!(start <= now + 1.0 && start > now - 86_400.0 * 365.0);
    }

    #[test]
    fn the_kept_file_gives_fresh_values() {
        const RESERVED: u64 = 256 << 20;
        let before = read_stat().unwrap().virtual_bytes;
        // Mapped, never touched: virtual memory grows, resident memory does not.
        let reserved = Vec::<u8>::with_capacity(RESERVED as usize);
        let during = read_stat().unwrap().virtual_bytes;
        drop(reserved);
        assert!(
            during >= before + RESERVED - (16 << 20),
            "{before} then {during}"
        );
    }

    #[test]
    fn resident_memory_agrees_with_vm_rss() {
        let status = fs::read_to_string("/proc/self/status").unwrap();
        let vm_rss_kib: u64 = status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
            .unwrap();
        let page = page_size().unwrap();
        assert!(page.is_power_of_two() && page >= 4096, "{page}");
        let resident = read_stat().unwrap().resident_pages * page;
        let vm_rss = vm_rss_kib * 1024;
        // Both are read a moment apart; the test's own allocations move them a little.
        assert!(
            resident.abs_diff(vm_rss) < vm_rss / 10,
            "{resident} vs {vm_rss}"
        );
    }
}
