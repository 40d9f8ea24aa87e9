struct Store;

// One label for every method would make their series the same.
#[promexport::instrument(function = "store")]
impl Store {
    fn get(&self) -> u32 {
        1
    }

    fn put(&self) {}
}

fn main() {
    Store.put();
    let _: u32 = Store.get();
}
