//! A web config file → a `WebConfig` or an error naming the file and line: never panics, hangs
//! or runs bcrypt at load, whatever the file holds.
#![no_main]

use libfuzzer_sys::fuzz_target;
use promexport::__fuzz::load_web_config;
use promexport::Error;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match load_web_config(text) {
        Ok(_) => {}
        Err(Error::WebConfig(message)) => assert!(message.contains("web.yml"), "{message}"),
        Err(other) => panic!("not a web config error: {other}"),
    }
});
