//! `X-Prometheus-Scrape-Timeout-Seconds` → the collectors' time: never panics, a positive
//! number of seconds always gives a time within the documented bounds, anything else none.
#![no_main]

use libfuzzer_sys::fuzz_target;
use promexport::__fuzz::collection_timeout;
use std::time::Duration;

fuzz_target!(|data: &[u8]| {
    let Ok(header) = std::str::from_utf8(data) else {
        return;
    };
    let positive = header.trim().parse::<f64>().is_ok_and(|s| s > 0.0);
    match collection_timeout(header) {
        Some(timeout) => {
            assert!(positive, "{header:?}");
            // 100 ms..1 h announced, less the 0.5 s offset (or half of very short ones).
            assert!(
                timeout >= Duration::from_millis(50),
                "{header:?}: {timeout:?}"
            );
            assert!(
                timeout <= Duration::from_millis(3_599_500),
                "{header:?}: {timeout:?}"
            );
        }
        None => assert!(!positive, "{header:?}"),
    }
});
