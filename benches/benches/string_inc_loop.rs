//! A loop of increments of one existing series with two string labels, for instruction counts
//! under callgrind (stable where criterion's times are not): `string_inc_loop <iterations>
//! [get|with]`; run it with 0 and with N iterations, and divide the difference by N (see
//! `benches/README.md`). Without `with` (`Family::with`) it builds against older promexport.

use promexport::{Counter, Family, LabelSet};
use std::hint::black_box;

#[derive(Clone, Debug, PartialEq, Eq, Hash, LabelSet)]
struct StringLabels {
    method: String,
    path: String,
}

fn main() {
    let iterations: u64 = std::env::args()
        .nth(1)
        .and_then(|arg| arg.parse().ok())
        .unwrap_or(0);
    let family: Family<StringLabels, Counter> = Family::default();
    let labels = StringLabels {
        method: "get".to_owned(),
        path: "/api/v1/items/42".to_owned(),
    };
    family.get(&labels).inc();
    if std::env::args().nth(2).as_deref() == Some("with") {
        for _ in 0..iterations {
            family.with(black_box(&labels), Counter::inc);
        }
    } else {
        for _ in 0..iterations {
            family.get(black_box(&labels)).inc();
        }
    }
    assert_eq!(family.get(&labels).get(), iterations + 1);
}
