//! Label values and label sets: what a [`Family`](crate::Family) is keyed by.

use crate::encoding::{LabelValueEncoder, PairLayout, PairLayoutBuilder};
use std::borrow::Cow;
use std::hash::Hash;

/// A type usable as the value of one label.
///
/// `#[derive(LabelValue)]` implements it for fieldless enums (the value is the variant name in
/// snake_case, or `#[label(rename = "...")]`); it is implemented for `String`, `&'static str`,
/// `Cow<'static, str>`, the integer types and `bool`.
///
/// Enums and `bool` are *closed*: they report their [`CARDINALITY`](Self::CARDINALITY), which lets
/// a family whose labels are all closed find a series by index, without hashing or locking
/// (creating it when first touched, or every one up front with `#[metric(preinit)]`).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a label value",
    label = "not a label value",
    note = "label values are `#[derive(LabelValue)]` enums, `String`, `&'static str`, integers or `bool`"
)]
pub trait LabelValue {
    /// The number of distinct values when the type is a closed set, `None` otherwise.
    const CARDINALITY: Option<usize> = None;

    /// The position of this value among the `CARDINALITY` values (closed types only).
    fn index(&self) -> usize {
        0
    }

    /// The value at `index` (closed types only; `None` for open types or out of range).
    fn from_index(index: usize) -> Option<Self>
    where
        Self: Sized,
    {
        let _ = index;
        None
    }

    /// Writes the value's text; the encoder escapes it.
    fn encode(&self, out: &mut LabelValueEncoder<'_>);
}

/// A struct of labels, the key of a [`Family`](crate::Family). Implement it with `#[derive(LabelSet)]`.
///
/// ```
/// use promexport::{LabelSet, LabelValue};
///
/// #[derive(Clone, PartialEq, Eq, Hash, LabelValue)]
/// enum Method { Get, Post }
///
/// #[derive(Clone, PartialEq, Eq, Hash, LabelSet)]
/// struct RequestLabels { method: Method, code: u16 }
///
/// let labels = RequestLabels { method: Method::Get, code: 200 };
/// assert_eq!(<RequestLabels as LabelSet>::NAMES, ["method", "code"]);
/// assert_eq!(promexport::encode_label_set(&labels), r#"method="get",code="200""#);
/// ```
pub trait LabelSet: Clone + Eq + Hash + Send + Sync + 'static {
    /// The label names, in field order.
    const NAMES: &'static [&'static str];
    /// The number of distinct label sets when every field is closed, `None` otherwise.
    const CARDINALITY: Option<usize>;
    /// The position of this label set among the `CARDINALITY` ones (closed sets only).
    fn index(&self) -> usize;
    /// The label set at `index` (closed sets only).
    fn from_index(index: usize) -> Option<Self>;
    /// Writes each label through [`LabelSetEncoder::label`].
    fn encode(&self, out: &mut LabelSetEncoder<'_>);
}

/// A borrowed form of the label set `L`, to find an existing series without building an owned
/// `L` (no allocation per lookup for `String` labels).
///
/// Every `L` is its own borrowed form. `#[label(borrowed = NameRef)]` on a `#[derive(LabelSet)]`
/// struct generates another: `NameRef<'a>`, with the same fields as `&'a str` for `String` ones
/// and `&'a T` for the others, hashed as `#[derive(Hash)]` hashes the label set. By hand, a struct
/// of `&str` fields in the same order works as long as it hashes exactly like `L`
/// (`#[derive(Hash)]` on both does: `&str` hashes like `String`, `&T` like `T`).
///
/// ```
/// use promexport::{Counter, Family, LabelSet};
///
/// #[derive(Clone, PartialEq, Eq, Hash, LabelSet)]
/// #[label(borrowed = UpstreamLabelsRef)]
/// struct UpstreamLabels { upstream: String, port: u16 }
///
/// let sent: Family<UpstreamLabels, Counter> = Family::default();
/// let upstream = "10.0.0.7"; // borrowed from the request, say
/// sent.get(&UpstreamLabelsRef { upstream, port: &8080 }).inc();
/// assert_eq!(sent.get(&UpstreamLabels { upstream: upstream.into(), port: 8080 }).get(), 1);
/// ```
///
/// A form that hashes differently is not unsafe, only slow: its lookups miss, and each one takes
/// the family's write lock to find the series by the owned label set. By hand:
///
/// ```
/// use promexport::{BorrowedLabels, Counter, Family, LabelSet};
/// use std::borrow::Cow;
///
/// #[derive(Clone, PartialEq, Eq, Hash, LabelSet)]
/// struct RouteLabels { route: String, status: u16 }
///
/// #[derive(Hash)]
/// struct RouteLabelsRef<'a> { route: &'a str, status: u16 }
///
/// impl BorrowedLabels<RouteLabels> for RouteLabelsRef<'_> {
///     fn matches(&self, owned: &RouteLabels) -> bool {
///         self.route == owned.route && self.status == owned.status
///     }
///     fn to_label_set(&self) -> Cow<'_, RouteLabels> {
///         Cow::Owned(RouteLabels { route: self.route.to_owned(), status: self.status })
///     }
/// }
///
/// let requests: Family<RouteLabels, Counter> = Family::default();
/// let route = String::from("/items/{id}");
/// requests.get(&RouteLabelsRef { route: &route, status: 200 }).inc();
/// requests.get(&RouteLabels { route, status: 200 }).inc();
/// assert_eq!(requests.len(), 1);
/// ```
pub trait BorrowedLabels<L: LabelSet>: Hash {
    /// Whether `owned` is the label set this borrows.
    fn matches(&self, owned: &L) -> bool;
    /// The label set, owned only when it has to be built (for a new series).
    fn to_label_set(&self) -> Cow<'_, L>;
}

impl<L: LabelSet> BorrowedLabels<L> for L {
    #[inline]
    fn matches(&self, owned: &L) -> bool {
        self == owned
    }
    #[inline]
    fn to_label_set(&self) -> Cow<'_, L> {
        Cow::Borrowed(self)
    }
}

/// Writes the `name="value"` pairs of a label set, escaped and comma-separated.
#[derive(Debug)]
pub struct LabelSetEncoder<'a> {
    out: &'a mut String,
    /// The layout of the pairs written so far, while they started an empty text (what
    /// `PairLayout::of` would find in it, found as it is written).
    layout: Option<PairLayoutBuilder>,
}

impl<'a> LabelSetEncoder<'a> {
    pub(crate) fn new(out: &'a mut String) -> Self {
        let layout = out.is_empty().then(PairLayoutBuilder::default);
        LabelSetEncoder { out, layout }
    }

    /// Appends one label. A name that is not legacy-valid (`error.message`) is kept quoted,
    /// as Prometheus 3 reads it; a scrape that asks for another scheme gets it escaped.
    pub fn label(&mut self, name: &str, value: &dyn DynLabelValue) {
        if !self.out.is_empty() {
            self.out.push(',');
        }
        let legacy = crate::encoding::names::is_legacy_label_name(name);
        if legacy {
            self.out.push_str(name);
        } else {
            crate::encoding::names::quote_label_name(self.out, name);
        }
        self.out.push_str("=\"");
        let value_start = self.out.len();
        let mut value_encoder = LabelValueEncoder::new(self.out);
        value.encode_dyn(&mut value_encoder);
        let escaped = value_encoder.escaped();
        if let Some(layout) = &mut self.layout {
            let plain_name = legacy.then_some(name.len());
            layout.pair(plain_name, self.out.len() - value_start, escaped);
        }
        self.out.push('"');
    }

    /// The layout of the pairs written, if they are the whole text.
    pub(crate) fn layout(&self) -> PairLayout {
        self.layout
            .as_ref()
            .map_or(PairLayout::UNKNOWN, PairLayoutBuilder::layout)
    }
}

/// The object-safe part of [`LabelValue`], so label sets can pass any value to the encoder.
pub trait DynLabelValue {
    /// Writes the value's text.
    fn encode_dyn(&self, out: &mut LabelValueEncoder<'_>);
}

impl<T: LabelValue + ?Sized> DynLabelValue for T {
    fn encode_dyn(&self, out: &mut LabelValueEncoder<'_>) {
        self.encode(out);
    }
}

/// The pre-escaped `name="value",...` text of a label set, as it appears inside `{}`.
pub fn encode_label_set<L: LabelSet>(labels: &L) -> String {
    encode_label_set_and_layout(labels).0
}

/// [`encode_label_set`] and the layout of its pairs.
pub(crate) fn encode_label_set_and_layout<L: LabelSet>(labels: &L) -> (String, PairLayout) {
    let mut out = String::new();
    let mut encoder = LabelSetEncoder::new(&mut out);
    labels.encode(&mut encoder);
    let layout = encoder.layout();
    (out, layout)
}

/// `CARDINALITY` of a label set from the cardinalities of its fields: their product, if all are closed.
#[doc(hidden)]
pub const fn product_cardinality(fields: &[Option<usize>]) -> Option<usize> {
    let mut product = 1_usize;
    let mut i = 0;
    while i < fields.len() {
        match fields[i] {
            Some(n) => match product.checked_mul(n) {
                Some(p) => product = p,
                None => return None,
            },
            None => return None,
        }
        i += 1;
    }
    Some(product)
}

impl LabelSet for () {
    const NAMES: &'static [&'static str] = &[];
    const CARDINALITY: Option<usize> = Some(1);
    fn index(&self) -> usize {
        0
    }
    fn from_index(index: usize) -> Option<Self> {
        (index == 0).then_some(())
    }
    fn encode(&self, _: &mut LabelSetEncoder<'_>) {}
}

impl LabelValue for str {
    fn encode(&self, out: &mut LabelValueEncoder<'_>) {
        out.write_str(self);
    }
}

impl LabelValue for String {
    fn encode(&self, out: &mut LabelValueEncoder<'_>) {
        out.write_str(self);
    }
}

impl LabelValue for &'static str {
    fn encode(&self, out: &mut LabelValueEncoder<'_>) {
        out.write_str(self);
    }
}

impl LabelValue for Cow<'static, str> {
    fn encode(&self, out: &mut LabelValueEncoder<'_>) {
        out.write_str(self);
    }
}

impl LabelValue for bool {
    const CARDINALITY: Option<usize> = Some(2);
    fn index(&self) -> usize {
        usize::from(*self)
    }
    fn from_index(index: usize) -> Option<Self> {
        match index {
            0 => Some(false),
            1 => Some(true),
            _ => None,
        }
    }
    fn encode(&self, out: &mut LabelValueEncoder<'_>) {
        out.write_str(if *self { "true" } else { "false" });
    }
}

macro_rules! integer_label_values {
    ($($int:ty),*) => {$(
        impl LabelValue for $int {
            fn encode(&self, out: &mut LabelValueEncoder<'_>) {
                out.write_str(itoa::Buffer::new().format(*self));
            }
        }
    )*};
}
integer_label_values!(
    u8, u16, u32, u64, u128, usize, i8, i16, i32, i64, i128, isize
);

#[cfg(test)]
mod tests {
    use super::{LabelSetEncoder, PairLayout};

    /// The layout found while a text is written is the one found in the whole text.
    #[test]
    fn the_layout_found_while_writing_is_the_layout_of_the_text() {
        let long = "v".repeat(130);
        let sets: &[&[(&str, &str)]] = &[
            &[],
            &[("method", "GET"), ("path", "/api/v1/items/12")],
            &[("a", ""), ("b", "1"), ("c", "2"), ("d", "3"), ("e", "4")],
            &[("a", "1"), ("b", "x\"y"), ("c", "3")],
            &[("a", "line\nbreak"), ("b", "2")],
            &[("a", "back\\slash")],
            &[("error.message", "x"), ("b", "2")],
            &[("b", "2"), ("error.message", "x")],
            &[("a", &long), ("b", "2")],
            &[("a", &long[..122]), ("b", "2")],
            &[("ab", &long[..122]), ("b", "2")],
            &[("é", "ü"), ("b", "2")],
            &[("a", "é=\"ü"), ("b", "2")],
            &[("", "1"), ("b", "2")],
        ];
        for set in sets {
            let mut text = String::new();
            let mut encoder = LabelSetEncoder::new(&mut text);
            for (name, value) in *set {
                encoder.label(name, &value.to_string());
            }
            let layout = encoder.layout();
            assert_eq!(layout, PairLayout::of(&text), "{text}");
        }
    }

    #[test]
    fn a_text_written_after_other_text_has_no_layout() {
        let mut text = String::from(r#"job="x""#);
        let mut encoder = LabelSetEncoder::new(&mut text);
        encoder.label("a", &String::from("1"));
        assert_eq!(encoder.layout(), PairLayout::UNKNOWN);
    }
}
