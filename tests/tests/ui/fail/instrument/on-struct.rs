#[promexport::instrument]
struct NotAFunction {
    field: u8,
}

fn main() {
    let _ = NotAFunction { field: 1 }.field;
}
