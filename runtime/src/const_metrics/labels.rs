//! [`SampleLabels`]: the label values of one sample of a [`ConstFamily`](crate::ConstFamily),
//! given in the order of its declared names or as `(name, value)` pairs.

use crate::encoding::escape_label_value_into;
use std::borrow::Cow;

/// One label of a sample: a value (`&str`, `String`, `Cow<str>`) in the order the family
/// declared its names, or a `(name, value)` pair of those.
pub trait SampleLabel {
    /// The name, for a pair; `None` for a bare value.
    fn name(&self) -> Option<&str>;
    /// The value, raw (the family escapes it).
    fn value(&self) -> &str;
}

macro_rules! values {
    ($($value:ty),*) => {$(
        impl SampleLabel for $value {
            fn name(&self) -> Option<&str> {
                None
            }
            fn value(&self) -> &str {
                self
            }
        }
    )*};
}
values!(&str, String, Cow<'_, str>);

macro_rules! pairs {
    ($(($name:ty, $value:ty)),*) => {$(
        impl SampleLabel for ($name, $value) {
            fn name(&self) -> Option<&str> {
                Some(&self.0)
            }
            fn value(&self) -> &str {
                &self.1
            }
        }
    )*};
}
pairs!(
    (&str, &str),
    (&str, String),
    (String, &str),
    (String, String),
    (&str, Cow<'_, str>)
);

/// The labels of one sample of a [`ConstFamily`](crate::ConstFamily): a slice, array or `Vec`
/// of values in the order of the declared label names (`["GET", "200"]`), or of
/// `(name, value)` pairs in any order (`[("code", "200"), ("method", "GET")]`) naming each
/// declared label once. Values are raw: the family escapes them.
pub trait SampleLabels {
    /// The type of one label.
    type Label: SampleLabel;
    /// The labels, in the order given.
    fn labels(&self) -> &[Self::Label];
}

impl<L: SampleLabel> SampleLabels for [L] {
    type Label = L;
    fn labels(&self) -> &[L] {
        self
    }
}

impl<L: SampleLabel, const N: usize> SampleLabels for [L; N] {
    type Label = L;
    fn labels(&self) -> &[L] {
        self
    }
}

impl<L: SampleLabel> SampleLabels for Vec<L> {
    type Label = L;
    fn labels(&self) -> &[L] {
        self
    }
}

/// No labels: `family.add((), 1)`.
impl SampleLabels for () {
    type Label = &'static str;
    fn labels(&self) -> &[&'static str] {
        &[]
    }
}

impl<T: SampleLabels + ?Sized> SampleLabels for &T {
    type Label = T::Label;
    fn labels(&self) -> &[T::Label] {
        (**self).labels()
    }
}

/// Appends the escaped `name="value",...` list of `given` for the declared `names` to `out`,
/// or says why they do not match (and then appends nothing).
pub(super) fn write_escaped(
    names: &[String],
    given: &[impl SampleLabel],
    out: &mut String,
) -> Result<(), String> {
    if given.len() != names.len() {
        return Err(format!(
            "{} label values given for the {} declared labels ({})",
            given.len(),
            names.len(),
            names.join(", ")
        ));
    }
    let start = out.len();
    for (position, name) in names.iter().enumerate() {
        let value = match given[0].name() {
            None => given[position].value(),
            Some(_) => match pair_value(name, given) {
                Ok(value) => value,
                Err(problem) => {
                    out.truncate(start);
                    return Err(problem);
                }
            },
        };
        if position > 0 {
            out.push(',');
        }
        out.push_str(name);
        out.push_str("=\"");
        escape_label_value_into(out, value);
        out.push('"');
    }
    Ok(())
}

/// The value the pairs give `name`: exactly one pair names it (as there are as many pairs as
/// names, none then names an undeclared label).
fn pair_value<'a>(name: &str, given: &'a [impl SampleLabel]) -> Result<&'a str, String> {
    let mut found = given.iter().filter(|label| label.name() == Some(name));
    match (found.next(), found.next()) {
        (Some(label), None) => Ok(label.value()),
        (None, _) => {
            let given: Vec<&str> = given.iter().filter_map(SampleLabel::name).collect();
            Err(format!(
                "no value for the label `{name}` (the pairs name {})",
                given.join(", ")
            ))
        }
        (Some(_), Some(_)) => Err(format!("the label `{name}` is given twice")),
    }
}
