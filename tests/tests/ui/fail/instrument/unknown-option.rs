#[promexport::instrument(objective = "api", name = "x")]
fn handler() {}

fn main() {
    handler();
}
