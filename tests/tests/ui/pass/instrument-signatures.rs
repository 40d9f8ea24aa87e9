//! `#[promexport::instrument]` keeps every kind of signature compiling unchanged.

use std::fmt::Display;

/// Doc comments stay on the function.
#[promexport::instrument]
fn first<'a>(words: &'a str) -> &'a str {
    words.split(' ').next().unwrap_or_default()
}

#[promexport::instrument]
fn largest<T>(items: &[T]) -> Option<&T>
where
    T: PartialOrd,
{
    #![allow(clippy::needless_lifetimes)]
    items.iter().fold(None, |max, x| match max {
        Some(m) if m >= x => Some(m),
        _ => Some(x),
    })
}

#[promexport::instrument]
fn evens(limit: u32) -> impl Iterator<Item = u32> {
    (0..limit).filter(|n| n % 2 == 0)
}

#[promexport::instrument]
fn swap((a, b): (u8, u8), mut count: u32) -> (u8, u8) {
    count += 1;
    let _ = count;
    (b, a)
}

/// # Safety
/// `pointer` must be valid.
#[promexport::instrument]
unsafe fn read(pointer: *const u8) -> u8 {
    // SAFETY: the caller's contract.
    unsafe { *pointer }
}

#[promexport::instrument]
async fn length(text: &str) -> usize {
    text.len()
}

#[promexport::instrument]
async fn describe(value: u8) -> impl Display {
    value
}

#[promexport::instrument]
fn never_returns_normally() -> Result<(), String> {
    return Err("always".into());
}

trait Shape {
    fn area(&self) -> f64;
    fn name(&self) -> &str;
}

struct Square(f64);

#[promexport::instrument]
impl Shape for Square {
    fn area(&self) -> f64 {
        self.0 * self.0
    }

    fn name(&self) -> &str {
        "square"
    }
}

#[promexport::instrument]
impl Square {
    fn new(side: f64) -> Self {
        Self(side)
    }

    async fn grow(&mut self) -> &mut Self {
        self.0 += 1.0;
        self
    }
}

mod slo {
    use promexport::{Objective, ObjectiveLatency, ObjectivePercentile};

    pub const API: Objective = Objective::new("api")
        .success_rate(ObjectivePercentile::P99_9)
        .latency(ObjectiveLatency::Ms250, ObjectivePercentile::P99);
}

/// An objective from another module, with buckets that hold its threshold.
#[promexport::instrument(objective = slo::API, buckets = [0.1, 0.25, 1.0])]
async fn fetch(id: u32) -> Result<u32, String> {
    Ok(id)
}

fn assert_send<T: Send>(_: T) {}

fn main() {
    assert_eq!(first("a b"), "a");
    assert_eq!(largest(&[1, 3, 2]), Some(&3));
    assert_eq!(evens(5).count(), 3);
    assert_eq!(swap((1, 2), 0), (2, 1));
    let byte = 7;
    // SAFETY: `byte` is a valid u8.
    assert_eq!(unsafe { read(&byte) }, 7);
    assert!(never_returns_normally().is_err());
    let mut square = Square::new(2.0);
    assert_eq!(square.area(), 4.0);
    assert_eq!(square.name(), "square");
    assert_send(length("abc"));
    assert_send(describe(1));
    assert_send(square.grow());
    assert_send(fetch(1));
}
