//! Not public API, and without semver guarantee: the parsers of untrusted input, for the fuzz
//! targets in `fuzz/` (feature `fuzzing`). Each function is a thin wrapper of the code the
//! server runs on a scrape or at start-up.

use crate::{Encoder, Error, FamilyEncoder, MetricKind, WebConfig};
use std::path::PathBuf;
use std::time::Duration;

/// Whether an `Accept-Encoding` header value lets the response be gzip-compressed.
pub fn accepts_gzip(accept_encoding: &str) -> bool {
    crate::serve::accepts_gzip(accept_encoding)
}

/// The metric names a scrape's query string selects (`name[]=...`), percent-decoded.
pub fn selected_names(query: &str) -> Vec<String> {
    crate::serve::selected_names(query)
}

/// The time scrape-time collectors get for a `X-Prometheus-Scrape-Timeout-Seconds` value.
pub fn collection_timeout(header: &str) -> Option<Duration> {
    crate::collector::collection_timeout(header)
}

/// The (user, password) of an `Authorization: Basic ...` header value.
pub fn decode_basic(authorization: &str) -> Option<(String, String)> {
    crate::serve::decode_basic(authorization)
}

/// Loads a web config file holding `text`, as `WebConfig::load` does at start-up: written to a
/// file of this process (relative paths in it are relative to the temporary directory).
pub fn load_web_config(text: &str) -> Result<WebConfig, Error> {
    let path = web_config_path();
    std::fs::write(&path, text).map_err(|e| Error::WebConfig(e.to_string()))?;
    WebConfig::load(&path)
}

fn web_config_path() -> PathBuf {
    static PATH: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    PATH.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("promexport-fuzz-{}", std::process::id()));
        // A failure shows in `load_web_config`, as an error writing the file.
        let _ = std::fs::create_dir_all(&dir);
        dir.join("web.yml")
    })
    .clone()
}

/// Starts a family as `Encoder::family` does, with a HELP text that need not be `'static`.
pub fn family<'e>(
    encoder: &'e mut Encoder<'_>,
    name: &'e str,
    help: &'e str,
    kind: MetricKind,
) -> FamilyEncoder<'e> {
    encoder.family_parts(name, help, None, kind, "")
}
