#[promexport::instrument(name = "checkout", prefix = "shop")]
fn handler() {}

#[promexport::instrument(name = "")]
fn other() {}

fn main() {
    handler();
    other();
}
