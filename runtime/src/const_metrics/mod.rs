//! Families named at run time ([`ConstFamily`]) and the collection of them a collector serves
//! ([`ConstMetrics`]).

mod error;
mod family;
mod labels;

pub use error::FamilyError;
pub use family::ConstFamily;
pub use labels::{SampleLabel, SampleLabels};

use crate::encoding::Encoder;
use crate::registry::{Collect, FamilyDescription};
use std::borrow::Cow;
use std::collections::HashSet;

/// The families one collection of a target produced, named at run time: what a
/// `Collector` (feature `serve`) of a target whose families are only known once read
/// returns, or what a hand-written [`Collect`] builds.
///
/// Families are served in the order they were pushed. A name used twice (or clashing with
/// another family's samples: `x` a histogram and `x_count` a gauge) is refused when pushed.
/// A `Collector` (feature `serve`) serves the families of its last collection, so its
/// registry cannot claim their names at registration: names another collector of the same
/// registry uses are served twice, as client_golang serves an unchecked collector's.
///
/// ```
/// use promexport::{Collector, ConstFamily, ConstMetrics, Format, Registry};
///
/// /// What a target says: `(table, rows)`, with names unknown at compile time.
/// async fn read_tables() -> Result<ConstMetrics, Box<dyn std::error::Error + Send + Sync>> {
///     let mut metrics = ConstMetrics::new();
///     let mut rows = ConstFamily::gauge("db_table_rows", "Rows by table.", &["table"])?;
///     for (table, count) in [("users", 10), ("orders", 250)] {
///         rows.add([table], count)?;
///     }
///     metrics.push(rows)?;
///     Ok(metrics)
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), promexport::Error> {
/// let registry = Registry::new();
/// Collector::new("db", read_tables).register_in(&registry)?;
/// registry.collect(None).await;
/// let text = registry.render(Format::Text);
/// assert!(text.contains("db_up 1\n"));
/// assert!(text.contains("db_table_rows{table=\"orders\"} 250\n"));
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConstMetrics {
    families: Vec<ConstFamily>,
    /// Every sample name the families use, to refuse a clash when pushed.
    names: HashSet<String>,
}

impl ConstMetrics {
    /// No families.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a family, unless one of its sample names is already used by another one.
    pub fn push(&mut self, family: ConstFamily) -> Result<(), FamilyError> {
        let claimed: Vec<String> = sample_names(&family.description()).collect();
        if let Some(name) = claimed.iter().find(|name| self.names.contains(*name)) {
            return Err(FamilyError::Duplicate { name: name.clone() });
        }
        self.names.extend(claimed);
        self.families.push(family);
        Ok(())
    }

    /// The families, in the order pushed.
    pub fn families(&self) -> &[ConstFamily] {
        &self.families
    }
}

/// The family name and every sample name of `family`.
fn sample_names(family: &FamilyDescription) -> impl Iterator<Item = String> + '_ {
    std::iter::once(family.name.to_string()).chain(
        family
            .kind
            .sample_suffixes()
            .iter()
            .filter(|suffix| !suffix.is_empty())
            .map(|suffix| format!("{}{suffix}", family.name)),
    )
}

impl Collect for ConstMetrics {
    fn describe(&self) -> Vec<FamilyDescription> {
        self.families.iter().map(ConstFamily::description).collect()
    }

    fn encode(&self, encoder: &mut Encoder<'_>) {
        for family in &self.families {
            family.encode(encoder);
        }
    }

    fn label_names(&self, index: usize) -> Option<Vec<Cow<'static, str>>> {
        Collect::label_names(self.families.get(index)?, 0)
    }
}

#[cfg(test)]
mod tests;
