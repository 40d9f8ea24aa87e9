use super::DefaultCollector;
use crate::encoding::Encoder;
use crate::labels::LabelSetEncoder;
use crate::metrics::MetricKind;
use crate::registry::{Collect, FamilyDescription};
use std::borrow::Cow;

/// Name and version of the binary, submitted by [`build_info!`](crate::build_info).
///
/// Not public API: built only by the macro.
#[doc(hidden)]
#[derive(Debug)]
pub struct BuildInfoSource {
    pub name: &'static str,
    pub version: &'static str,
    pub revision: Option<&'static str>,
}

inventory::collect!(BuildInfoSource);

/// Serves `<name>_build_info{version, revision, rustc_version, target} 1`, the convention of Go
/// exporters (an `info` family in OpenMetrics).
///
/// The name and version come from [`build_info!`](crate::build_info) in the binary; without it
/// the name is the executable's file name and the version `unknown`.
#[derive(Debug)]
pub struct BuildInfo {
    name: String,
    help: String,
    labels: String,
}

impl BuildInfo {
    /// Build information of this binary.
    pub fn detect() -> Self {
        let source = inventory::iter::<BuildInfoSource>.into_iter().next();
        let name = match source {
            Some(source) => source.name.to_owned(),
            None => std::env::current_exe()
                .ok()
                .and_then(|path| {
                    path.file_stem()
                        .map(|stem| stem.to_string_lossy().into_owned())
                })
                .unwrap_or_else(|| "promexport".to_owned()),
        };
        let name = crate::naming::sanitize_metric_name(&name);
        let mut labels = String::new();
        let mut encoder = LabelSetEncoder::new(&mut labels);
        let version = source.map_or("unknown", |s| s.version);
        let revision = source.and_then(|s| s.revision).unwrap_or("unknown");
        encoder.label("version", &version);
        encoder.label("revision", &revision);
        encoder.label("rustc_version", &env!("PROMEXPORT_RUSTC_VERSION"));
        encoder.label("target", &env!("PROMEXPORT_TARGET"));
        BuildInfo {
            help: format!(
                "A metric with a constant '1' value labeled by version, revision, rustc_version and target from which {name} was built."
            ),
            name: format!("{name}_build"),
            labels,
        }
    }
}

impl Collect for BuildInfo {
    fn describe(&self) -> Vec<FamilyDescription> {
        vec![FamilyDescription {
            name: Cow::Owned(self.name.clone()),
            kind: MetricKind::Info,
            help: Cow::Owned(self.help.clone()),
        }]
    }

    fn is_enabled(&self) -> bool {
        DefaultCollector::BuildInfo.is_enabled()
    }

    fn encode(&self, encoder: &mut Encoder<'_>) {
        if DefaultCollector::BuildInfo.is_enabled() {
            encoder
                .family_parts(&self.name, &self.help, None, MetricKind::Info, "")
                .info(&*self.labels);
        }
    }
}
