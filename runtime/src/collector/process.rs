//! `process_*` metrics as client_golang names them, read from `/proc/self` and `getrlimit` at
//! each scrape.

use super::{DefaultCollector, gauge};
use crate::encoding::{Encoder, Value};
use crate::metrics::{Descriptor, MetricKind};
use crate::registry::{Collect, FamilyDescription};
use std::fs;
use std::os::unix::fs::FileExt;
use std::sync::{Mutex, OnceLock, PoisonError};

/// Linux's `USER_HZ`, the unit of CPU times in `/proc/<pid>/stat`: 100 on most ABIs, 1024 on
/// alpha and ia64, so asked of `sysconf` (once) rather than assumed.
fn ticks_per_second() -> f64 {
    static TICKS: OnceLock<f64> = OnceLock::new();
    *TICKS.get_or_init(|| {
        // SAFETY: sysconf has no preconditions.
        match unsafe { libc::sysconf(libc::_SC_CLK_TCK) } {
            ticks if ticks > 0 => ticks as f64,
            // Only on a kernel without the setting; 100 is what glibc then assumes too.
            _ => 100.0,
        }
    })
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
const NETWORK_RECEIVE: Descriptor = Descriptor {
    name: "process_network_receive_bytes",
    help: "Number of bytes received by the process over the network.",
    unit: Some("bytes"),
    kind: MetricKind::Counter,
};
const NETWORK_TRANSMIT: Descriptor = Descriptor {
    name: "process_network_transmit_bytes",
    help: "Number of bytes sent by the process over the network.",
    unit: Some("bytes"),
    kind: MetricKind::Counter,
};

const FAMILIES: [Descriptor; 10] = [
    CPU,
    OPEN_FDS,
    MAX_FDS,
    VIRTUAL,
    VIRTUAL_MAX,
    RESIDENT,
    START,
    THREADS,
    NETWORK_RECEIVE,
    NETWORK_TRANSMIT,
];

/// Process metrics of the current process (Linux), named as client_golang names them.
///
/// A scrape reads `/proc/self/stat` and `/proc/self/net/netstat` (kept open after the first
/// scrape: two descriptors, counted in `process_open_fds`), two `getrlimit`s and the size of
/// `/proc/self/fd`, where opening and listing the files as client_golang and client_python do
/// costs about 150 µs. A value that cannot be read is left out of the scrape; the rest is still
/// served.
///
/// `process_network_{receive,transmit}_bytes_total` are the `IpExt` `InOctets` and `OutOctets`
/// of `/proc/self/net/netstat`, as client_golang (1.20 and later) serves them: the IP traffic of
/// the process' network namespace, so in a container the process', but on a host shared with
/// every other process there.
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

/// A file of `/proc/self`, kept open: opening a file of /proc costs more than reading it.
struct KeptFile {
    /// The process the file belongs to: a forked child opens its own.
    pid: u32,
    file: fs::File,
}

/// Reads all of `path` into `buffer` (whose capacity is kept), through the file kept in `kept`.
fn read_kept(kept: &Mutex<Option<KeptFile>>, path: &str, buffer: &mut Vec<u8>) -> Option<()> {
    let mut cached = kept.lock().unwrap_or_else(PoisonError::into_inner);
    let pid = std::process::id();
    if cached.as_ref().is_none_or(|cached| cached.pid != pid) {
        let file = fs::File::open(path).ok()?;
        *cached = Some(KeptFile { pid, file });
    }
    let file = &cached.as_ref()?.file;
    buffer.clear();
    // /proc regenerates the text when it is read from the start.
    loop {
        if buffer.len() == buffer.capacity() {
            buffer.reserve(4096);
        }
        let length = buffer.len();
        buffer.resize(buffer.capacity(), 0);
        match file.read_at(&mut buffer[length..], length as u64) {
            Ok(0) => {
                buffer.truncate(length);
                return Some(());
            }
            Ok(read) => buffer.truncate(length + read),
            Err(_) => return None,
        }
    }
}

fn read_stat() -> Option<Stat> {
    static FILE: Mutex<Option<KeptFile>> = Mutex::new(None);
    // The line is under 1 KiB (52 numbers and a name of at most 64 bytes).
    let mut buffer = Vec::with_capacity(1024);
    read_kept(&FILE, "/proc/self/stat", &mut buffer)?;
    let text = std::str::from_utf8(&buffer).ok()?;
    // The command name (field 2) may contain spaces and parentheses: fields start after the last ')'.
    let fields: Vec<&str> = text
        .get(text.rfind(')')? + 2..)?
        .split_whitespace()
        .collect();
    // `fields[0]` is field 3 (state) of proc(5).
    let field = |number: usize| fields.get(number - 3).copied();
    let ticks = |number: usize| field(number)?.parse::<f64>().ok();
    Some(Stat {
        cpu_seconds: (ticks(14)? + ticks(15)?) / ticks_per_second(),
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
        Some(boot + stat.start_ticks / ticks_per_second())
    })
}

/// Bytes received and sent over IP: `InOctets` and `OutOctets` of the `IpExt` lines of
/// `/proc/self/net/netstat` (a line of names, then a line of values).
fn read_network_bytes() -> Option<(u64, u64)> {
    static FILE: Mutex<Option<KeptFile>> = Mutex::new(None);
    // About 4 KiB on Linux 6.
    let mut buffer = Vec::with_capacity(8192);
    read_kept(&FILE, "/proc/self/net/netstat", &mut buffer)?;
    network_bytes(std::str::from_utf8(&buffer).ok()?)
}

fn network_bytes(netstat: &str) -> Option<(u64, u64)> {
    let mut ip_ext = netstat
        .lines()
        .filter_map(|line| line.strip_prefix("IpExt:"));
    let (names, values) = (ip_ext.next()?, ip_ext.next()?);
    let value = |wanted: &str| {
        let position = names.split_whitespace().position(|name| name == wanted)?;
        values.split_whitespace().nth(position)?.parse().ok()
    };
    Some((value("InOctets")?, value("OutOctets")?))
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
        let mut family = encoder.family(desc, "");
        if desc.kind == MetricKind::Counter {
            family.counter("", value, None, None);
        } else {
            family.gauge("", value);
        }
    }
}

impl Collect for ProcessCollector {
    fn describe(&self) -> Vec<FamilyDescription> {
        FAMILIES.iter().map(FamilyDescription::from).collect()
    }

    fn is_enabled(&self) -> bool {
        DefaultCollector::Process.is_enabled()
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
        let network = read_network_bytes();
        write(
            encoder,
            &NETWORK_RECEIVE,
            network.map(|(received, _)| Value::U64(received)),
        );
        write(
            encoder,
            &NETWORK_TRANSMIT,
            network.map(|(_, sent)| Value::U64(sent)),
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

    /// CPU time through `USER_HZ` agrees with `getrusage`, which counts in microseconds.
    #[test]
    fn cpu_seconds_agree_with_getrusage() {
        let rusage_seconds = || {
            // SAFETY: an all-zero `rusage` is valid, and `getrusage` writes a whole one.
            let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
            // SAFETY: `usage` is a valid `rusage` to write to.
            assert_eq!(unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) }, 0);
            let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
            seconds(usage.ru_utime) + seconds(usage.ru_stime)
        };
        let started = std::time::Instant::now();
        let mut spin = 0_u64;
        // Long enough for several clock ticks of CPU time, bounded in wall time.
        while rusage_seconds() < 0.3 && started.elapsed().as_secs() < 20 {
            spin = std::hint::black_box(spin.wrapping_mul(31).wrapping_add(7));
        }
        let before = rusage_seconds();
        let stat = read_stat().unwrap().cpu_seconds;
        let after = rusage_seconds();
        // Ticks are counted per thread and rounded down: a few of them (and other tests'
        // threads) apart at most.
        assert!(
            stat >= before * 0.5 - 0.05 && stat <= after * 2.0 + 0.05,
            "/proc/self/stat {stat} s, getrusage {before}..{after} s"
        );
        assert_eq!(ticks_per_second(), unsafe {
            // SAFETY: sysconf has no preconditions.
            libc::sysconf(libc::_SC_CLK_TCK) as f64
        });
    }

    #[test]
    fn network_bytes_count_this_process_traffic() {
        use std::io::{Read, Write};
        const SENT: usize = 1 << 20;
        let (received_before, sent_before) = read_network_bytes().expect("netstat parses");
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        let sender = std::thread::spawn(move || {
            let mut stream = std::net::TcpStream::connect(address).unwrap();
            stream.write_all(&vec![7; SENT]).unwrap();
        });
        let (mut stream, _) = listener.accept().unwrap();
        let mut received = Vec::new();
        stream.read_to_end(&mut received).unwrap();
        sender.join().unwrap();
        assert_eq!(received.len(), SENT);
        let (received_after, sent_after) = read_network_bytes().unwrap();
        // Loopback traffic is both received and sent; other processes may add to both.
        assert!(received_after - received_before >= SENT as u64);
        assert!(sent_after - sent_before >= SENT as u64);
    }

    #[test]
    fn network_bytes_are_found_by_name() {
        let netstat = "TcpExt: SyncookiesSent InOctets\nTcpExt: 1 2\n\
                       IpExt: InNoRoutes InOctets OutOctets\nIpExt: 0 18446744073709551615 42\n";
        assert_eq!(network_bytes(netstat), Some((u64::MAX, 42)));
        assert_eq!(network_bytes("IpExt: InOctets\nIpExt: 5\n"), None);
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
