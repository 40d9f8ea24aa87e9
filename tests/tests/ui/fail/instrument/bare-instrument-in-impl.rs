// A bare `#[instrument]` is as often tracing's (`use tracing::instrument;`) as promexport's:
// inside an instrumented impl block it must be qualified.
use promexport::instrument;

struct Store;

#[promexport::instrument]
impl Store {
    #[instrument]
    fn get(&self) -> u32 {
        1
    }

    fn put(&self) {}
}

fn main() {
    Store.put();
    let _: u32 = Store.get();
}
