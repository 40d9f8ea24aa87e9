// A type error in the body points at the user's code, not at the attribute.
#[promexport::instrument]
fn count() -> u32 {
    "not a number"
}

#[promexport::instrument]
async fn count_async() -> u32 {
    "not a number"
}

fn main() {
    let _ = count();
    let _ = count_async();
}
