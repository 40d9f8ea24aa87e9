use promexport::LabelValue;

#[derive(Clone, PartialEq, Eq, Hash, LabelValue)]
enum Outcome<E> {
    Ok,
    Err(E),
}

fn main() {}
