//! `Accept-Encoding` → gzip or not: never panics, and an explicit `gzip` first always wins.
#![no_main]

use libfuzzer_sys::fuzz_target;
use promexport::__fuzz::accepts_gzip;

fuzz_target!(|data: &[u8]| {
    let Ok(accept_encoding) = std::str::from_utf8(data) else {
        return;
    };
    let gzip = accepts_gzip(accept_encoding);
    assert!(accepts_gzip(&format!("gzip,{accept_encoding}")));
    // A coding refused with q=0 adds nothing.
    assert_eq!(accepts_gzip(&format!("br;q=0,{accept_encoding}")), gzip);
});
