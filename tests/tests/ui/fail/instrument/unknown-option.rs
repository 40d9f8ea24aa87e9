#[promexport::instrument(sample_rate = 0.5, name = "x")]
fn handler() {}

fn main() {
    handler();
}
