//! Attribute keywords, so a typo here is a compile error in this crate.

pub(crate) const METRICS: &str = "metrics";
pub(crate) const METRIC: &str = "metric";
pub(crate) const LABEL: &str = "label";

pub(crate) const PREFIX: &str = "prefix";
pub(crate) const CONST_LABELS: &str = "const_labels";
pub(crate) const CRATE: &str = "crate";
pub(crate) const NO_GLOBAL: &str = "no_global";

pub(crate) const NAME: &str = "name";
pub(crate) const HELP: &str = "help";
pub(crate) const UNIT: &str = "unit";
pub(crate) const BUCKETS: &str = "buckets";
pub(crate) const SKIP: &str = "skip";
pub(crate) const MAX_SERIES: &str = "max_series";
pub(crate) const PREINIT: &str = "preinit";
pub(crate) const EXPIRE_AFTER: &str = "expire_after";

pub(crate) const RENAME: &str = "rename";
pub(crate) const BORROWED: &str = "borrowed";

pub(crate) const CONTAINER_KEYS: &[&str] = &[PREFIX, CONST_LABELS, NO_GLOBAL, CRATE];
pub(crate) const FIELD_KEYS: &[&str] = &[
    NAME,
    HELP,
    UNIT,
    BUCKETS,
    MAX_SERIES,
    PREINIT,
    EXPIRE_AFTER,
    SKIP,
];
pub(crate) const LABEL_FIELD_KEYS: &[&str] = &[NAME];
pub(crate) const LABEL_VARIANT_KEYS: &[&str] = &[RENAME];
pub(crate) const LABEL_CONTAINER_KEYS: &[&str] = &[CRATE];
pub(crate) const LABEL_SET_CONTAINER_KEYS: &[&str] = &[CRATE, BORROWED];
