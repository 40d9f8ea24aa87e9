#[promexport::instrument(native(factor = 0.5, min_reset = "soon"))]
fn handler() {}

fn main() {
    handler();
}
