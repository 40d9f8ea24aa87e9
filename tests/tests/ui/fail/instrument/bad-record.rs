#[promexport::instrument(record = [calls, latency])]
fn handler() {}

#[promexport::instrument(record = [])]
fn other() {}

fn main() {
    handler();
    other();
}
