//! The clock of timed calls: the CPU's time stamp counter where it is invariant (x86_64: it
//! ticks at a constant rate in every power state), `std::time::Instant` elsewhere. A pair of
//! TSC reads costs a fraction of a pair of `clock_gettime` calls, and a timed call needs one.
//!
//! The TSC's rate is calibrated once against `Instant` (see [`warm_up`]); a tick count becomes
//! nanoseconds with one multiplication. Miri cannot run `cpuid` or `rdtsc`, so under Miri (and
//! on other architectures) the clock is `Instant` itself.

use std::sync::OnceLock;
use std::time::{Duration, Instant as StdInstant};

/// A point in time of this clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Instant(u64);

impl Instant {
    #[inline]
    pub(crate) fn now() -> Instant {
        #[cfg(test)]
        if let Some(now) = mock::now() {
            return Instant(now);
        }
        Instant(source().read())
    }

    /// The time since `self` (zero if the clock was read out of order across cores).
    #[inline]
    pub(crate) fn elapsed(self) -> Duration {
        let ticks = Instant::now().0.saturating_sub(self.0);
        #[cfg(test)]
        if mock::now().is_some() {
            return Duration::from_nanos(ticks);
        }
        source().nanos(ticks)
    }
}

/// Calibrates the clock (once per process) so the calibration never lands inside a timed call.
pub(crate) fn warm_up() {
    source();
}

/// How ticks are read and turned into nanoseconds.
#[derive(Debug)]
enum Source {
    /// Nanoseconds since `start`.
    Std { start: StdInstant },
    /// The TSC, whose ticks are `nanos_per_tick_q32 / 2^32` nanoseconds each.
    #[cfg(all(target_arch = "x86_64", not(miri)))]
    Tsc { nanos_per_tick_q32: u64 },
}

fn source() -> &'static Source {
    static SOURCE: OnceLock<Source> = OnceLock::new();
    SOURCE.get_or_init(|| {
        #[cfg(all(target_arch = "x86_64", not(miri)))]
        if let Some(tsc) = tsc::calibrated() {
            return tsc;
        }
        Source::Std {
            start: StdInstant::now(),
        }
    })
}

impl Source {
    #[inline]
    fn read(&self) -> u64 {
        match self {
            Source::Std { start } => u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX),
            #[cfg(all(target_arch = "x86_64", not(miri)))]
            Source::Tsc { .. } => tsc::read(),
        }
    }

    #[inline]
    fn nanos(&self, ticks: u64) -> Duration {
        match self {
            Source::Std { .. } => Duration::from_nanos(ticks),
            #[cfg(all(target_arch = "x86_64", not(miri)))]
            Source::Tsc { nanos_per_tick_q32 } => {
                let nanos = (u128::from(ticks) * u128::from(*nanos_per_tick_q32)) >> 32;
                Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
            }
        }
    }
}

#[cfg(all(target_arch = "x86_64", not(miri)))]
mod tsc {
    use super::Source;
    use core::arch::x86_64::{__cpuid, _rdtsc};
    use std::time::{Duration, Instant};

    /// How long the TSC is counted against `Instant`: 5 ms give a rate within a few parts in
    /// 10^5 (`Instant` itself reads to tens of nanoseconds).
    const CALIBRATION: Duration = Duration::from_millis(5);

    #[inline]
    pub(super) fn read() -> u64 {
        // SAFETY: `rdtsc` exists on every x86_64 CPU.
        unsafe { _rdtsc() }
    }

    /// CPUID leaf 0x8000_0007, EDX bit 8: the TSC runs at a constant rate whatever the core's
    /// frequency and sleep state (AMD and Intel both report it there).
    fn is_invariant() -> bool {
        // Leaf 0x8000_0000 says which extended leaves exist.
        let highest = __cpuid(0x8000_0000).eax;
        highest >= 0x8000_0007 && __cpuid(0x8000_0007).edx & (1 << 8) != 0
    }

    /// The TSC's rate against `Instant`, if the TSC is invariant and the rate is plausible.
    pub(super) fn calibrated() -> Option<Source> {
        if !is_invariant() {
            return None;
        }
        let (start, start_ticks) = (Instant::now(), read());
        while start.elapsed() < CALIBRATION {
            std::hint::spin_loop();
        }
        let (nanos, ticks) = (start.elapsed().as_nanos(), read().checked_sub(start_ticks)?);
        // Below 100 MHz or above 20 GHz is not a TSC worth trusting (a hypervisor's bad value).
        let rate_hz = u128::from(ticks) * 1_000_000_000 / nanos.max(1);
        if !(100_000_000..=20_000_000_000).contains(&rate_hz) {
            return None;
        }
        let nanos_per_tick_q32 = u64::try_from((nanos << 32) / u128::from(ticks)).ok()?;
        Some(Source::Tsc { nanos_per_tick_q32 })
    }
}

/// A clock the tests set and advance by hand, per thread (in nanoseconds).
#[cfg(test)]
pub(crate) mod mock {
    use std::cell::Cell;

    thread_local! {
        static NOW: Cell<Option<u64>> = const { Cell::new(None) };
    }

    pub(super) fn now() -> Option<u64> {
        NOW.with(Cell::get)
    }

    /// Runs `test` with this thread's clock stopped at 0, moved only by [`advance`].
    pub(crate) fn with_mock_clock<T>(test: impl FnOnce() -> T) -> T {
        NOW.with(|now| now.set(Some(0)));
        let result = test();
        NOW.with(|now| now.set(None));
        result
    }

    pub(crate) fn advance(by: std::time::Duration) {
        NOW.with(|now| now.set(now.get().map(|at| at + by.as_nanos() as u64)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elapsed_time_follows_the_os_clock() {
        warm_up();
        let (ours, theirs) = (Instant::now(), StdInstant::now());
        std::thread::sleep(Duration::from_millis(20));
        let (ours, theirs) = (ours.elapsed(), theirs.elapsed());
        let difference = ours.as_secs_f64() - theirs.as_secs_f64();
        assert!(difference.abs() < 0.002, "{ours:?} against {theirs:?}");
    }

    #[test]
    fn the_mock_clock_moves_only_when_advanced() {
        mock::with_mock_clock(|| {
            let start = Instant::now();
            std::thread::sleep(Duration::from_millis(2));
            assert_eq!(start.elapsed(), Duration::ZERO);
            mock::advance(Duration::from_micros(1500));
            assert_eq!(start.elapsed(), Duration::from_micros(1500));
        });
    }

    #[cfg(all(target_arch = "x86_64", not(miri)))]
    #[test]
    fn ticks_become_nanoseconds_at_the_calibrated_rate() {
        // 2^32 / 3 nanoseconds per tick: a 3 GHz TSC.
        let three_ghz = Source::Tsc {
            nanos_per_tick_q32: (1 << 32) / 3,
        };
        let second = three_ghz.nanos(3_000_000_000).as_nanos();
        assert!((999_999_990..=1_000_000_000).contains(&second), "{second}");
        assert_eq!(three_ghz.nanos(0), Duration::ZERO);
        assert_eq!(
            Source::Std {
                start: StdInstant::now()
            }
            .nanos(7),
            Duration::from_nanos(7)
        );
    }
}
