//! The standard flags of an exporter, named, defaulted and explained as exporter-toolkit's
//! `web/kingpinflag` and `bootstrap` and prometheus/common's `promslog/flag` do.

use clap::{ArgAction, Args, ValueEnum};
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
