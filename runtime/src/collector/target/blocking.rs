//! The threads of [`Collector::blocking`](crate::Collector::blocking) collections: a thread
//! cannot be stopped, so each is accounted for until it returns, even if the task that waited
//! for it is gone (its runtime shut down).

use crate::metrics::Gauge;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};

/// A collector's blocking threads.
#[derive(Debug, Default)]
pub(super) struct BlockingThreads {
    /// Threads inside the collector's closure.
    running: AtomicUsize,
    /// Of those, the ones whose collection timed out: `<prefix>_collections_abandoned`.
    pub(super) abandoned: Gauge,
}

/// One collection's thread, seen by the collection's task and by the thread.
#[derive(Debug, Default)]
pub(super) struct Thread {
    phase: Mutex<Phase>,
}

#[derive(Debug, Default)]
struct Phase {
    running: bool,
    abandoned: bool,
}

impl BlockingThreads {
    /// Whether a thread of this collector is still inside its closure.
    pub(super) fn any_running(&self) -> bool {
        self.running.load(Ordering::Acquire) > 0
    }

    /// Runs `collect` on the current thread as `thread`.
    pub(super) fn run<T>(&self, thread: &Thread, collect: impl FnOnce() -> T) -> T {
        self.update(thread, |phase| phase.running = true);
        // Also when `collect` panics.
        let _returned = Returned(self, thread);
        collect()
    }

    /// Gives up on `thread`'s collection: counted as abandoned while its thread runs.
    pub(super) fn abandon(&self, thread: &Thread) {
        self.update(thread, |phase| phase.abandoned = true);
    }

    /// Changes `thread`'s phase and the counts with it.
    fn update(&self, thread: &Thread, change: impl FnOnce(&mut Phase)) {
        let mut phase = thread.phase.lock().unwrap_or_else(PoisonError::into_inner);
        let before = (phase.running, phase.running && phase.abandoned);
        change(&mut phase);
        let after = (phase.running, phase.running && phase.abandoned);
        match (before.0, after.0) {
            (false, true) => {
                self.running.fetch_add(1, Ordering::AcqRel);
            }
            (true, false) => {
                self.running.fetch_sub(1, Ordering::AcqRel);
            }
            _ => {}
        }
        match (before.1, after.1) {
            (false, true) => self.abandoned.inc(),
            (true, false) => self.abandoned.dec(),
            _ => {}
        }
    }
}

struct Returned<'a>(&'a BlockingThreads, &'a Thread);

impl Drop for Returned<'_> {
    fn drop(&mut self) {
        self.0.update(self.1, |phase| phase.running = false);
    }
}

#[cfg(test)]
mod tests {
    use super::{BlockingThreads, Thread};

    #[test]
    fn a_thread_is_abandoned_only_while_it_runs() {
        let threads = BlockingThreads::default();
        let early = Thread::default();
        // Timed out before its thread started: counted once the thread starts.
        threads.abandon(&early);
        assert_eq!(threads.abandoned.get(), 0);
        threads.run(&early, || {
            assert!(threads.any_running());
            assert_eq!(threads.abandoned.get(), 1);
        });
        assert!(!threads.any_running());
        assert_eq!(threads.abandoned.get(), 0);
        let late = Thread::default();
        threads.run(&late, || {
            assert_eq!(threads.abandoned.get(), 0);
            threads.abandon(&late);
            threads.abandon(&late);
            assert_eq!(threads.abandoned.get(), 1, "abandoned once");
        });
        assert_eq!(threads.abandoned.get(), 0);
    }

    #[test]
    fn a_panicking_thread_is_accounted_for() {
        let threads = BlockingThreads::default();
        let thread = Thread::default();
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            threads.run(&thread, || {
                threads.abandon(&thread);
                panic!("the collector's own bug")
            })
        }));
        assert!(panicked.is_err());
        assert!(!threads.any_running());
        assert_eq!(threads.abandoned.get(), 0);
    }
}
