//! Registries: the set of collectors a scrape encodes, and the process-wide one built from the
//! `inventory` of every `#[derive(Metrics)]` struct linked into the binary.

use crate::Error;
#[cfg(feature = "prometheus-interop")]
use crate::encoding::encode_foreign;
use crate::encoding::{Encoder, Escaping, Format};
use crate::metrics::{Descriptor, MetricKind};
use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock, PoisonError, RwLock};

mod view;

pub(crate) use view::View;

/// Something that writes metric families into a scrape.
///
/// `#[derive(Metrics)]` implements it; implement it by hand for a collector that computes its
/// values when scraped.
pub trait Collect: Send + Sync + 'static {
    /// The families this collector writes (used for name checks and the landing page).
    fn describe(&self) -> Vec<FamilyDescription>;
    /// Writes the families.
    fn encode(&self, encoder: &mut Encoder<'_>);
    /// Who declares the family at `index` in [`describe`](Self::describe), in the words of a
    /// name-clash error: ``field `jobs` of `my_crate::AppMetrics` ``.
    ///
    /// `#[derive(Metrics)]` implements it; the default, `None`, lets the error name the
    /// collector's type.
    fn declared_by(&self, index: usize) -> Option<String> {
        let _ = index;
        None
    }
    /// Whether the collector is served now (default: always). One switched off (a
    /// [`DefaultCollector`](crate::DefaultCollector) after `disable()`) keeps its names, so
    /// switching it on again cannot clash, but is left out of the landing page.
    fn is_enabled(&self) -> bool {
        true
    }
    /// The label names of the family at `index` in [`describe`](Self::describe), besides the
    /// ones its type writes (`le`, `quantile`), when known at registration: a
    /// [`Registry::with_const_labels`] view refuses a collector whose families already have
    /// one of its labels. `#[derive(Metrics)]` and [`ConstFamily`](crate::ConstFamily)
    /// implement it; the default, `None`, is "not told", and is not checked.
    fn label_names(&self, index: usize) -> Option<Vec<Cow<'static, str>>> {
        let _ = index;
        None
    }
}

/// A collector behind a pointer is the collector pointed to: every method forwards, so none of
/// the defaults of the trait hides one the collector overrides.
macro_rules! forward_collect {
    ($($pointer:ty),*) => {$(
        impl<C: Collect + ?Sized> Collect for $pointer {
            fn describe(&self) -> Vec<FamilyDescription> {
                (**self).describe()
            }
            fn encode(&self, encoder: &mut Encoder<'_>) {
                (**self).encode(encoder);
            }
            fn declared_by(&self, index: usize) -> Option<String> {
                (**self).declared_by(index)
            }
            fn is_enabled(&self) -> bool {
                (**self).is_enabled()
            }
            fn label_names(&self, index: usize) -> Option<Vec<Cow<'static, str>>> {
                (**self).label_names(index)
            }
        }
    )*};
}

forward_collect!(Arc<C>, &'static C);

/// Two collectors served as one, the first's families before the second's: what a
/// `probe` handler (`Exporter::probe`, feature `exporter`) or a collector returns when it reads
/// two structs (the target's metrics and an `<ns>_up`, say).
///
/// ```
/// use promexport::{Format, Gauge, Metrics, Registry};
///
/// #[derive(Metrics)]
/// #[metrics(prefix = "queue", no_global)]
/// struct Depth {
///     /// Messages waiting.
///     depth: Gauge,
/// }
///
/// #[derive(Metrics)]
/// #[metrics(prefix = "queue", no_global)]
/// struct Consumers {
///     /// Consumers attached.
///     consumers: Gauge,
/// }
///
/// let registry = Registry::new();
/// registry.register((Depth::new(), Consumers::new()))?;
/// let text = registry.render(Format::Text);
/// assert!(text.find("queue_depth 0").unwrap() < text.find("queue_consumers 0").unwrap());
/// assert!(registry.register(Consumers::new()).is_err(), "the names of both are taken");
/// # Ok::<(), promexport::Error>(())
/// ```
impl<A: Collect, B: Collect> Collect for (A, B) {
    fn describe(&self) -> Vec<FamilyDescription> {
        let mut families = self.0.describe();
        families.extend(self.1.describe());
        families
    }
    fn encode(&self, encoder: &mut Encoder<'_>) {
        if self.0.is_enabled() {
            self.0.encode(encoder);
        }
        if self.1.is_enabled() {
            self.1.encode(encoder);
        }
    }
    fn declared_by(&self, index: usize) -> Option<String> {
        match second_index(&self.0, index) {
            None => self.0.declared_by(index),
            Some(index) => self.1.declared_by(index),
        }
    }
    fn is_enabled(&self) -> bool {
        self.0.is_enabled() || self.1.is_enabled()
    }
    fn label_names(&self, index: usize) -> Option<Vec<Cow<'static, str>>> {
        match second_index(&self.0, index) {
            None => self.0.label_names(index),
            Some(index) => self.1.label_names(index),
        }
    }
}

/// Where the family at `index` of a pair's description is: `None` for the `first` collector's,
/// else its index among the second's.
fn second_index(first: &impl Collect, index: usize) -> Option<usize> {
    index.checked_sub(first.describe().len())
}

/// ``field `name` of `type_name` `` for the field at `index`: what `#[derive(Metrics)]`
/// answers to [`Collect::declared_by`].
///
/// Not public API: called by generated code.
#[doc(hidden)]
pub fn field_declaring(fields: &[&str], type_name: &str, index: usize) -> Option<String> {
    let field = fields.get(index)?;
    Some(format!("field `{field}` of `{type_name}`"))
}

/// The label names of the field at `index`, then the struct's const labels: what
/// `#[derive(Metrics)]` answers to [`Collect::label_names`].
///
/// Not public API: called by generated code.
#[doc(hidden)]
pub fn field_label_names(
    fields: &[&'static [&'static str]],
    const_labels: &[&'static str],
    index: usize,
) -> Option<Vec<Cow<'static, str>>> {
    let own = fields.get(index)?.iter().chain(const_labels);
    Some(own.map(|name| Cow::Borrowed(*name)).collect())
}

/// Name, type and help of a family, as listed by [`Collect::describe`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FamilyDescription {
    /// Family name (without `_total` or `_info`).
    pub name: Cow<'static, str>,
    /// Family type.
    pub kind: MetricKind,
    /// HELP text.
    pub help: Cow<'static, str>,
}

impl From<&Descriptor> for FamilyDescription {
    fn from(desc: &Descriptor) -> Self {
        FamilyDescription {
            name: Cow::Borrowed(desc.name),
            kind: desc.kind,
            help: Cow::Borrowed(desc.help),
        }
    }
}

impl FamilyDescription {
    /// The name as text 0.0.4 exposes it: with `_total` for counters and `_info` for infos.
    pub fn exposed_name(&self) -> String {
        match self.kind {
            MetricKind::Counter if !self.name.ends_with("_total") => format!("{}_total", self.name),
            MetricKind::Info => format!("{}_info", self.name),
            _ => self.name.to_string(),
        }
    }

    /// Every name this family's samples (and its metadata) use.
    fn claimed_names(&self) -> impl Iterator<Item = String> + '_ {
        std::iter::once(self.name.to_string()).chain(
            self.kind
                .sample_suffixes()
                .iter()
                .filter(|suffix| !suffix.is_empty())
                .map(|suffix| format!("{}{suffix}", self.name)),
        )
    }
}

/// Who claimed a name: enough to say so in user terms if another family claims it too.
#[derive(Clone)]
struct Owner {
    /// The collector's type, when it cannot say more.
    source: Cow<'static, str>,
    collector: Option<Arc<dyn Collect>>,
    /// The position in the collector's `describe()` of the family whose samples use the name.
    family: usize,
}

impl Owner {
    fn describe(&self) -> String {
        self.collector
            .as_ref()
            .and_then(|collector| collector.declared_by(self.family))
            .unwrap_or_else(|| format!("`{}`", self.source))
    }
}

/// Which collector owns each name, to refuse a second family with the same name.
#[derive(Default)]
struct NameTable {
    owners: HashMap<String, Owner>,
}

impl NameTable {
    fn claim(
        &mut self,
        families: &[FamilyDescription],
        source: Cow<'static, str>,
        collector: Option<&Arc<dyn Collect>>,
    ) -> Result<(), Error> {
        let names = self.check(families, source, collector)?;
        self.owners.extend(names);
        Ok(())
    }

    /// Frees the names claimed by `families`.
    fn release(&mut self, families: &[FamilyDescription]) {
        for family in families {
            for name in family.claimed_names() {
                self.owners.remove(&name);
            }
        }
    }

    /// The names `families` would claim, or why they cannot: nothing is claimed yet, so a
    /// registration that can still fail after the check claims only once it has succeeded.
    fn check(
        &self,
        families: &[FamilyDescription],
        source: Cow<'static, str>,
        collector: Option<&Arc<dyn Collect>>,
    ) -> Result<Vec<(String, Owner)>, Error> {
        let names: Vec<(String, Owner)> = families
            .iter()
            .enumerate()
            .flat_map(|(index, family)| {
                let owner = Owner {
                    source: source.clone(),
                    collector: collector.cloned(),
                    family: index,
                };
                family
                    .claimed_names()
                    .map(move |name| (name, owner.clone()))
            })
            .collect();
        let mut clashes: Vec<Error> = Vec::new();
        for (position, (name, owner)) in names.iter().enumerate() {
            let clash = self.owners.get(name).cloned().or_else(|| {
                names[..position]
                    .iter()
                    .find(|(earlier, _)| earlier == name)
                    .map(|(_, earlier)| earlier.clone())
            });
            if let Some(first) = clash {
                clashes.push(Error::DuplicateMetric {
                    name: name.clone(),
                    first: first.describe(),
                    second: owner.describe(),
                });
            }
        }
        match clashes.len() {
            0 => Ok(names),
            1 => Err(clashes.remove(0)),
            _ => Err(Error::Clashes(clashes)),
        }
    }
}

/// A set of collectors encoded together, plus foreign `prometheus` collectors.
///
/// Most programs use the process-wide [`registry()`], which already holds every
/// `#[derive(Metrics)]` struct of the binary. Libraries and tests can build their own:
///
/// ```
/// use std::sync::Arc;
/// use promexport::{Counter, Format, Metrics, Registry};
///
/// #[derive(Metrics)]
/// #[metrics(prefix = "jobs")]
/// struct JobMetrics {
///     /// Jobs run.
///     runs: Counter,
/// }
///
/// let registry = Registry::new();
/// let metrics = Arc::new(JobMetrics::new());
/// registry.register(metrics.clone()).unwrap();
/// metrics.runs.inc();
/// assert_eq!(
///     registry.render(Format::Text),
///     "# HELP jobs_runs_total Jobs run.\n# TYPE jobs_runs_total counter\njobs_runs_total 1\n"
/// );
/// // The same names twice are refused, not silently overwritten.
/// assert!(registry.register(Arc::new(JobMetrics::new())).is_err());
/// ```
#[derive(Clone, Default)]
pub struct Registry {
    inner: Arc<Inner>,
    /// The prefix and labels of what is registered through this handle
    /// ([`with_prefix`](Self::with_prefix), [`with_const_labels`](Self::with_const_labels)).
    view: Option<Arc<View>>,
}

#[derive(Default)]
struct Inner {
    state: RwLock<State>,
    /// Collectors that read their target when scraped.
    #[cfg(feature = "serve")]
    refreshers: RwLock<Vec<Arc<dyn crate::collector::Refresh>>>,
    #[cfg(feature = "prometheus-interop")]
    foreign: prometheus::Registry,
    /// Size of the last exposition, to allocate the next one once.
    last_size: AtomicUsize,
    /// OpenMetrics `_created` lines ([`Registry::set_open_metrics_created`]).
    open_metrics_created: AtomicBool,
}

#[derive(Default)]
struct State {
    collectors: Vec<Arc<dyn Collect>>,
    /// What unregistering a `Collector` (feature `serve`) also stops, by the address of its
    /// entry in `collectors`.
    stops: HashMap<usize, Unregistered>,
    names: NameTable,
}

/// What to undo when a collector is unregistered besides serving it: its scrape-time
/// refresher (by the address of its state) and its interval loop.
struct Unregistered {
    refresher: usize,
    stop: Box<dyn FnOnce() + Send + Sync>,
}

/// The address of what an `Arc` points to, to find it again.
fn address<T: ?Sized>(arc: &Arc<T>) -> usize {
    Arc::as_ptr(arc).cast::<()>() as usize
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self
            .inner
            .state
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        f.debug_struct("Registry")
            .field("collectors", &state.collectors.len())
            .finish()
    }
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a collector; fails if one of its names is taken (with [`Error::Clashes`] if more
    /// than one is), and then adds nothing.
    ///
    /// Through a view ([`with_prefix`](Self::with_prefix),
    /// [`with_const_labels`](Self::with_const_labels)) the collector is served with the view's
    /// prefix and labels, and its names are claimed with the prefix.
    pub fn register(&self, collector: impl Collect) -> Result<(), Error> {
        let source = Cow::Borrowed(std::any::type_name_of_val(&collector));
        self.register_from(self.through_view(Arc::new(collector))?, source)
    }

    /// `collector` as this handle serves it: wrapped in its view, if it is one.
    fn through_view(&self, collector: Arc<dyn Collect>) -> Result<Arc<dyn Collect>, Error> {
        Ok(match &self.view {
            Some(view) => Arc::new(view::Wrapped::new(collector, view.clone())?),
            None => collector,
        })
    }

    fn register_from(
        &self,
        collector: Arc<dyn Collect>,
        source: Cow<'static, str>,
    ) -> Result<(), Error> {
        let mut state = self
            .inner
            .state
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        state
            .names
            .claim(&collector.describe(), source, Some(&collector))?;
        state.collectors.push(collector);
        Ok(())
    }

    /// Registers a `Collector` (feature `serve`)'s state: unregistering it also removes its
    /// refresher (found by the address of `collector`) and calls `stop`.
    #[cfg(feature = "serve")]
    pub(crate) fn register_stoppable<C: Collect>(
        &self,
        collector: Arc<C>,
        stop: Box<dyn FnOnce() + Send + Sync>,
    ) -> Result<(), Error> {
        let refresher = address(&collector);
        let source = Cow::Borrowed(std::any::type_name::<C>());
        let entry = self.through_view(collector)?;
        let key = address(&entry);
        self.register_from(entry, source)?;
        let mut state = self
            .inner
            .state
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        state.stops.insert(key, Unregistered { refresher, stop });
        Ok(())
    }

    /// Removes the collector registered as `collector` (through this handle's view, if it is
    /// one) and frees its names; returns whether there was one, as client_golang's
    /// `Unregister`.
    ///
    /// A registered collector is the one whose [`describe`](Collect::describe) lists the same
    /// families (names, types and help): pass the instance itself, or one built the same way.
    /// One that describes no family cannot be found. A `Collector` (feature `serve`) is
    /// removed by its prefix, with `unregister_collector` (feature `serve`). A struct of the
    /// process-wide [`registry()`] is found too (`registry().register(Struct::global())`
    /// serves it again).
    ///
    /// ```
    /// use promexport::{Counter, Format, Metrics, Registry};
    /// use std::sync::Arc;
    ///
    /// #[derive(Metrics)]
    /// #[metrics(prefix = "tenant", no_global)]
    /// struct TenantMetrics {
    ///     /// Requests of the tenant.
    ///     requests: Counter,
    /// }
    ///
    /// let registry = Registry::new();
    /// let metrics = Arc::new(TenantMetrics::new());
    /// registry.register(metrics.clone())?;
    /// assert!(registry.unregister(&*metrics));
    /// assert!(!registry.render(Format::Text).contains("tenant_requests"));
    /// assert!(!registry.unregister(&*metrics), "already gone");
    /// registry.register(metrics)?; // its names are free again
    /// # Ok::<(), promexport::Error>(())
    /// ```
    pub fn unregister(&self, collector: &dyn Collect) -> bool {
        let families = match &self.view {
            Some(view) => view.describe(collector),
            None => collector.describe(),
        };
        !families.is_empty()
            && self.remove(|state| {
                let mut registered = state.collectors.iter();
                registered.position(|registered| registered.describe() == families)
            })
    }

    /// Removes the `Collector` (feature `serve`) registered with `prefix` (through this
    /// handle's view, if it is one): it is collected no more (an interval collector's loop
    /// stops), and its names and those of its target's metrics are free again. Returns
    /// whether there was one.
    ///
    /// ```
    /// use promexport::{Collector, ConstMetrics, Format, Registry};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), promexport::Error> {
    /// let registry = Registry::new();
    /// let read = || async { Ok::<_, std::io::Error>(ConstMetrics::new()) };
    /// Collector::new("queue", read).register_in(&registry)?;
    /// assert!(registry.unregister_collector("queue"));
    /// assert!(!registry.render(Format::Text).contains("queue_up"));
    /// assert!(!registry.unregister_collector("queue"));
    /// Collector::new("queue", read).register_in(&registry)?; // registrable again
    /// # Ok(())
    /// # }
    /// ```
    #[cfg(feature = "serve")]
    #[cfg_attr(docsrs, doc(cfg(feature = "serve")))]
    pub fn unregister_collector(&self, prefix: &str) -> bool {
        let view_prefix = self.view.as_deref().map_or("", |view| view.prefix.as_str());
        let up = format!("{view_prefix}{prefix}_up");
        // A struct that happens to serve `<prefix>_up` is no collector: it is not stoppable.
        self.remove(|state| {
            let owner = state.names.owners.get(&up)?.collector.as_ref()?;
            let position = state
                .collectors
                .iter()
                .position(|c| Arc::ptr_eq(c, owner))?;
            state
                .stops
                .contains_key(&address(owner))
                .then_some(position)
        })
    }

    /// Removes the collector `find` points at, frees its names and stops what it runs.
    fn remove(&self, find: impl FnOnce(&State) -> Option<usize>) -> bool {
        let mut state = self
            .inner
            .state
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        let Some(position) = find(&state) else {
            return false;
        };
        let removed = state.collectors.remove(position);
        state.names.release(&removed.describe());
        let stop = state.stops.remove(&address(&removed));
        drop(state);
        if let Some(Unregistered { refresher, stop }) = stop {
            #[cfg(feature = "serve")]
            self.inner
                .refreshers
                .write()
                .unwrap_or_else(PoisonError::into_inner)
                .retain(|candidate| address(candidate) != refresher);
            #[cfg(not(feature = "serve"))]
            let _ = refresher;
            stop();
        }
        true
    }

    /// Adds a collector of the `prometheus` crate (interop with code already instrumented with it).
    ///
    /// Its families are gathered at each scrape and re-encoded by promexport's encoder. They
    /// claim their names as the families of their type do (a histogram `x` also takes
    /// `x_bucket`, `x_sum` and `x_count`), and only if the `prometheus` registry accepts the
    /// collector ([`Error::Foreign`] if it does not).
    #[cfg(feature = "prometheus-interop")]
    #[cfg_attr(docsrs, doc(cfg(feature = "prometheus-interop")))]
    pub fn register_prometheus(
        &self,
        collector: Box<dyn prometheus::core::Collector>,
    ) -> Result<(), Error> {
        if self.view.is_some() {
            return Err(Error::Config(
                "a collector of the `prometheus` crate cannot be registered through a registry view"
                    .to_owned(),
            ));
        }
        let families = crate::encoding::describe_foreign(&*collector);
        let source = Cow::Borrowed("prometheus collector");
        let mut state = self
            .inner
            .state
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        let names = state.names.check(&families, source, None)?;
        self.inner
            .foreign
            .register(collector)
            .map_err(|error| Error::Foreign(Box::new(error)))?;
        state.names.owners.extend(names);
        Ok(())
    }

    /// Identifies this registry and its clones without keeping it alive (the server keeps its
    /// own metrics per registry).
    #[cfg(feature = "serve")]
    pub(crate) fn identity(&self) -> std::sync::Weak<dyn std::any::Any + Send + Sync> {
        let inner: Arc<dyn std::any::Any + Send + Sync> = self.inner.clone();
        Arc::downgrade(&inner)
    }

    #[cfg(feature = "serve")]
    pub(crate) fn add_refresh(&self, collector: Arc<dyn crate::collector::Refresh>) {
        let mut refreshers = self
            .inner
            .refreshers
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        refreshers.push(collector);
    }

    /// Runs the scrape-time `Collector` (feature `serve`)s (concurrently, each at most
    /// `scrape_timeout` or its own timeout) so that the next [`encode`](Self::encode) serves
    /// what they read. The server calls it before each scrape.
    #[cfg(feature = "serve")]
    #[cfg_attr(docsrs, doc(cfg(feature = "serve")))]
    pub async fn collect(&self, scrape_timeout: Option<std::time::Duration>) {
        let refreshers = self
            .inner
            .refreshers
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        // All start before any is awaited: they run at the same time.
        let pending: Vec<_> = refreshers
            .into_iter()
            .map(|collector| collector.refresh(scrape_timeout))
            .collect();
        for collection in pending {
            collection.await;
        }
    }

    /// Names, types and help of every family served, in exposition order.
    pub fn families(&self) -> Vec<FamilyDescription> {
        let state = self
            .inner
            .state
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        let families = state
            .collectors
            .iter()
            .filter(|collector| (**collector).is_enabled())
            .flat_map(|collector| collector.describe());
        #[cfg(feature = "prometheus-interop")]
        let families = families.chain(self.inner.foreign.gather().into_iter().map(|family| {
            FamilyDescription {
                name: Cow::Owned(family.name().to_owned()),
                kind: MetricKind::Unknown,
                help: Cow::Owned(family.help().to_owned()),
            }
        }));
        families.collect()
    }

    /// Whether OpenMetrics expositions of this registry (on every server, handler and push)
    /// carry the `_created` line of counters, histograms and summaries; off by default (see
    /// [`Encoder::open_metrics_created`]). Protobuf always carries created timestamps, text
    /// 0.0.4 never.
    ///
    /// ```
    /// use promexport::{Format, Metrics, Registry};
    /// #[derive(Metrics)]
    /// struct Jobs {
    ///     /// Jobs run.
    ///     runs: promexport::Counter,
    /// }
    /// let registry = Registry::new();
    /// registry.register(std::sync::Arc::new(Jobs::new()))?;
    /// assert!(!registry.render(Format::OpenMetrics).contains("runs_created"));
    /// registry.set_open_metrics_created(true);
    /// assert!(registry.render(Format::OpenMetrics).contains("\nruns_created "));
    /// assert!(!registry.render(Format::Text).contains("_created"));
    /// # Ok::<(), promexport::Error>(())
    /// ```
    pub fn set_open_metrics_created(&self, on: bool) {
        self.inner.open_metrics_created.store(on, Ordering::Relaxed);
    }

    /// Appends the exposition of every family to `out`.
    pub fn encode(&self, format: Format, out: &mut Vec<u8>) {
        self.encode_selected(format, out, &[]);
    }

    /// Appends the exposition of the families named in `selected` (family or sample names, as
    /// `name[]` query parameters give them), or of all of them when it is empty.
    pub fn encode_selected(&self, format: Format, out: &mut Vec<u8>, selected: &[String]) {
        self.encode_escaped(format, Escaping::default(), out, selected);
    }

    /// [`encode_selected`](Self::encode_selected) with names that are not legacy-valid written
    /// as `escaping` says (what a scraper's `Accept` asks for: [`Escaping::from_accept`]).
    ///
    /// ```
    /// use promexport::{Counter, Escaping, Format, Metrics, Registry};
    /// #[derive(Metrics)]
    /// #[metrics(no_global)]
    /// struct Http {
    ///     /// Requests served.
    ///     #[metric(name = "http.server.requests")]
    ///     requests: Counter,
    /// }
    /// let registry = Registry::new();
    /// registry.register(std::sync::Arc::new(Http::new()))?;
    /// let mut out = Vec::new();
    /// registry.encode_escaped(Format::Text, Escaping::AllowUtf8, &mut out, &[]);
    /// assert!(String::from_utf8(out)?.ends_with("\n{\"http.server.requests_total\"} 0\n"));
    /// assert!(registry.render(Format::Text).ends_with("\nhttp_server_requests_total 0\n"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn encode_escaped(
        &self,
        format: Format,
        escaping: Escaping,
        out: &mut Vec<u8>,
        selected: &[String],
    ) {
        let start = out.len();
        out.reserve(self.inner.last_size.load(Ordering::Relaxed));
        self.encode_all(Encoder::selecting(out, format, selected).escaping(escaping));
        self.inner
            .last_size
            .store(out.len() - start, Ordering::Relaxed);
    }

    /// The size of the last exposition [`encode_selected`](Self::encode_selected) or a streamed
    /// scrape wrote: the server streams the scrapes of a registry that serves a large one.
    #[cfg(feature = "serve")]
    pub(crate) fn last_exposition_size(&self) -> usize {
        self.inner.last_size.load(Ordering::Relaxed)
    }

    /// Like [`encode_selected`](Self::encode_selected), but handing the exposition to `chunks`
    /// in pieces of about [`CHUNK_BYTES`](crate::encoding::CHUNK_BYTES) as it is written.
    #[cfg(feature = "serve")]
    pub(crate) fn encode_streamed(
        &self,
        format: Format,
        escaping: Escaping,
        selected: &[String],
        chunks: &mut dyn crate::encoding::ChunkSink,
    ) {
        let chunk = crate::encoding::CHUNK_BYTES;
        // A series can take the buffer past the chunk size before the next boundary.
        let mut out = Vec::with_capacity(chunk + chunk / 2);
        self.encode_all(
            Encoder::selecting(&mut out, format, selected)
                .escaping(escaping)
                .streaming_to(chunks),
        );
        let size = chunks.end(&mut out);
        self.inner.last_size.store(size, Ordering::Relaxed);
    }

    fn encode_all(&self, encoder: Encoder<'_>) {
        let created_lines = self.inner.open_metrics_created.load(Ordering::Relaxed);
        let mut encoder = encoder.open_metrics_created(created_lines);
        self.encode_onto(&mut encoder);
        encoder.finish();
    }

    /// Encodes every family onto `encoder`, leaving it open: this registry's scrape, or one
    /// inside another registry's (the exporter toolkit serves this registry in each of its own).
    pub(crate) fn encode_onto(&self, encoder: &mut Encoder<'_>) {
        let collectors = self
            .inner
            .state
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .collectors
            .clone();
        for collector in &collectors {
            collector.encode(encoder);
        }
        #[cfg(feature = "prometheus-interop")]
        encode_foreign(encoder, &self.inner.foreign.gather());
    }

    /// Hands every series of every family to `sink` (remote write), through the same typed
    /// family API an exposition is written with.
    #[cfg(feature = "remote-write")]
    pub(crate) fn encode_to_sink(&self, sink: &mut dyn crate::encoding::series_sink::SeriesSink) {
        let mut headers = Vec::new();
        self.encode_onto(&mut Encoder::to_sink(&mut headers, sink));
    }

    /// The exposition of every family, as a string.
    ///
    /// For the text formats; [`Format::Protobuf`] is binary, and comes out here with its
    /// invalid UTF-8 replaced: use [`render_bytes`](Self::render_bytes) or
    /// [`encode`](Self::encode).
    pub fn render(&self, format: Format) -> String {
        match String::from_utf8(self.render_bytes(format)) {
            Ok(text) => text,
            Err(binary) => String::from_utf8_lossy(binary.as_bytes()).into_owned(),
        }
    }

    /// The exposition of every family, in any format.
    pub fn render_bytes(&self, format: Format) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode(format, &mut out);
        out
    }
}

/// One `#[derive(Metrics)]` struct, submitted to `inventory` by the derive.
///
/// Not public API: built only by generated code.
#[doc(hidden)]
#[derive(Debug)]
pub struct Registration {
    /// Path of the struct, for error messages.
    pub type_name: &'static str,
    /// Its families, known without creating the instance.
    pub descriptors: &'static [Descriptor],
    /// Who declares the family at an index of `descriptors` (`Collect::declared_by`), known
    /// without creating the instance.
    pub declared_by: fn(usize) -> Option<String>,
    /// The process-wide instance (created on first call).
    pub instance: fn() -> &'static dyn Collect,
}

inventory::collect!(Registration);

fn default_collectors() -> Vec<(Cow<'static, str>, Arc<dyn Collect>)> {
    #[allow(unused_mut)]
    let mut collectors: Vec<(Cow<'static, str>, Arc<dyn Collect>)> = vec![(
        Cow::Borrowed("promexport::BuildInfo"),
        Arc::new(crate::collector::BuildInfo::detect()),
    )];
    if crate::instrument::FunctionsCollector::any() {
        collectors.push((
            Cow::Borrowed("#[promexport::instrument]"),
            Arc::new(crate::instrument::FunctionsCollector),
        ));
    }
    #[cfg(all(feature = "process", target_os = "linux"))]
    collectors.push((
        Cow::Borrowed("promexport::ProcessCollector"),
        Arc::new(crate::collector::ProcessCollector::new()),
    ));
    collectors
}

/// A submitted struct, described from its registration and created when first encoded, so
/// that building the process-wide registry creates no instance: a `#[metric(skip)]` field
/// whose `Default` calls [`registry()`] then finds it built instead of waiting on itself.
struct Submitted(&'static Registration);

impl Collect for Submitted {
    fn describe(&self) -> Vec<FamilyDescription> {
        self.0
            .descriptors
            .iter()
            .map(FamilyDescription::from)
            .collect()
    }

    fn encode(&self, encoder: &mut Encoder<'_>) {
        (self.0.instance)().encode(encoder);
    }

    fn declared_by(&self, index: usize) -> Option<String> {
        (self.0.declared_by)(index)
    }
}

/// The process-wide registry and every clash met while filling it.
struct Global {
    registry: Registry,
    clashes: Vec<Error>,
}

static GLOBAL: OnceLock<Global> = OnceLock::new();

fn global() -> &'static Global {
    GLOBAL.get_or_init(|| {
        let registry = Registry::new();
        let mut clashes = Vec::new();
        let defaults = default_collectors().into_iter();
        // By type path, not link order, so which of two clashing structs is served does not
        // change from one build to the next.
        let mut registrations: Vec<&Registration> =
            inventory::iter::<Registration>.into_iter().collect();
        registrations.sort_by_key(|registration| registration.type_name);
        let submitted = registrations.into_iter().map(|r| {
            (
                Cow::Borrowed(r.type_name),
                Arc::new(Submitted(r)) as Arc<dyn Collect>,
            )
        });
        for (source, collector) in defaults.chain(submitted) {
            // A clash keeps the first family served and is reported by `check()` and `serve`.
            match registry.register_from(collector, source) {
                Err(Error::Clashes(all)) => clashes.extend(all),
                Err(clash) => clashes.push(clash),
                Ok(()) => {}
            }
        }
        clashes.extend(crate::instrument::series_clashes());
        Global { registry, clashes }
    })
}

/// A copy of a clash error (`Error` is not `Clone`: it holds an `io::Error`).
fn copy_clash(error: &Error) -> Option<Error> {
    match error {
        Error::DuplicateMetric {
            name,
            first,
            second,
        } => Some(Error::DuplicateMetric {
            name: name.clone(),
            first: first.clone(),
            second: second.clone(),
        }),
        Error::DuplicateSeries {
            family,
            labels,
            first,
            second,
        } => Some(Error::DuplicateSeries {
            family: family.clone(),
            labels: labels.clone(),
            first: first.clone(),
            second: second.clone(),
        }),
        _ => None,
    }
}

/// The process-wide registry: default collectors plus every `#[derive(Metrics)]` struct of the binary.
///
/// Created on first use; each struct's `global()` instance is created when first used or
/// scraped, whichever comes first, so its metrics are served at zero before any code touched
/// them.
pub fn registry() -> &'static Registry {
    &global().registry
}

/// Checks that no two metric families of the binary share a name, and that no two
/// `#[promexport::instrument]`ed functions would serve the same series.
///
/// `serve` (feature `serve`) calls it at startup; call it from a test to catch a clash between two
/// crates before deployment:
///
/// ```
/// promexport::check().expect("metric names are unique");
/// ```
///
/// One clash is an [`Error::DuplicateMetric`] or an [`Error::DuplicateSeries`]; more are an
/// [`Error::Clashes`] listing each. Of two clashing structs, the one whose type path sorts
/// first is served; of two functions, the one whose module, name and location sort first.
pub fn check() -> Result<(), Error> {
    let mut clashes: Vec<Error> = global().clashes.iter().filter_map(copy_clash).collect();
    match clashes.len() {
        0 => Ok(()),
        1 => Err(clashes.remove(0)),
        _ => Err(Error::Clashes(clashes)),
    }
}

/// The exposition of the process-wide [`registry()`] as a string, for tests and debugging.
pub fn render(format: Format) -> String {
    registry().render(format)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn family(name: &'static str, kind: MetricKind) -> FamilyDescription {
        FamilyDescription {
            name: Cow::Borrowed(name),
            kind,
            help: Cow::Borrowed(""),
        }
    }

    #[test]
    fn names_clash_through_sample_suffixes() {
        let mut table = NameTable::default();
        let a = Cow::Borrowed("a");
        table
            .claim(&[family("jobs", MetricKind::Counter)], a.clone(), None)
            .unwrap();
        let error = table
            .claim(
                &[family("jobs_total", MetricKind::Gauge)],
                Cow::Borrowed("b"),
                None,
            )
            .unwrap_err();
        assert!(
            matches!(error, Error::DuplicateMetric { ref name, ref first, .. } if name == "jobs_total" && first == "`a`")
        );
        let error = table
            .claim(
                &[
                    family("x", MetricKind::Histogram),
                    family("x_count", MetricKind::Gauge),
                ],
                a.clone(),
                None,
            )
            .unwrap_err();
        assert!(matches!(error, Error::DuplicateMetric { ref name, .. } if name == "x_count"));
        // A failed claim takes nothing.
        table
            .claim(&[family("x", MetricKind::Gauge)], a, None)
            .unwrap();
    }

    #[test]
    fn every_clash_of_a_collector_is_reported_and_named_by_its_collector() {
        let mut table = NameTable::default();
        table
            .claim(
                &[
                    family("a", MetricKind::Gauge),
                    family("b", MetricKind::Gauge),
                ],
                Cow::Borrowed("first"),
                None,
            )
            .unwrap();
        let collector: Arc<dyn Collect> = Arc::new(Named);
        let error = table
            .claim(
                &[
                    family("a", MetricKind::Gauge),
                    family("b", MetricKind::Gauge),
                ],
                Cow::Borrowed("second"),
                Some(&collector),
            )
            .unwrap_err();
        let Error::Clashes(clashes) = error else {
            panic!("{error:?}");
        };
        let described: Vec<_> = clashes
            .iter()
            .map(|clash| match clash {
                Error::DuplicateMetric {
                    name,
                    first,
                    second,
                } => (name.as_str(), first.as_str(), second.as_str()),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(
            described,
            [
                ("a", "`first`", "family 0 of Named"),
                ("b", "`first`", "family 1 of Named")
            ]
        );
    }

    struct Named;

    impl Collect for Named {
        fn describe(&self) -> Vec<FamilyDescription> {
            Vec::new()
        }
        fn encode(&self, _: &mut Encoder<'_>) {}
        fn declared_by(&self, index: usize) -> Option<String> {
            Some(format!("family {index} of Named"))
        }
    }
}
