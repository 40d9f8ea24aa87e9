//! An exporter binary in one call, behaving as Go's exporters built on exporter-toolkit do:
//! the standard flags, logs, listeners, `--version`, a landing page and graceful shutdown;
//! switchable named collectors (node_exporter's framework); and the multi-target pattern
//! (blackbox_exporter's `/probe`).
//!
//! ```no_run
//! use promexport::exporter::{Exporter, ProbeRequest};
//! use promexport::{Gauge, Metrics};
//!
//! promexport::build_info!("queue_exporter"); // version, revision: `--version`, queue_exporter_build_info
//!
//! #[derive(clap::Parser)]
//! struct Cli {
//!     #[command(flatten)]
//!     exporter: promexport::exporter::Flags, // --web.listen-address, --log.level, ...
//!     /// The queue server.
//!     #[arg(long = "queue.addr", default_value = "localhost:5672")]
//!     addr: String,
//! }
//!
//! #[derive(Metrics)]
//! #[metrics(prefix = "queue", no_global)]
//! struct QueueMetrics {
//!     /// Messages waiting.
//!     depth: Gauge,
//! }
//!
//! async fn read_depth(addr: String) -> Result<QueueMetrics, std::io::Error> {
//!     let metrics = QueueMetrics::new();
//!     metrics.depth.set(42); // what `addr` says
//!     Ok(metrics)
//! }
//!
//! fn main() -> std::process::ExitCode {
//!     Exporter::<Cli>::new("queue_exporter")
//!         .description("Exports a queue's depth.")
//!         .default_address(":9199")
//!         // --collector.depth / --no-collector.depth, on by default
//!         .collector("depth", true, |cli: &Cli| read_depth(cli.addr.clone()))
//!         .run()
//! }
//! ```
//!
//! The metrics path (`--web.telemetry-path`, default `/metrics`) serves, at each scrape, what
//! the enabled collectors read (all at once, each within Prometheus' scrape timeout less 0.5 s;
//! one that fails, times out or panics leaves only its own series out), their
//! `<ns>_scrape_collector_duration_seconds{collector}` and
//! `<ns>_scrape_collector_success{collector}` (`<ns>` is the name less `_exporter`), the
//! process-wide [`registry()`](crate::registry) (with `<name>_build_info` and `process_*`) and,
//! unless `--web.disable-exporter-metrics`, the server's own `promhttp_*` metrics.
//! `?collect[]=NAME` or `?exclude[]=NAME` narrows a scrape to some collectors; a name that is
//! not an enabled collector is `400 Bad Request`. `--web.max-requests` (default 40, 0: no
//! limit) bounds concurrent scrapes (more get 503), and again concurrent probes.
//!
//! Besides, `/` is the landing page, `/-/healthy` answers 200, and with a
//! [`probe`](Exporter::probe) endpoint `POST /-/reload` (or SIGHUP) reads its modules file
//! again. SIGTERM and SIGINT stop accepting and let in-flight requests finish (up to 5 s). The
//! web config file (`--web.config.file`: TLS, basic auth) applies to every path.

mod flags;
mod landing;
mod listen;
mod logging;
mod probe;
mod version;

pub use flags::{Flags, LogFormat, LogLevel};
pub use probe::{DEFAULT_MODULE, ProbeError, ProbeRequest};

use crate::collector::named::{BoxError, Collectors, NamedCollector, ScrapeReport};
use crate::collector::own_collections;
use crate::encoding::Encoder;
use crate::registry::{Collect, FamilyDescription};
use crate::serve::handler::{
    accepts_gzip, announced_timeout, exposition_response, header_text, method_not_allowed, plain,
    query_values, selected_names,
};
use crate::serve::{Answer, Mounted, RouteFn, RouteFuture};
use crate::{Error, Format, Registry, Server};
use clap::{Args as _, FromArgMatches as _};
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, StatusCode};
use landing::LandingPage;
use probe::{ProbeEndpoint, Prober, owned_plain};
use serde::de::DeserializeOwned;
use std::future::Future;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;
use version::BuildVersion;

/// How long collectors may take when Prometheus does not say: its default 10 s scrape timeout
/// less the 0.5 s offset the announced timeouts lose too.
const DEFAULT_DEADLINE: Duration = Duration::from_millis(9500);
/// The target of the exporter's own log lines.
const LOG_TARGET: &str = "promexport::exporter";

/// What runs once the flags are parsed (see [`Exporter::on_start`]).
type OnStart<C> = Box<dyn FnOnce(&C) -> Result<(), Error> + Send>;

/// An exporter: its name, its collectors and probe endpoint, run by [`run`](Self::run).
///
/// `C` is your `clap` struct (`#[derive(clap::Parser)]`); its flags sit beside the standard
/// ones, and collectors and probes get it parsed. [`Flags`] `#[command(flatten)]`ed into it
/// puts the standard flags there for you to read; without it they are added all the same.
/// With no flags of your own, use `Exporter::<Flags>`.
pub struct Exporter<C = Flags> {
    name: String,
    namespace: Option<String>,
    description: String,
    default_address: String,
    collectors: Vec<NamedCollector<C>>,
    probe: Option<Arc<dyn ProbeEndpoint<C>>>,
    on_start: Option<OnStart<C>>,
    /// A mistake in the set-up, reported by `run`.
    problem: Option<String>,
}

impl<C> std::fmt::Debug for Exporter<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let collectors: Vec<&str> = self.collectors.iter().map(|c| c.name.as_str()).collect();
        f.debug_struct("Exporter")
            .field("name", &self.name)
            .field("default_address", &self.default_address)
            .field("collectors", &collectors)
            .field("probe", &self.probe.as_ref().map(|probe| probe.path()))
            .finish()
    }
}

impl<C> Exporter<C>
where
    C: clap::Args + clap::FromArgMatches + Send + Sync + 'static,
{
    /// An exporter named `name` (`node_exporter`): the program of `--version`, the title of the
    /// landing page, and (less `_exporter`) the namespace of its collector metrics. Name the
    /// same in [`build_info!`](crate::build_info) for its version and `<name>_build_info`.
    pub fn new(name: &str) -> Self {
        Exporter {
            name: name.to_owned(),
            namespace: None,
            description: String::new(),
            default_address: ":9100".to_owned(),
            collectors: Vec::new(),
            probe: None,
            on_start: None,
            problem: None,
        }
    }

    /// The line under the name on the landing page and in `--help`.
    pub fn description(mut self, description: &str) -> Self {
        self.description = description.to_owned();
        self
    }

    /// The default of `--web.listen-address` (default `:9100`; pick your exporter's port from
    /// the Prometheus wiki's default port allocations).
    pub fn default_address(mut self, address: &str) -> Self {
        self.default_address = address.to_owned();
        self
    }

    /// The namespace of `<ns>_scrape_collector_*` (default: the name less `_exporter`).
    pub fn namespace(mut self, namespace: &str) -> Self {
        self.namespace = Some(namespace.to_owned());
        self
    }

    /// Adds a collector named `name` (`--collector.NAME` / `--no-collector.NAME`, on unless
    /// `enabled_by_default` is false). At each scrape `collect` gets the parsed flags and
    /// returns a future of the metrics read: a `#[derive(Metrics)]` struct with
    /// `#[metrics(no_global)]`, built fresh, a [`ConstMetrics`](crate::ConstMetrics) of
    /// families named at run time, or any [`Collect`].
    pub fn collector<F, Fut, M, E>(
        mut self,
        name: &str,
        enabled_by_default: bool,
        collect: F,
    ) -> Self
    where
        F: Fn(&C) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<M, E>> + Send + 'static,
        M: Collect,
        E: Into<BoxError>,
    {
        self.check_collector_name(name);
        self.collectors
            .push(NamedCollector::new_async(name, enabled_by_default, collect));
        self
    }

    /// Adds a collector whose `collect` blocks (files, blocking sockets): it runs on tokio's
    /// blocking threads. One that outlives the deadline is abandoned, not stopped: until its
    /// thread returns, scrapes report it failed at once rather than start another.
    pub fn blocking_collector<F, M, E>(
        mut self,
        name: &str,
        enabled_by_default: bool,
        collect: F,
    ) -> Self
    where
        F: Fn(&C) -> Result<M, E> + Send + Sync + 'static,
        M: Collect,
        E: Into<BoxError>,
    {
        self.check_collector_name(name);
        self.collectors.push(NamedCollector::new_blocking(
            name,
            enabled_by_default,
            collect,
        ));
        self
    }

    fn check_collector_name(&mut self, name: &str) {
        let valid = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
        if !valid {
            self.problem.get_or_insert(format!(
                "collector name {name:?}: use lowercase letters, digits, `_` and `-`"
            ));
        } else if self.collectors.iter().any(|c| c.name == name) {
            self.problem
                .get_or_insert(format!("collector {name:?} is added twice"));
        }
    }

    /// Mounts the multi-target pattern at `path` (`/probe`): `GET /probe?target=T&module=NAME`
    /// calls `handler` with the parsed flags and a [`ProbeRequest`] (the target, the module's
    /// settings, the deadline), in a registry of its own, and answers with what it returns and
    /// `probe_success` (0 when it failed, timed out or panicked: the answer is still 200) and
    /// `probe_duration_seconds`. A missing `target` or an unknown module is 400; `debug=true`
    /// answers in plain text with the outcome, the metrics and the module's settings.
    ///
    /// The modules come from the YAML file `modules_file` names from the flags (blackbox's
    /// layout: `modules:` mapping names to settings `M`), read at start (an error stops the
    /// exporter) and again on `POST /-/reload` or SIGHUP (an error keeps the modules in force).
    /// Without a file there is one module, `default`, of `M::default()`. A request naming no
    /// module uses `default`.
    pub fn probe<M, F, Fut, T, E>(
        mut self,
        path: &str,
        modules_file: impl Fn(&C) -> Option<PathBuf> + Send + Sync + 'static,
        handler: F,
    ) -> Self
    where
        M: DeserializeOwned + Default + std::fmt::Debug + Send + Sync + 'static,
        F: Fn(&C, ProbeRequest<M>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<T, E>> + Send + 'static,
        T: Collect,
        E: Into<BoxError>,
    {
        self.probe = Some(Arc::new(Prober::new(path, modules_file, handler)));
        self
    }

    /// Runs `start` once the flags are parsed, on the exporter's tokio runtime, before it
    /// listens: to register what needs your flags in the process-wide registry, such as a
    /// [`Collector`](crate::Collector) with its `<prefix>_up` (an interval one too). An error
    /// stops the exporter (exit code 1).
    ///
    /// ```no_run
    /// # #[derive(promexport::Metrics)]
    /// # #[metrics(prefix = "nginx", no_global)]
    /// # struct NginxMetrics { /// Active connections.
    /// #     connections_active: promexport::Gauge }
    /// # async fn read_status(url: &str) -> Result<NginxMetrics, std::io::Error> { Ok(NginxMetrics::new()) }
    /// #[derive(clap::Parser)]
    /// struct Cli {
    ///     #[arg(long = "nginx.scrape-uri", default_value = "http://127.0.0.1:8080/stub_status")]
    ///     scrape_uri: String,
    /// }
    ///
    /// fn main() -> std::process::ExitCode {
    ///     promexport::exporter::Exporter::<Cli>::new("nginx_exporter")
    ///         .default_address(":9113")
    ///         .on_start(|cli: &Cli| {
    ///             let url = cli.scrape_uri.clone();
    ///             promexport::Collector::new("nginx", move || {
    ///                 let url = url.clone();
    ///                 async move { read_status(&url).await }
    ///             })
    ///             .register() // nginx_up, nginx_collection_errors_total, ...
    ///         })
    ///         .run()
    /// }
    /// ```
    pub fn on_start(
        mut self,
        start: impl FnOnce(&C) -> Result<(), Error> + Send + 'static,
    ) -> Self {
        self.on_start = Some(Box::new(start));
        self
    }

    /// The command line: your flags, the standard ones, `--collector.*`, `--version`.
    pub fn command(&self) -> clap::Command {
        let mut command = clap::Command::new(self.name.clone()).disable_version_flag(true);
        command = C::augment_args(command);
        if !command
            .get_arguments()
            .any(|arg| arg.get_id() == "telemetry_path")
        {
            command = Flags::augment_args(command);
        }
        // After the structs, whose doc comments would be the text otherwise.
        command = command.about(self.description.clone()).long_about(None);
        command = command.mut_arg("listen_addresses", |arg| {
            arg.default_value(self.default_address.clone())
        });
        command = flags::add_collector_flags(command, &self.collectors);
        command.arg(
            clap::Arg::new("promexport_version")
                .long("version")
                .action(clap::ArgAction::SetTrue)
                .help("Show application version."),
        )
    }

    /// Parses `args` (the first is the program) as [`run`](Self::run) does, and returns your
    /// struct without running anything: to test your flags beside the standard ones.
    ///
    /// ```
    /// #[derive(clap::Parser)]
    /// struct Cli {
    ///     #[command(flatten)]
    ///     exporter: promexport::exporter::Flags,
    ///     #[arg(long = "nginx.scrape-uri", default_value = "http://127.0.0.1:8080/stub_status")]
    ///     scrape_uri: String,
    /// }
    ///
    /// let exporter = promexport::exporter::Exporter::<Cli>::new("nginx_exporter").default_address(":9113");
    /// let cli = exporter.try_parse_from(["nginx_exporter"])?;
    /// assert_eq!(cli.exporter.listen_addresses, [":9113"]);
    /// assert!(exporter.try_parse_from(["nginx_exporter", "--verbose"]).is_err());
    /// # Ok::<(), clap::Error>(())
    /// ```
    pub fn try_parse_from<I, T>(&self, args: I) -> Result<C, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        C::from_arg_matches(&self.command().try_get_matches_from(args)?)
    }

    /// Parses the process's arguments and serves until SIGTERM or SIGINT: the `main` of an
    /// exporter. `--help` and `--version` print and return success; a flag error prints and
    /// returns 2 (as clap does), a start-up failure is logged and returns 1.
    pub fn run(self) -> ExitCode {
        self.run_from(std::env::args_os())
    }

    /// [`run`](Self::run) with the arguments given (the first is the program).
    pub fn run_from<I, T>(self, args: I) -> ExitCode
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        let matches = match self.command().try_get_matches_from(args) {
            Ok(matches) => matches,
            Err(error) => {
                let _ = error.print();
                return ExitCode::from(u8::try_from(error.exit_code()).unwrap_or(2));
            }
        };
        let version = BuildVersion::detect();
        if matches.get_flag("promexport_version") {
            println!("{}", version.print(&self.name));
            return ExitCode::SUCCESS;
        }
        let parsed = C::from_arg_matches(&matches)
            .and_then(|cli| Flags::from_arg_matches(&matches).map(|flags| (cli, flags)));
        let (cli, flags) = match parsed {
            Ok(parsed) => parsed,
            Err(error) => {
                let _ = error.print();
                return ExitCode::from(2);
            }
        };
        logging::install(flags.log_level, flags.log_format);
        match self.start(cli, flags, &matches, &version) {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                tracing::error!(target: LOG_TARGET, err = %error, "Error starting the exporter");
                ExitCode::FAILURE
            }
        }
    }

    fn start(
        mut self,
        cli: C,
        flags: Flags,
        matches: &clap::ArgMatches,
        version: &BuildVersion,
    ) -> Result<(), Error> {
        if let Some(problem) = self.problem.take() {
            return Err(Error::Config(problem));
        }
        if flags.telemetry_path.is_empty() {
            return Err(Error::Config("metrics path must not be empty".to_owned()));
        }
        crate::check()?;
        tracing::info!(target: LOG_TARGET, version = %version.info(), "Starting {}", self.name);
        tracing::info!(target: LOG_TARGET, build_context = %version.build_context(), "Build context");
        match version::build_info_name() {
            Some(name) if name == self.name => {}
            Some(name) => tracing::warn!(
                target: LOG_TARGET,
                "build_info! names {name:?}, the exporter {:?}: the build_info metric and --version disagree",
                self.name
            ),
            None => tracing::warn!(
                target: LOG_TARGET,
                "no promexport::build_info!({:?}) in the binary: the version is unknown",
                self.name
            ),
        }
        let collectors = flags::switched_on(std::mem::take(&mut self.collectors), matches);
        if !collectors.all.is_empty() {
            tracing::info!(target: LOG_TARGET, "Enabled collectors");
            for name in collectors.enabled_names() {
                tracing::info!(target: LOG_TARGET, "{name}");
            }
        }
        let cli = Arc::new(cli);
        if let Some(probe) = &self.probe {
            let modules = probe.start(&cli, flags.max_requests)?;
            tracing::info!(target: LOG_TARGET, modules, "Loaded the probe modules");
        }
        let on_start = self.on_start.take();
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
            .block_on(async {
                if let Some(on_start) = on_start {
                    on_start(&cli)?;
                }
                self.serve(cli, flags, collectors).await
            })
    }

    async fn serve(
        self,
        cli: Arc<C>,
        flags: Flags,
        collectors: Collectors<C>,
    ) -> Result<(), Error> {
        let listeners = if flags.systemd_socket {
            tracing::info!(target: LOG_TARGET, "Listening on systemd activated listeners instead of port listeners.");
            listen::systemd_sockets()?
        } else {
            listen::bind_all(&flags.listen_addresses)?
        };
        if flags.disable_exporter_metrics {
            crate::DefaultCollector::Process.disable();
            crate::DefaultCollector::Tokio.disable();
        }
        let server_metrics = Registry::new();
        let mut server = Server::on_listeners(listeners)?
            .registry(server_metrics.clone())
            .path(flags.telemetry_path.clone())
            .max_concurrent_scrapes(match flags.max_requests {
                0 => tokio::sync::Semaphore::MAX_PERMITS,
                limit => limit.min(tokio::sync::Semaphore::MAX_PERMITS),
            });
        let mut tls = false;
        if let Some(file) = &flags.web_config_file {
            server = server.web_config_file(file)?;
            tls = server.has_tls();
        }
        for address in server.local_addrs()? {
            tracing::info!(target: LOG_TARGET, %address, "Listening on");
            if tls {
                tracing::info!(target: LOG_TARGET, http2 = false, %address, "TLS is enabled.");
            } else {
                tracing::info!(target: LOG_TARGET, http2 = false, %address, "TLS is disabled.");
            }
        }
        let scraping = Arc::new(Scraping {
            cli: cli.clone(),
            collectors,
            namespace: self.namespace.clone().unwrap_or_else(|| {
                self.name
                    .strip_suffix("_exporter")
                    .unwrap_or(&self.name)
                    .to_owned()
            }),
            server_metrics: (!flags.disable_exporter_metrics).then_some(server_metrics),
        });
        let mut routes: Vec<(String, RouteFn)> = Vec::new();
        routes.push(("/-/healthy".to_owned(), Arc::new(|_| ready(healthy()))));
        if flags.telemetry_path != "/" {
            let (name, description) = (self.name.clone(), self.description.clone());
            let version = BuildVersion::detect().info();
            let metrics_path = flags.telemetry_path.clone();
            let probe = self.probe.clone();
            routes.push((
                "/".to_owned(),
                Arc::new(move |request: Request<()>| {
                    if request.method() != Method::GET && request.method() != Method::HEAD {
                        return ready(method_not_allowed());
                    }
                    let page = LandingPage {
                        name: name.clone(),
                        description: description.clone(),
                        version: version.clone(),
                        metrics_path: metrics_path.clone(),
                        probe: probe
                            .as_ref()
                            .map(|probe| (probe.path().to_owned(), probe.module_names())),
                    };
                    ready(page.answer())
                }),
            ));
        }
        if let Some(probe) = self.probe.clone() {
            let (probing, probe_cli) = (probe.clone(), cli.clone());
            routes.push((
                probe.path().to_owned(),
                Arc::new(move |request| probing.clone().answer(probe_cli.clone(), request)),
            ));
            let reloading = probe.clone();
            routes.push((
                "/-/reload".to_owned(),
                Arc::new(move |request: Request<()>| {
                    if request.method() != Method::POST {
                        let mut refused = plain(
                            StatusCode::METHOD_NOT_ALLOWED,
                            "This endpoint requires a POST request.\n",
                        );
                        refused
                            .headers_mut()
                            .insert(header::ALLOW, HeaderValue::from_static("POST"));
                        return ready(refused);
                    }
                    ready(match reload(&*reloading) {
                        Ok(()) => plain(StatusCode::OK, "OK\n"),
                        Err(error) => owned_plain(
                            StatusCode::INTERNAL_SERVER_ERROR,
                            format!("failed to reload config: {error}\n"),
                        ),
                    })
                }),
            ));
            tokio::spawn(reload_on_sighup(probe));
        }
        let metrics: RouteFn = Arc::new(move |request| {
            let scraping = scraping.clone();
            Box::pin(async move { scraping.answer(request).await })
        });
        server
            .mount(Mounted {
                routes,
                metrics: Some(metrics),
            })
            .run(shutdown_signal())
            .await
    }
}

fn ready(answer: Answer) -> RouteFuture {
    Box::pin(std::future::ready(answer))
}

fn healthy() -> Answer {
    plain(StatusCode::OK, "Healthy\n")
}

fn reload<C>(probe: &dyn ProbeEndpoint<C>) -> Result<(), Error> {
    match probe.reload() {
        Ok(modules) => {
            tracing::info!(target: LOG_TARGET, modules, "Reloaded the modules file");
            Ok(())
        }
        Err(error) => {
            tracing::error!(target: LOG_TARGET, err = %error, "Error reloading the modules file");
            Err(error)
        }
    }
}

async fn reload_on_sighup<C>(probe: Arc<dyn ProbeEndpoint<C>>) {
    use tokio::signal::unix::{SignalKind, signal};
    if !probe.has_modules_file() {
        return;
    }
    let Ok(mut hangups) = signal(SignalKind::hangup()) else {
        tracing::warn!(target: LOG_TARGET, "cannot handle SIGHUP: reload with POST /-/reload");
        return;
    };
    while hangups.recv().await.is_some() {
        let _ = reload(&*probe);
    }
}

/// Completes on SIGTERM (`docker stop`, Kubernetes) or SIGINT (Ctrl-C), logging which: what
/// [`Exporter::run`] stops on, for a program that serves otherwise (an axum service's
/// `with_graceful_shutdown`, a remote write agent's flush). Where the signals cannot be
/// handled it logs a warning and never completes (the signals then stop the process at once).
/// Call it inside a tokio runtime.
///
/// ```no_run
/// # async fn flush() {}
/// # async fn agent() {
/// promexport::exporter::shutdown_signal().await;
/// flush().await; // what is queued, before the process ends
/// # }
/// ```
pub async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut terminate), Ok(mut interrupt)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        tracing::warn!(target: LOG_TARGET, "cannot handle SIGTERM and SIGINT: they stop the exporter at once");
        return std::future::pending().await;
    };
    let name = tokio::select! {
        _ = terminate.recv() => "SIGTERM",
        _ = interrupt.recv() => "SIGINT",
    };
    tracing::info!(target: LOG_TARGET, signal = name, "Shutting down: in-flight requests finish");
}

/// What a scrape of the metrics path needs.
struct Scraping<C> {
    cli: Arc<C>,
    collectors: Collectors<C>,
    namespace: String,
    /// The server's own metrics, unless `--web.disable-exporter-metrics`.
    server_metrics: Option<Registry>,
}

impl<C: Send + Sync + 'static> Scraping<C> {
    async fn answer(&self, request: Request<()>) -> Answer {
        if request.method() != Method::GET && request.method() != Method::HEAD {
            return method_not_allowed();
        }
        let query = request.uri().query().unwrap_or_default();
        let selected = match self.collectors.select(
            &query_values(query, "collect[]"),
            &query_values(query, "exclude[]"),
        ) {
            Ok(selected) => selected,
            Err(refusal) => return owned_plain(StatusCode::BAD_REQUEST, format!("{refusal}\n")),
        };
        let names = selected_names(query);
        let announced = announced_timeout(&request);
        let negotiated = Format::negotiate(header_text(&request, header::ACCEPT));
        let gzip = accepts_gzip(header_text(&request, header::ACCEPT_ENCODING));
        let exposition = own_collections(async {
            let process_wide = crate::registry();
            process_wide.collect(announced).await;
            let outcomes = self
                .collectors
                .scrape(&self.cli, &selected, announced.unwrap_or(DEFAULT_DEADLINE))
                .await;
            let scrape = Registry::new();
            // First, so that a collector whose names clash with it is the one refused.
            if let Err(error) = scrape.register(Nested(process_wide.clone())) {
                tracing::error!(target: LOG_TARGET, err = %error, "the process-wide registry clashes");
            }
            if let Some(server_metrics) = &self.server_metrics {
                let _ = scrape.register(Nested(server_metrics.clone()));
            }
            let mut report = Vec::with_capacity(outcomes.len());
            for outcome in outcomes {
                let served = match outcome.metrics {
                    Some(metrics) => match scrape.register(metrics) {
                        Ok(()) => true,
                        Err(error) => {
                            tracing::error!(target: LOG_TARGET, name = %outcome.name, err = %error, "collector failed");
                            false
                        }
                    },
                    None => false,
                };
                report.push((outcome.name, outcome.seconds, served));
            }
            if !self.collectors.all.is_empty() {
                let _ = scrape.register(ScrapeReport::new(&self.namespace, report));
            }
            let mut exposition = Vec::new();
            scrape.encode_escaped(
                negotiated.format,
                negotiated.escaping,
                &mut exposition,
                &names,
            );
            exposition
        })
        .await;
        exposition_response(
            exposition,
            negotiated.content_type,
            gzip,
            request.method() == Method::HEAD,
        )
    }
}

/// A registry served inside another's exposition.
struct Nested(Registry);

impl Collect for Nested {
    fn describe(&self) -> Vec<FamilyDescription> {
        self.0.families()
    }

    fn encode(&self, encoder: &mut Encoder<'_>) {
        self.0.encode_onto(encoder);
    }
}
