#[promexport::instrument(buckets = [0.5, 0.1])]
fn handler() {}

#[promexport::instrument(buckets = [])]
fn other() {}

fn main() {
    handler();
    other();
}
