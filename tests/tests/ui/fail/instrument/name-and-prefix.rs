#[promexport::instrument(name = "checkout", prefix = "shop")]
fn handler() {}

#[promexport::instrument(name = "Check-Out")]
fn other() {}

fn main() {
    handler();
    other();
}
