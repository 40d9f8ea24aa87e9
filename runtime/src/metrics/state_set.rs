use super::{MetricConfig, MetricKind, Series};
use crate::encoding::{FamilyEncoder, LabelValueEncoder};
use crate::labels::LabelValue;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicUsize, Ordering};

/// One series per variant of a closed [`LabelValue`] enum, the current one at 1, the others at 0.
///
/// The label is named after the metric, as OpenMetrics requires: a field `health` of
/// `#[metrics(prefix = "app")]` serves `app_health{app_health="healthy"} 1`. OpenMetrics type
/// `stateset`; a gauge in text 0.0.4. Until [`set`](Self::set) is called no state is active.
///
/// ```
/// use promexport::{LabelValue, StateSet};
/// #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelValue)]
/// enum Health { Healthy, Unhealthy }
///
/// let health: StateSet<Health> = StateSet::default();
/// assert_eq!(health.get(), None);
/// health.set(Health::Unhealthy);
/// assert_eq!(health.get(), Some(Health::Unhealthy));
/// ```
pub struct StateSet<E: LabelValue> {
    /// Index of the active variant; `usize::MAX` when none is.
    active: AtomicUsize,
    states: PhantomData<fn() -> E>,
}

const NONE_ACTIVE: usize = usize::MAX;

impl<E: LabelValue> StateSet<E> {
    /// The number of states. Evaluated wherever a `StateSet<E>` is created, so an open `E`
    /// (`String`, integers), whose states cannot be listed and would serve no sample, is a
    /// compile error rather than an empty family.
    const STATES: usize = match E::CARDINALITY {
        Some(states) => states,
        None => panic!(
            "`StateSet<E>` needs a closed `E` (a `#[derive(LabelValue)]` enum or `bool`) whose states can be listed; for an open value, use `Family<L, Gauge>` or `Info<L>`"
        ),
    };

    /// Makes `state` the active one.
    #[inline]
    pub fn set(&self, state: E) {
        self.active.store(state.index(), Ordering::Relaxed);
    }

    /// Deactivates every state.
    pub fn clear(&self) {
        self.active.store(NONE_ACTIVE, Ordering::Relaxed);
    }

    /// The active state, if any.
    pub fn get(&self) -> Option<E> {
        E::from_index(self.active.load(Ordering::Relaxed))
    }
}

impl<E: LabelValue> Default for StateSet<E> {
    fn default() -> Self {
        // Makes an open `E` a compile error here (see `STATES`).
        let _ = Self::STATES;
        StateSet {
            active: AtomicUsize::new(NONE_ACTIVE),
            states: PhantomData,
        }
    }
}

impl<E: LabelValue> std::fmt::Debug for StateSet<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StateSet")
            .field("active", &self.active.load(Ordering::Relaxed))
            .finish()
    }
}

impl<E: LabelValue + 'static> Series for StateSet<E> {
    const KIND: MetricKind = MetricKind::StateSet;
    fn new(_: &MetricConfig) -> Self {
        Self::default()
    }
    fn encode(&self, family: &mut FamilyEncoder<'_>, labels: &str) {
        let active = self.active.load(Ordering::Relaxed);
        let mut state_text = String::new();
        for index in 0..Self::STATES {
            let Some(state) = E::from_index(index) else {
                continue;
            };
            state_text.clear();
            state.encode(&mut LabelValueEncoder::raw(&mut state_text));
            family.state(labels, &state_text, index == active);
        }
    }
}
