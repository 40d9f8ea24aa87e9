//! The number types counters and gauges hold, stored in one `AtomicU64` each.

use crate::encoding::Value;
use std::sync::atomic::{AtomicU64, Ordering};

mod sealed {
    pub trait Sealed {}
    impl Sealed for u64 {}
    impl Sealed for i64 {}
    impl Sealed for f64 {}
}

/// A number stored in an `AtomicU64`.
pub trait AtomicNumber: sealed::Sealed + Copy + Send + Sync + 'static {
    #[doc(hidden)]
    fn to_bits(self) -> u64;
    #[doc(hidden)]
    fn from_bits(bits: u64) -> Self;
    #[doc(hidden)]
    fn add(cell: &AtomicU64, delta: Self);
    #[doc(hidden)]
    fn value(self) -> Value;
}

/// The value of a [`Counter`](crate::Counter): `u64` (the default) or `f64`.
pub trait CounterValue: AtomicNumber {
    #[doc(hidden)]
    const ONE: Self;
    #[doc(hidden)]
    fn is_increment(self) -> bool;
}

/// The value of a [`Gauge`](crate::Gauge): `i64` (the default), `u64` or `f64`.
pub trait GaugeValue: AtomicNumber {
    #[doc(hidden)]
    const ONE: Self;
    #[doc(hidden)]
    fn sub(cell: &AtomicU64, delta: Self);
}

fn add_f64(cell: &AtomicU64, delta: f64) {
    // A CAS loop: there is no atomic float add; contention only makes it retry.
    let mut current = cell.load(Ordering::Relaxed);
    loop {
        let next = (f64::from_bits(current) + delta).to_bits();
        match cell.compare_exchange_weak(current, next, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return,
            Err(actual) => current = actual,
        }
    }
}

impl AtomicNumber for u64 {
    fn to_bits(self) -> u64 {
        self
    }
    fn from_bits(bits: u64) -> Self {
        bits
    }
    fn add(cell: &AtomicU64, delta: Self) {
        cell.fetch_add(delta, Ordering::Relaxed);
    }
    fn value(self) -> Value {
        Value::U64(self)
    }
}

impl AtomicNumber for i64 {
    fn to_bits(self) -> u64 {
        self as u64
    }
    fn from_bits(bits: u64) -> Self {
        bits as i64
    }
    fn add(cell: &AtomicU64, delta: Self) {
        // Two's complement: adding the bit pattern of a negative i64 subtracts.
        cell.fetch_add(delta as u64, Ordering::Relaxed);
    }
    fn value(self) -> Value {
        Value::I64(self)
    }
}

impl AtomicNumber for f64 {
    fn to_bits(self) -> u64 {
        f64::to_bits(self)
    }
    fn from_bits(bits: u64) -> Self {
        f64::from_bits(bits)
    }
    fn add(cell: &AtomicU64, delta: Self) {
        add_f64(cell, delta);
    }
    fn value(self) -> Value {
        Value::F64(self)
    }
}

impl CounterValue for u64 {
    const ONE: Self = 1;
    fn is_increment(self) -> bool {
        true
    }
}

impl CounterValue for f64 {
    const ONE: Self = 1.0;
    fn is_increment(self) -> bool {
        self >= 0.0 && self.is_finite()
    }
}

impl GaugeValue for i64 {
    const ONE: Self = 1;
    fn sub(cell: &AtomicU64, delta: Self) {
        cell.fetch_sub(delta as u64, Ordering::Relaxed);
    }
}

/// Wraps around below zero, as `AtomicU64::fetch_sub` does: modular arithmetic keeps concurrent
/// `inc`s and `dec`s exact in any order, where saturating at zero would lose some.
impl GaugeValue for u64 {
    const ONE: Self = 1;
    fn sub(cell: &AtomicU64, delta: Self) {
        cell.fetch_sub(delta, Ordering::Relaxed);
    }
}

impl GaugeValue for f64 {
    const ONE: Self = 1.0;
    fn sub(cell: &AtomicU64, delta: Self) {
        add_f64(cell, -delta);
    }
}
