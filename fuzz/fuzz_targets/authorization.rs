//! `Authorization` → basic auth credentials: never panics on any header, and the credentials a
//! client encodes (RFC 7617: the user holds no `:`) come back exactly.
#![no_main]

use libfuzzer_sys::fuzz_target;
use promexport::__fuzz::decode_basic;
use promexport_fuzz::{base64, split_input};

fuzz_target!(|data: &[u8]| {
    if let Ok(header) = std::str::from_utf8(data) {
        let _ = decode_basic(header);
    }
    let [user, password] = split_input::<2>(data);
    if user.contains(':') {
        return;
    }
    let header = format!("Basic {}", base64(format!("{user}:{password}").as_bytes()));
    assert_eq!(decode_basic(&header), Some((user, password)), "{header:?}");
});
