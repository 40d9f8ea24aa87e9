#[promexport::instrument]
const LIMIT: u8 = 3;

fn main() {
    let _ = LIMIT;
}
