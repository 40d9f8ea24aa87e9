//! The standard flags of an exporter, named, defaulted and explained as exporter-toolkit's
//! `web/kingpinflag` and `bootstrap` and prometheus/common's `promslog/flag` do, and
//! node_exporter's `--collector.NAME` switches.

use crate::collector::named::{Collectors, NamedCollector};
use clap::{Arg, ArgAction, ArgMatches, Args, Command, ValueEnum};
use std::path::PathBuf;

/// The flags every exporter built with [`Exporter`](super::Exporter) takes, with Go's names
/// and defaults: `#[command(flatten)]` them into your own `clap::Parser` struct, beside your
/// flags.
///
/// ```
/// use clap::Parser;
///
/// #[derive(Parser)]
/// struct Cli {
///     #[command(flatten)]
///     exporter: promexport::exporter::Flags,
///     /// The address of the target.
///     #[arg(long = "target.addr", default_value = "localhost:6379")]
///     target: String,
/// }
///
/// let cli = Cli::parse_from(["my_exporter", "--web.listen-address=:9121", "--log.level=debug"]);
/// assert_eq!(cli.exporter.listen_addresses, [":9121"]);
/// assert_eq!(cli.exporter.telemetry_path, "/metrics");
/// assert_eq!(cli.exporter.max_requests, 40);
/// assert_eq!(cli.target, "localhost:6379");
/// ```
#[derive(Args, Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Flags {
    /// `--web.listen-address` (repeatable; default: the exporter's
    /// [`default_address`](super::Exporter::default_address)). `:9100` is every interface.
    #[arg(
        long = "web.listen-address",
        value_name = "ADDRESS",
        action = ArgAction::Append,
        help = "Addresses on which to expose metrics and web interface. Repeatable for multiple addresses. Examples: `:9100` or `[::1]:9100` for http"
    )]
    pub listen_addresses: Vec<String>,
    /// `--web.systemd-socket`: serve on the sockets systemd passes (`LISTEN_FDS`).
    #[arg(
        long = "web.systemd-socket",
        overrides_with = "no_systemd_socket",
        help = "Use systemd socket activation listeners instead of port listeners (Linux only)."
    )]
    pub systemd_socket: bool,
    #[arg(long = "no-web.systemd-socket", hide = true)]
    #[doc(hidden)]
    pub no_systemd_socket: bool,
    /// `--web.config.file`: TLS and basic auth ([`WebConfig`](crate::WebConfig)).
    #[arg(
        long = "web.config.file",
        value_name = "FILE",
        help = "Path to configuration file that can enable TLS or authentication. See: https://github.com/prometheus/exporter-toolkit/blob/master/docs/web-configuration.md"
    )]
    pub web_config_file: Option<PathBuf>,
    /// `--web.telemetry-path` (default `/metrics`).
    #[arg(
        long = "web.telemetry-path",
        value_name = "PATH",
        default_value = "/metrics",
        help = "Path under which to expose metrics."
    )]
    pub telemetry_path: String,
    /// `--web.disable-exporter-metrics`: leave out `promhttp_*`, `process_*` and `tokio_*`.
    #[arg(
        long = "web.disable-exporter-metrics",
        overrides_with = "no_disable_exporter_metrics",
        help = "Exclude metrics about the exporter itself (promhttp_*, process_*, tokio_*)."
    )]
    pub disable_exporter_metrics: bool,
    #[arg(long = "no-web.disable-exporter-metrics", hide = true)]
    #[doc(hidden)]
    pub no_disable_exporter_metrics: bool,
    /// `--web.max-requests` (default 40; 0: no limit): concurrent scrapes, and probes.
    #[arg(
        long = "web.max-requests",
        value_name = "N",
        default_value_t = 40,
        help = "Maximum number of parallel scrape requests. Use 0 to disable."
    )]
    pub max_requests: usize,
    /// `--log.level` (default `info`).
    #[arg(
        long = "log.level",
        value_enum,
        value_name = "LEVEL",
        default_value_t = LogLevel::Info,
        hide_possible_values = true,
        help = "Only log messages with the given severity or above. One of: [debug, info, warn, error]"
    )]
    pub log_level: LogLevel,
    /// `--log.format` (default `logfmt`).
    #[arg(
        long = "log.format",
        value_enum,
        value_name = "FORMAT",
        default_value_t = LogFormat::Logfmt,
        hide_possible_values = true,
        help = "Output format of log messages. One of: [logfmt, json]"
    )]
    pub log_format: LogFormat,
}

/// The least severe log messages printed (`--log.level`).
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    /// Everything.
    Debug,
    /// The default: start-up lines, reloads, failures.
    Info,
    /// Warnings and errors.
    Warn,
    /// Errors only.
    Error,
}

/// How log lines are written (`--log.format`), as Go's `log/slog` writes them.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// `time=... level=INFO source=... msg="..." key=value`.
    Logfmt,
    /// One JSON object a line, with the same keys.
    Json,
}

/// `--collector.disable-defaults`.
const DISABLE_DEFAULTS: &str = "collector.disable-defaults";

/// Adds `--collector.NAME`, `--no-collector.NAME` and `--collector.disable-defaults`.
pub(crate) fn add_collector_flags<C>(
    mut command: Command,
    collectors: &[NamedCollector<C>],
) -> Command {
    if collectors.is_empty() {
        return command;
    }
    for collector in collectors {
        let (on, off) = flag_ids(&collector.name);
        let default = if collector.enabled_by_default {
            "enabled"
        } else {
            "disabled"
        };
        command = command
            .arg(
                Arg::new(on.clone())
                    .long(on.clone())
                    .action(ArgAction::SetTrue)
                    .overrides_with(off.clone())
                    .help(format!(
                        "Enable the {} collector (default: {default}).",
                        collector.name
                    )),
            )
            .arg(
                Arg::new(off.clone())
                    .long(off)
                    .action(ArgAction::SetTrue)
                    .overrides_with(on)
                    .help(format!("Disable the {} collector.", collector.name)),
            );
    }
    command.arg(
        Arg::new(DISABLE_DEFAULTS)
            .long(DISABLE_DEFAULTS)
            .action(ArgAction::SetTrue)
            .help("Set all collectors to disabled by default."),
    )
}

fn flag_ids(name: &str) -> (String, String) {
    (format!("collector.{name}"), format!("no-collector.{name}"))
}

/// Which collectors run: an explicit flag wins, then `--collector.disable-defaults`, then
/// each collector's default.
pub(crate) fn switched_on<C>(all: Vec<NamedCollector<C>>, matches: &ArgMatches) -> Collectors<C> {
    let disable_defaults = !all.is_empty() && matches.get_flag(DISABLE_DEFAULTS);
    let enabled = all
        .iter()
        .map(|collector| {
            let (on, off) = flag_ids(&collector.name);
            if matches.get_flag(&on) {
                true
            } else if matches.get_flag(&off) {
                false
            } else {
                collector.enabled_by_default && !disable_defaults
            }
        })
        .collect();
    Collectors { all, enabled }
}

#[cfg(test)]
mod tests {
    use super::{add_collector_flags, switched_on};
    use crate::collector::named::tests::collector;

    fn switched(args: &[&str]) -> Vec<bool> {
        let all = vec![
            collector("cpu", true),
            collector("disk", true),
            collector("ntp", false),
        ];
        let command = add_collector_flags(clap::Command::new("test"), &all);
        let matches = command
            .try_get_matches_from(std::iter::once("test").chain(args.iter().copied()))
            .unwrap();
        switched_on(all, &matches).enabled
    }

    #[test]
    fn explicit_flags_win_over_disable_defaults_and_defaults() {
        assert_eq!(switched(&[]), [true, true, false]);
        assert_eq!(
            switched(&["--no-collector.cpu", "--collector.ntp"]),
            [false, true, true]
        );
        assert_eq!(
            switched(&["--collector.disable-defaults"]),
            [false, false, false]
        );
        assert_eq!(
            switched(&["--collector.disable-defaults", "--collector.disk"]),
            [false, true, false]
        );
        assert_eq!(
            switched(&["--collector.cpu", "--no-collector.cpu"]),
            [false, true, false]
        );
    }
}
