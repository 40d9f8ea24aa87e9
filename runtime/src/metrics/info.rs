use super::{Metric, MetricConfig, MetricKind};
use crate::encoding::FamilyEncoder;
use crate::labels::{LabelSet, encode_label_set};
use std::marker::PhantomData;
use std::sync::{PoisonError, RwLock};

/// Labels describing the target: one sample `<name>_info{...} 1`.
///
/// OpenMetrics type `info`; a gauge named `<name>_info` in text 0.0.4. Nothing is served until
/// [`set`](Self::set) gives the labels.
///
/// ```
/// use promexport::{Info, LabelSet};
/// #[derive(Clone, PartialEq, Eq, Hash, LabelSet)]
/// struct Version { version: String, commit: &'static str }
///
/// let build: Info<Version> = Info::default();
/// build.set(Version { version: "1.2.3".into(), commit: "abc123" });
/// assert!(build.is_set());
/// ```
pub struct Info<L: LabelSet> {
    labels: RwLock<Option<Box<str>>>,
    label_set: PhantomData<fn() -> L>,
}

impl<L: LabelSet> Info<L> {
    /// Sets (or replaces) the labels.
    pub fn set(&self, labels: L) {
        let text = encode_label_set(&labels).into_boxed_str();
        *self.labels.write().unwrap_or_else(PoisonError::into_inner) = Some(text);
    }

    /// Whether labels have been set.
    pub fn is_set(&self) -> bool {
        self.labels
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some()
    }
}

impl<L: LabelSet> Default for Info<L> {
    fn default() -> Self {
        Info {
            labels: RwLock::new(None),
            label_set: PhantomData,
        }
    }
}

impl<L: LabelSet> std::fmt::Debug for Info<L> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let labels = self.labels.read().unwrap_or_else(PoisonError::into_inner);
        f.debug_tuple("Info").field(&labels).finish()
    }
}

impl<L: LabelSet> Metric for Info<L> {
    const KIND: MetricKind = MetricKind::Info;
    const LABEL_NAMES: &'static [&'static str] = L::NAMES;
    fn new(_: &MetricConfig) -> Self {
        Self::default()
    }
    fn encode(&self, family: &mut FamilyEncoder<'_>) {
        if let Some(labels) = &*self.labels.read().unwrap_or_else(PoisonError::into_inner) {
            family.info(&**labels);
        }
    }
}
