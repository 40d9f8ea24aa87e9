#[promexport::instrument(labels(team = "a", tier = "1", team = "b"))]
fn handler() {}

fn main() {
    handler();
}
