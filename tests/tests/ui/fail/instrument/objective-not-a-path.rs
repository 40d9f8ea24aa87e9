// The objective is a `const Objective`, not its name.
#[promexport::instrument(objective = "api")]
fn handler() {}

fn main() {
    handler();
}
