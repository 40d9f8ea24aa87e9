//! `--version` and the start-up lines in prometheus/common's `version` layout, from what
//! [`build_info!`](crate::build_info) recorded, so they say what `<name>_build_info` says.

use crate::collector::BuildInfoSource;

/// What the binary was built from: prometheus/common's `version` variables, with rustc's
/// version for Go's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BuildVersion {
    pub(crate) version: String,
    pub(crate) revision: String,
    pub(crate) branch: String,
    pub(crate) build_user: String,
    pub(crate) build_date: String,
    pub(crate) rustc_version: &'static str,
    pub(crate) platform: String,
}

impl BuildVersion {
    /// Of this binary: its `build_info!`, else `unknown` (the metric says the same).
    pub(crate) fn detect() -> Self {
        let source = inventory::iter::<BuildInfoSource>.into_iter().next();
        let field = |value: Option<&'static str>| value.unwrap_or("unknown").to_owned();
        let target = env!("PROMEXPORT_TARGET");
        BuildVersion {
            version: field(source.map(|s| s.version)),
            revision: field(source.and_then(|s| s.revision)),
            branch: field(source.and_then(|s| s.branch)),
            build_user: field(source.and_then(|s| s.build_user)),
            build_date: field(source.and_then(|s| s.build_date)),
            rustc_version: env!("PROMEXPORT_RUSTC_VERSION"),
            platform: platform(target),
        }
    }

    /// `version.Print(program)`.
    pub(crate) fn print(&self, program: &str) -> String {
        format!(
            "{program}, version {} (branch: {}, revision: {})\n  build user:       {}\n  build date:       {}\n  rustc version:    {}\n  platform:         {}",
            self.version,
            self.branch,
            self.revision,
            self.build_user,
            self.build_date,
            self.rustc_version,
            self.platform
        )
    }

    /// `version.Info()`, logged at start-up and shown on the landing page.
    pub(crate) fn info(&self) -> String {
        format!(
            "(version={}, branch={}, revision={})",
            self.version, self.branch, self.revision
        )
    }

    /// `version.BuildContext()`, logged at start-up.
    pub(crate) fn build_context(&self) -> String {
        format!(
            "(rustc={}, platform={}, user={}, date={})",
            self.rustc_version, self.platform, self.build_user, self.build_date
        )
    }
}

/// The name [`build_info!`](crate::build_info) gave, if the binary has one.
pub(crate) fn build_info_name() -> Option<&'static str> {
    inventory::iter::<BuildInfoSource>
        .into_iter()
        .next()
        .map(|source| source.name)
}

/// Go's `GOOS/GOARCH` from a target triple: `x86_64-unknown-linux-gnu` is `linux/amd64`.
fn platform(target: &str) -> String {
    let arch = match target.split('-').next().unwrap_or_default() {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "i686" | "i586" => "386",
        "powerpc64le" => "ppc64le",
        "riscv64gc" => "riscv64",
        other => other,
    };
    let os = [
        "linux", "darwin", "windows", "freebsd", "netbsd", "openbsd", "android",
    ]
    .into_iter()
    .find(|os| target.contains(os))
    .or(target.contains("apple").then_some("darwin"))
    .unwrap_or("unknown");
    format!("{os}/{arch}")
}

#[cfg(test)]
mod tests {
    use super::{BuildVersion, platform};

    #[test]
    fn platforms_are_named_as_go_names_them() {
        assert_eq!(platform("x86_64-unknown-linux-gnu"), "linux/amd64");
        assert_eq!(platform("aarch64-apple-darwin"), "darwin/arm64");
        assert_eq!(platform("i686-pc-windows-msvc"), "windows/386");
    }

    #[test]
    fn version_is_printed_in_the_layout_of_prometheus_common() {
        let version = BuildVersion {
            version: "1.2.3".into(),
            revision: "abc".into(),
            branch: "main".into(),
            build_user: "ci@host".into(),
            build_date: "20261201-12:00:00".into(),
            rustc_version: "1.90.0",
            platform: "linux/amd64".into(),
        };
        assert_eq!(
            version.print("my_exporter"),
            "my_exporter, version 1.2.3 (branch: main, revision: abc)\n  build user:       ci@host\n  build date:       20261201-12:00:00\n  rustc version:    1.90.0\n  platform:         linux/amd64"
        );
        assert_eq!(version.info(), "(version=1.2.3, branch=main, revision=abc)");
        assert_eq!(
            version.build_context(),
            "(rustc=1.90.0, platform=linux/amd64, user=ci@host, date=20261201-12:00:00)"
        );
    }
}
