//! `Accept` header → exposition format: never panics, OpenMetrics or protobuf only when the
//! client names it, and a range the client refuses (`q=0`) is never chosen.
#![no_main]

use libfuzzer_sys::fuzz_target;
use promexport::Format;

fuzz_target!(|data: &[u8]| {
    let Ok(accept) = std::str::from_utf8(data) else {
        return;
    };
    let format = Format::from_accept(accept);
    let lowercase = accept.to_ascii_lowercase();
    if !lowercase.contains("application/openmetrics-text") {
        assert_ne!(format, Format::OpenMetrics, "{accept:?}");
    }
    if !lowercase.contains("application/vnd.google.protobuf") {
        assert_ne!(format, Format::Protobuf, "{accept:?}");
    }
    let refusing = format!("{accept},application/openmetrics-text;version=1.0.0;q=0");
    assert_eq!(Format::from_accept(&refusing), format, "{refusing:?}");
});
