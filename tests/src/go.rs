//! Go programs of `tests/go/`, built against Debian's client_golang (the reference
//! implementation) in GOPATH mode, offline, into `target/test-tools/go/`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::SystemTime;

/// Where Debian's `golang-github-prometheus-*-dev` packages put their sources.
const GOPATH: &str = "/usr/share/gocode";

/// The binary of the Go program in `tests/go/<name>/`, built if it is missing or older than
/// its sources.
///
/// # Panics
/// When `go` or client_golang is missing (run `scripts/test-deps.sh`), or the build fails.
pub fn go_program(name: &str) -> PathBuf {
    // One build at a time in this process; a build in another test process writes its own
    // temporary file and renames it, so a reader never sees half a binary.
    static BUILDING: Mutex<()> = Mutex::new(());
    let _building = BUILDING.lock().unwrap_or_else(|e| e.into_inner());
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let source = root.join("go").join(name);
    let out = root.join("../target/test-tools/go");
    let binary = out.join("bin").join(name);
    if modified(&binary).is_some_and(|built| newest_source(&source) <= built) {
        return binary;
    }
    for package in ["client_golang/prometheus", "common/expfmt"] {
        assert!(
            Path::new(GOPATH)
                .join("src/github.com/prometheus")
                .join(package)
                .is_dir(),
            "Go package github.com/prometheus/{package} is missing from {GOPATH}: run scripts/test-deps.sh"
        );
    }
    std::fs::create_dir_all(out.join("bin")).expect("create target/test-tools/go/bin");
    let partial = out
        .join("bin")
        .join(format!("{name}.{}.partial", std::process::id()));
    let output = Command::new("go")
        .args(["build", "-o"])
        .arg(&partial)
        .arg(".")
        .current_dir(&source)
        .env("GO111MODULE", "off")
        .env("GOPATH", GOPATH)
        .env("GOCACHE", out.join("cache"))
        .env("GOPROXY", "off")
        .env("GOFLAGS", "")
        .env("CGO_ENABLED", "0")
        .output()
        .unwrap_or_else(|e| panic!("cannot run `go` ({e}): run scripts/test-deps.sh"));
    assert!(
        output.status.success(),
        "go build of tests/go/{name} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    std::fs::rename(&partial, &binary).expect("move the Go binary in place");
    binary
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

fn newest_source(dir: &Path) -> SystemTime {
    std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .filter_map(|entry| modified(&entry.ok()?.path()))
        .max()
        .unwrap_or(SystemTime::UNIX_EPOCH)
}
