//! `Accept` header → exposition format: never panics, OpenMetrics only when the client names
//! it, and a range the client refuses (`q=0`) is never chosen.
#![no_main]

use libfuzzer_sys::fuzz_target;
use promexport::Format;

fuzz_target!(|data: &[u8]| {
    let Ok(accept) = std::str::from_utf8(data) else {
        return;
    };
    let format = Format::from_accept(accept);
    if !accept
        .to_ascii_lowercase()
        .contains("application/openmetrics-text")
    {
        assert_eq!(format, Format::Text, "{accept:?}");
    }
    let refusing = format!("{accept},application/openmetrics-text;version=1.0.0;q=0");
    assert_eq!(Format::from_accept(&refusing), format, "{refusing:?}");
});
