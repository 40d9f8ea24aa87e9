//! The exemplars of a native histogram: up to `max` observations with their labels, kept spread
//! over the range of values (client_golang's `nativeExemplars.addExemplar`, today's version).

use crate::Exemplar;
use std::time::Duration;

pub(super) struct NativeExemplars {
    max: usize,
    ttl: f64,
    /// Sorted by value.
    kept: Vec<Exemplar>,
}

impl NativeExemplars {
    pub(super) fn new(max: usize, ttl: Duration) -> Self {
        NativeExemplars {
            max,
            ttl: ttl.as_secs_f64(),
            kept: Vec::new(),
        }
    }

    pub(super) fn kept(&self) -> &[Exemplar] {
        &self.kept
    }

    /// Keeps `new`: inserted in value order while there is room; then it replaces the oldest
    /// exemplar if that one is older than the TTL, else the older of the closest pair (on a log
    /// scale), unless `new` itself would make a closer pair with a neighbour, which it replaces.
    pub(super) fn add(&mut self, new: Exemplar) {
        let value = new.value();
        if self.max == 0 {
            return;
        }
        if self.kept.len() < self.max {
            let at = self
                .kept
                .iter()
                .position(|kept| value < kept.value())
                .unwrap_or(self.kept.len());
            self.kept.insert(at, new);
            return;
        }
        if self.kept.len() == 1 {
            self.kept[0] = new;
            return;
        }
        let mut oldest: Option<(usize, f64)> = None;
        let mut closest = -1.0;
        let mut insert_at = None;
        let mut replace = 0;
        let mut current_log = 0.0;
        for (index, kept) in self.kept.iter().enumerate() {
            if oldest.is_none_or(|(_, time)| kept.timestamp() < time) {
                oldest = Some((index, kept.timestamp()));
            }
            if insert_at.is_none() && value <= kept.value() {
                insert_at = Some(index);
            }
            let previous_log = current_log;
            current_log = kept.value().ln();
            if index == 0 {
                continue;
            }
            let distance = (current_log - previous_log).abs();
            // As Go: `md == -1 || diff < md`, NaN distances (of negative values) never win.
            if closest == -1.0 || distance < closest {
                closest = distance;
                replace = if kept.timestamp() < self.kept[index - 1].timestamp() {
                    index
                } else {
                    index - 1
                };
            }
        }
        let insert_at = insert_at.unwrap_or(self.kept.len());
        match oldest {
            Some((index, time)) if new.timestamp() - time > self.ttl => replace = index,
            _ => {
                let new_log = value.ln();
                if insert_at > 0 {
                    let distance = (new_log - self.kept[insert_at - 1].value().ln()).abs();
                    if distance < closest {
                        closest = distance;
                        replace = insert_at - 1;
                    }
                }
                if insert_at < self.kept.len() {
                    let distance = (self.kept[insert_at].value().ln() - new_log).abs();
                    if distance < closest {
                        replace = insert_at;
                    }
                }
            }
        }
        if replace == insert_at {
            self.kept[insert_at] = new;
        } else {
            self.kept.remove(replace);
            let at = if replace < insert_at {
                insert_at - 1
            } else {
                insert_at
            };
            self.kept.insert(at, new);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(value: f64, timestamp: f64) -> Exemplar {
        Exemplar::at(&[("trace_id", "t")], value, timestamp).expect("valid labels")
    }

    fn values(exemplars: &NativeExemplars) -> Vec<f64> {
        exemplars.kept().iter().map(Exemplar::value).collect()
    }

    #[test]
    fn keeps_them_sorted_until_full() {
        let mut exemplars = NativeExemplars::new(3, Duration::from_secs(300));
        for value in [5.0, 1.0, 3.0] {
            exemplars.add(at(value, 100.0));
        }
        assert_eq!(values(&exemplars), [1.0, 3.0, 5.0]);
    }

    #[test]
    fn an_expired_exemplar_makes_room() {
        let mut exemplars = NativeExemplars::new(3, Duration::from_secs(10));
        exemplars.add(at(1.0, 100.0));
        exemplars.add(at(10.0, 50.0));
        exemplars.add(at(100.0, 100.0));
        exemplars.add(at(2.0, 100.0));
        assert_eq!(values(&exemplars), [1.0, 2.0, 100.0], "10 expired");
    }

    #[test]
    fn the_older_of_the_closest_pair_goes() {
        let mut exemplars = NativeExemplars::new(3, Duration::from_secs(300));
        exemplars.add(at(1.0, 100.0));
        exemplars.add(at(1.1, 90.0));
        exemplars.add(at(100.0, 100.0));
        exemplars.add(at(20.0, 101.0));
        assert_eq!(
            values(&exemplars),
            [1.0, 20.0, 100.0],
            "1.1 was older than 1"
        );
        exemplars.add(at(21.0, 102.0));
        assert_eq!(values(&exemplars), [1.0, 21.0, 100.0], "21 would crowd 20");
    }

    #[test]
    fn none_are_kept_when_disabled() {
        let mut exemplars = NativeExemplars::new(0, Duration::from_secs(300));
        exemplars.add(at(1.0, 100.0));
        assert!(exemplars.kept().is_empty());
    }
}
