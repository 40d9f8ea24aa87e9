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
pub(crate) const NATIVE: &str = "native";

pub(crate) const FACTOR: &str = "factor";
pub(crate) const ZERO_THRESHOLD: &str = "zero_threshold";
pub(crate) const MAX_BUCKETS: &str = "max_buckets";
pub(crate) const MIN_RESET: &str = "min_reset";
pub(crate) const MAX_ZERO_THRESHOLD: &str = "max_zero_threshold";
pub(crate) const MAX_EXEMPLARS: &str = "max_exemplars";
pub(crate) const EXEMPLAR_TTL: &str = "exemplar_ttl";
pub(crate) const QUANTILES: &str = "quantiles";
pub(crate) const MAX_AGE: &str = "max_age";
pub(crate) const AGE_BUCKETS: &str = "age_buckets";
pub(crate) const BUF_CAP: &str = "buf_cap";
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
    NATIVE,
    QUANTILES,
    MAX_AGE,
    AGE_BUCKETS,
    BUF_CAP,
    EXPIRE_AFTER,
    SKIP,
];
pub(crate) const NATIVE_KEYS: &[&str] = &[
    FACTOR,
    ZERO_THRESHOLD,
    MAX_BUCKETS,
    MIN_RESET,
    MAX_ZERO_THRESHOLD,
    MAX_EXEMPLARS,
    EXEMPLAR_TTL,
];
pub(crate) const LABEL_FIELD_KEYS: &[&str] = &[NAME];
pub(crate) const LABEL_VARIANT_KEYS: &[&str] = &[RENAME];
pub(crate) const LABEL_CONTAINER_KEYS: &[&str] = &[CRATE];
pub(crate) const LABEL_SET_CONTAINER_KEYS: &[&str] = &[CRATE, BORROWED];
