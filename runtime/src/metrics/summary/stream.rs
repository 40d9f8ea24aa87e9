//! Greenwald-Khanna quantile summaries, and rank queries over several of them at once.
//!
//! Why GK and not CKMS (client_golang's beorn7/perks): GK's invariant `g + Δ <= 2εn` gives a
//! deterministic bound on the rank of every answer, for any arrival order, and it survives a
//! query over the union of several summaries (one per age bucket), so each observation is
//! inserted into one summary instead of one per age bucket. CKMS's targeted invariant is
//! cheaper in memory for extreme quantiles but is known to exceed its bound on some orders.

/// One kept value: `g` is the rank gap to the previous kept value, `delta` the uncertainty of
/// its own rank (its rank lies in `[rmin, rmin + delta]`, `rmin` the sum of the `g`s up to it).
#[derive(Debug, Clone, Copy)]
struct Tuple {
    value: f64,
    g: u64,
    delta: u64,
}

/// A GK summary of one age bucket's observations.
#[derive(Debug)]
pub(super) struct Stream {
    tuples: Vec<Tuple>,
    /// Where the next merge is built, kept to reuse its allocation.
    scratch: Vec<Tuple>,
    count: u64,
    epsilon: f64,
}

impl Stream {
    pub(super) fn new(epsilon: f64) -> Self {
        Stream {
            tuples: Vec::new(),
            scratch: Vec::new(),
            count: 0,
            epsilon,
        }
    }

    pub(super) fn count(&self) -> u64 {
        self.count
    }

    pub(super) fn reset(&mut self) {
        self.tuples.clear();
        self.count = 0;
    }

    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.tuples.len()
    }

    /// Inserts `sorted` (ascending, no NaN) as GK inserts them one by one in that order, then
    /// compresses.
    pub(super) fn insert_sorted(&mut self, sorted: &[f64]) {
        if sorted.is_empty() {
            return;
        }
        let mut merged = std::mem::take(&mut self.scratch);
        merged.clear();
        merged.reserve(self.tuples.len() + sorted.len());
        let mut existing = self.tuples.iter().copied().peekable();
        for &value in sorted {
            while let Some(tuple) = existing.next_if(|tuple| tuple.value <= value) {
                merged.push(tuple);
            }
            // A new minimum or maximum has an exact rank; anything else is as uncertain as the
            // value it is inserted before (GK's `Δ = g + Δ - 1` of the successor).
            let delta = match existing.peek() {
                Some(successor) if !merged.is_empty() => successor.g + successor.delta - 1,
                _ => 0,
            };
            merged.push(Tuple { value, g: 1, delta });
        }
        merged.extend(existing);
        self.count += sorted.len() as u64;
        self.scratch = std::mem::replace(&mut self.tuples, merged);
        self.compress();
    }

    /// Merges each tuple into its successor where the successor's rank stays within `2εn`; the
    /// minimum and maximum are never merged away, so their ranks stay exact.
    fn compress(&mut self) {
        let threshold = (2.0 * self.epsilon * self.count as f64).floor() as u64;
        let len = self.tuples.len();
        if len < 3 || threshold < 2 {
            return;
        }
        let mut kept = std::mem::take(&mut self.scratch);
        kept.clear();
        let mut survivor = self.tuples[len - 1];
        for tuple in self.tuples[1..len - 1].iter().rev() {
            if tuple.g + survivor.g + survivor.delta <= threshold {
                survivor.g += tuple.g;
            } else {
                kept.push(survivor);
                survivor = *tuple;
            }
        }
        kept.push(survivor);
        kept.push(self.tuples[0]);
        kept.reverse();
        self.scratch = std::mem::replace(&mut self.tuples, kept);
    }
}

/// Rank bounds of one stream, ready for a sweep over candidate values.
struct Ranks<'a> {
    tuples: &'a [Tuple],
    /// `rmin` of each tuple.
    rmin: Vec<u64>,
    count: u64,
    /// How many tuples have a value `< x`, for the current candidate `x`.
    below: usize,
}

/// For each `(quantile, _)` of `objectives` (sorted by quantile), the value whose rank in the
/// union of `streams` is within `max(ε·n, 1)` of `quantile·n`, `n` the union's count; NaN for
/// every quantile when the union is empty.
///
/// A value `x` qualifies when `L(x) >= r - εn` and `U(x) <= r + εn`, where `L(x)` is a lower
/// bound on the number of observations `<= x` and `U(x)` an upper bound on one more than the
/// number `< x` (each summed over the streams from their tuples' rank bounds): the ranks of the
/// observations equal to `x` then meet `[r - εn, r + εn]`. Between two neighbouring candidates
/// `x < y`, `U(y) - L(x) <= max(2εn, 1)` by the GK invariant of each stream, so the last
/// candidate with `U <= r + εn` qualifies.
pub(super) fn query(streams: &[Stream], quantiles: &[f64], epsilon: f64, out: &mut Vec<f64>) {
    out.clear();
    let total: u64 = streams.iter().map(Stream::count).sum();
    if total == 0 {
        out.extend(quantiles.iter().map(|_| f64::NAN));
        return;
    }
    let mut ranks: Vec<Ranks<'_>> = streams
        .iter()
        .filter(|stream| stream.count > 0)
        .map(|stream| {
            let mut running = 0;
            Ranks {
                tuples: &stream.tuples,
                rmin: stream
                    .tuples
                    .iter()
                    .map(|tuple| {
                        running += tuple.g;
                        running
                    })
                    .collect(),
                count: stream.count,
                below: 0,
            }
        })
        .collect();
    let mut candidates: Vec<f64> = ranks
        .iter()
        .flat_map(|stream| stream.tuples.iter().map(|tuple| tuple.value))
        .collect();
    candidates.sort_unstable_by(f64::total_cmp);
    candidates.dedup();

    let n = total as f64;
    // Below one rank of error the streams are exact (nothing is merged before `2εn >= 2`), and
    // half a rank picks the nearest one.
    let allowance = (epsilon * n).max(0.5);
    let mut candidate = 0;
    for &quantile in quantiles {
        let highest = (quantile * n + allowance).max(1.0);
        // Candidates only move forward: quantiles are sorted, and `U` grows with `x`.
        while let Some(&next) = candidates.get(candidate + 1) {
            if upper_rank(&mut ranks, next) as f64 > highest {
                break;
            }
            candidate += 1;
        }
        out.push(candidates[candidate]);
    }
}

/// `U(x)`: one more than an upper bound of the number of observations `< x` (moving each
/// stream's pointers forward to `x`).
fn upper_rank(ranks: &mut [Ranks<'_>], x: f64) -> u64 {
    let mut bound = 1;
    for stream in ranks {
        while stream
            .tuples
            .get(stream.below)
            .is_some_and(|tuple| tuple.value < x)
        {
            stream.below += 1;
        }
        bound += match stream.tuples.get(stream.below) {
            Some(first_not_below) => stream.rmin[stream.below] + first_not_below.delta - 1,
            None => stream.count,
        };
    }
    bound
}
