fn good(_: &u8) -> bool {
    true
}

#[promexport::instrument(ok_if = good, error_if = good)]
fn handler() -> u8 {
    1
}

fn main() {
    handler();
}
