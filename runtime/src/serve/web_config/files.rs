//! The files a web config was loaded from, and whether any of them changed since.

use std::fs::Metadata;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// What `stat` says of a file, enough to see it was rewritten or replaced: its size and
/// modification time, and on Unix its inode and change time too (an atomic rename, as
/// cert-manager and kubelet do it, gives a new inode even within the clock's granularity).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Stamp {
    len: u64,
    modified: Option<SystemTime>,
    identity: [i64; 4],
}

impl Stamp {
    /// `None` when the file cannot be stat'ed (missing: its appearance is a change too).
    fn of(path: &Path) -> Option<Stamp> {
        let metadata = std::fs::metadata(path).ok()?;
        Some(Stamp {
            len: metadata.len(),
            modified: metadata.modified().ok(),
            identity: identity(&metadata),
        })
    }
}

#[cfg(unix)]
fn identity(metadata: &Metadata) -> [i64; 4] {
    use std::os::unix::fs::MetadataExt;
    let (device, inode) = (metadata.dev(), metadata.ino());
    [
        i64::from_ne_bytes(device.to_ne_bytes()),
        i64::from_ne_bytes(inode.to_ne_bytes()),
        metadata.ctime(),
        metadata.ctime_nsec(),
    ]
}

#[cfg(not(unix))]
fn identity(_: &Metadata) -> [i64; 4] {
    [0; 4]
}

/// The files one load read, each stamped just *before* it was read: a change while reading
/// shows at the next check.
#[derive(Debug, Default)]
pub(super) struct Files {
    stamps: Vec<(PathBuf, Option<Stamp>)>,
}

impl Files {
    /// Reads `path`, remembering its stamp (also when reading fails).
    pub(super) fn read(&mut self, path: &Path) -> std::io::Result<Vec<u8>> {
        self.stamps.push((path.to_owned(), Stamp::of(path)));
        std::fs::read(path)
    }

    /// Whether every file is as it was when read (a few `stat` calls).
    pub(super) fn unchanged(&self) -> bool {
        self.stamps
            .iter()
            .all(|(path, stamp)| Stamp::of(path) == *stamp)
    }
}
