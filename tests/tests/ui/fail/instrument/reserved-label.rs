#[promexport::instrument(labels(result = "x"))]
fn handler() {}

#[promexport::instrument(labels(__team = "x"))]
fn other() {}

fn main() {
    handler();
    other();
}
