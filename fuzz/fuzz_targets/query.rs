//! The query string of a scrape → the names selected by `name[]=`: never panics, and a name
//! percent-encoded by a client comes back exactly, whatever the rest of the query holds.
#![no_main]

use libfuzzer_sys::fuzz_target;
use promexport::__fuzz::selected_names;
use promexport_fuzz::{percent_encode, split_input};

fuzz_target!(|data: &[u8]| {
    let [query, name] = split_input::<2>(data);
    let selected = selected_names(&query);
    assert!(selected.len() <= query.split('&').count());
    let encoded = percent_encode(&name);
    let with_name = format!("name%5B%5D={encoded}&{query}");
    assert_eq!(
        selected_names(&with_name).first(),
        Some(&name),
        "{with_name:?}"
    );
    assert_eq!(selected_names(&format!("name[]={encoded}")), [name]);
});
