use promexport::Objective;

const NOTHING: Objective = Objective::new("nothing");

#[promexport::instrument(objective = NOTHING)]
fn work() {}

fn main() {
    work();
}
