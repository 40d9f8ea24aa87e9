const LATENCY: f64 = 0.25;

#[promexport::instrument(objective = LATENCY)]
fn work() {}

fn main() {
    work();
}
