//! Named collectors, as node_exporter has them (the exporter toolkit switches them by flags):
//! run concurrently at each scrape within its deadline, each one's failures kept to itself,
//! each reporting `<ns>_scrape_collector_duration_seconds{collector}` and
//! `<ns>_scrape_collector_success{collector}`.

use crate::encoding::{Encoder, Labels, Value};
use crate::metrics::MetricKind;
use crate::registry::{Collect, FamilyDescription};
use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;
/// What one collection produced: the families to serve.
pub(crate) type Produced = Result<Arc<dyn Collect>, BoxError>;
type ProducedFuture = Pin<Box<dyn Future<Output = Produced> + Send>>;

/// How a named collector reads its target.
pub(crate) enum Work<C> {
    Async(Arc<dyn Fn(&C) -> ProducedFuture + Send + Sync>),
    /// On tokio's blocking pool; `busy` while a collection's thread has not returned, so a hung
    /// target holds one thread, not one per scrape.
    Blocking(Arc<dyn Fn(&C) -> Produced + Send + Sync>, Arc<AtomicBool>),
}

pub(crate) struct NamedCollector<C> {
    pub(crate) name: String,
    pub(crate) enabled_by_default: bool,
    pub(crate) work: Work<C>,
}

impl<C: Send + Sync + 'static> NamedCollector<C> {
    pub(crate) fn new_async<F, Fut, M, E>(name: &str, enabled_by_default: bool, collect: F) -> Self
    where
        F: Fn(&C) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<M, E>> + Send + 'static,
        M: Collect,
        E: Into<BoxError>,
    {
        let work = Work::Async(Arc::new(move |cli: &C| {
            let future = collect(cli);
            Box::pin(async move {
                match future.await {
                    Ok(metrics) => Ok(Arc::new(metrics) as Arc<dyn Collect>),
                    Err(error) => Err(error.into()),
                }
            }) as ProducedFuture
        }));
        NamedCollector {
            name: name.to_owned(),
            enabled_by_default,
            work,
        }
    }

    pub(crate) fn new_blocking<F, M, E>(name: &str, enabled_by_default: bool, collect: F) -> Self
    where
        F: Fn(&C) -> Result<M, E> + Send + Sync + 'static,
        M: Collect,
        E: Into<BoxError>,
    {
        let work = Work::Blocking(
            Arc::new(move |cli: &C| match collect(cli) {
                Ok(metrics) => Ok(Arc::new(metrics) as Arc<dyn Collect>),
                Err(error) => Err(error.into()),
            }),
            Arc::new(AtomicBool::new(false)),
        );
        NamedCollector {
            name: name.to_owned(),
            enabled_by_default,
            work,
        }
    }

    /// Starts one collection within `deadline` at once (on a task or thread of its own), and
    /// returns what waits for it: what it produced, or why it produced nothing.
    fn start(
        &self,
        cli: &Arc<C>,
        deadline: Duration,
    ) -> impl Future<Output = Result<Arc<dyn Collect>, String>> + use<C> {
        enum Started {
            Task(tokio::task::JoinHandle<Result<Produced, tokio::time::error::Elapsed>>),
            Thread(tokio::task::JoinHandle<std::thread::Result<Produced>>),
            Busy,
        }
        let started = match &self.work {
            // A task of its own: a panic ends the task, not the scrape.
            Work::Async(collect) => {
                Started::Task(tokio::spawn(tokio::time::timeout(deadline, collect(cli))))
            }
            Work::Blocking(_, busy) if busy.swap(true, Ordering::AcqRel) => Started::Busy,
            Work::Blocking(collect, busy) => {
                let (collect, busy, cli) = (collect.clone(), busy.clone(), cli.clone());
                Started::Thread(tokio::task::spawn_blocking(move || {
                    let produced =
                        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| collect(&cli)));
                    busy.store(false, Ordering::Release);
                    produced
                }))
            }
        };
        async move {
            match started {
                Started::Task(task) => match task.await {
                    Ok(Ok(Ok(metrics))) => Ok(metrics),
                    Ok(Ok(Err(error))) => Err(error.to_string()),
                    Ok(Err(_)) => Err(format!("timed out after {deadline:?}")),
                    Err(_) => Err("panicked".to_owned()),
                },
                Started::Thread(thread) => match tokio::time::timeout(deadline, thread).await {
                    Ok(Ok(Ok(Ok(metrics)))) => Ok(metrics),
                    Ok(Ok(Ok(Err(error)))) => Err(error.to_string()),
                    Ok(Ok(Err(_)) | Err(_)) => Err("panicked".to_owned()),
                    Err(_) => Err(format!("timed out after {deadline:?}")),
                },
                Started::Busy => Err("the previous collection has not returned".to_owned()),
            }
        }
    }
}

/// The collectors of an exporter and which of them the flags switched on.
pub(crate) struct Collectors<C> {
    pub(crate) all: Vec<NamedCollector<C>>,
    pub(crate) enabled: Vec<bool>,
}

impl<C> Collectors<C> {
    pub(crate) fn enabled_names(&self) -> impl Iterator<Item = &str> {
        self.all
            .iter()
            .zip(&self.enabled)
            .filter(|(_, on)| **on)
            .map(|(collector, _)| collector.name.as_str())
    }

    /// The collectors a scrape runs: the enabled ones, narrowed by `collect[]` or `exclude[]`.
    /// A name that is not an enabled collector, or both filters at once, is the client's error.
    pub(crate) fn select(
        &self,
        collect: &[String],
        exclude: &[String],
    ) -> Result<Vec<usize>, String> {
        if !collect.is_empty() && !exclude.is_empty() {
            return Err("combined collect and exclude queries are not allowed".to_owned());
        }
        for name in collect.iter().chain(exclude) {
            if !self.enabled_names().any(|enabled| enabled == name) {
                return Err(format!("unknown or disabled collector: {name}"));
            }
        }
        Ok((0..self.all.len())
            .filter(|&index| self.enabled[index])
            .filter(|&index| {
                let name = &self.all[index].name;
                (collect.is_empty() || collect.contains(name)) && !exclude.contains(name)
            })
            .collect())
    }
}

impl<C: Send + Sync + 'static> Collectors<C> {
    /// Runs the `selected` collectors at once, each within `deadline`.
    pub(crate) async fn scrape(
        &self,
        cli: &Arc<C>,
        selected: &[usize],
        deadline: Duration,
    ) -> Vec<Outcome> {
        // Every collection starts before any is waited for, and each is timed by a waiter of
        // its own: they run at the same time, and a fast one is not timed by a slow one.
        let started: Vec<_> = selected
            .iter()
            .map(|&index| {
                let collector = &self.all[index];
                let start = Instant::now();
                let produced = collector.start(cli, deadline);
                let waiter = tokio::spawn(async move {
                    let produced = produced.await;
                    (produced, start.elapsed().as_secs_f64())
                });
                (collector, start, waiter)
            })
            .collect();
        let mut outcomes = Vec::with_capacity(started.len());
        for (collector, start, waiter) in started {
            let (produced, seconds) = match waiter.await {
                Ok(waited) => waited,
                // The waiter only matches on results: it fails only if the runtime shuts down.
                Err(_) => (
                    Err("not waited for".to_owned()),
                    start.elapsed().as_secs_f64(),
                ),
            };
            if let Err(error) = &produced {
                tracing::error!(
                    target: "promexport::exporter",
                    name = %collector.name,
                    duration_seconds = seconds,
                    err = %error,
                    "collector failed"
                );
            }
            outcomes.push(Outcome {
                name: collector.name.clone(),
                seconds,
                metrics: produced.ok(),
            });
        }
        outcomes
    }
}

/// What one collector gave a scrape.
pub(crate) struct Outcome {
    pub(crate) name: String,
    pub(crate) seconds: f64,
    pub(crate) metrics: Option<Arc<dyn Collect>>,
}

/// `<ns>_scrape_collector_duration_seconds` and `<ns>_scrape_collector_success` of one scrape.
pub(crate) struct ScrapeReport {
    pub(crate) duration_name: String,
    pub(crate) success_name: String,
    pub(crate) help_prefix: String,
    pub(crate) outcomes: Vec<(String, f64, bool)>,
}

impl ScrapeReport {
    pub(crate) fn new(namespace: &str, outcomes: Vec<(String, f64, bool)>) -> Self {
        ScrapeReport {
            duration_name: format!("{namespace}_scrape_collector_duration_seconds"),
            success_name: format!("{namespace}_scrape_collector_success"),
            help_prefix: namespace.to_owned(),
            outcomes,
        }
    }

    fn duration_help(&self) -> String {
        format!("{}: Duration of a collector scrape.", self.help_prefix)
    }

    fn success_help(&self) -> String {
        format!("{}: Whether a collector succeeded.", self.help_prefix)
    }
}

impl Collect for ScrapeReport {
    fn describe(&self) -> Vec<FamilyDescription> {
        vec![
            FamilyDescription {
                name: Cow::Owned(self.duration_name.clone()),
                kind: MetricKind::Gauge,
                help: Cow::Owned(self.duration_help()),
            },
            FamilyDescription {
                name: Cow::Owned(self.success_name.clone()),
                kind: MetricKind::Gauge,
                help: Cow::Owned(self.success_help()),
            },
        ]
    }

    fn encode(&self, encoder: &mut Encoder<'_>) {
        let help = self.duration_help();
        {
            let mut family = encoder.family_parts(
                &self.duration_name,
                &help,
                Some("seconds"),
                MetricKind::Gauge,
                "",
            );
            for (name, seconds, _) in &self.outcomes {
                family.gauge(Labels::NONE.with("collector", name), Value::F64(*seconds));
            }
        }
        let help = self.success_help();
        let mut family =
            encoder.family_parts(&self.success_name, &help, None, MetricKind::Gauge, "");
        for (name, _, success) in &self.outcomes {
            family.gauge(
                Labels::NONE.with("collector", name),
                Value::U64(u64::from(*success)),
            );
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::{Collectors, NamedCollector};
    use crate::registry::{Collect, FamilyDescription};

    struct Nothing;

    impl Collect for Nothing {
        fn describe(&self) -> Vec<FamilyDescription> {
            Vec::new()
        }
        fn encode(&self, _: &mut crate::Encoder<'_>) {}
    }

    pub(crate) fn collector(name: &str, enabled_by_default: bool) -> NamedCollector<()> {
        NamedCollector::new_blocking(name, enabled_by_default, |_: &()| {
            Ok::<_, std::io::Error>(Nothing)
        })
    }

    #[test]
    fn query_filters_name_enabled_collectors_only() {
        let collectors = Collectors {
            all: vec![
                collector("cpu", true),
                collector("disk", true),
                collector("ntp", false),
            ],
            enabled: vec![true, true, false],
        };
        let names = |list: &[&str]| list.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(collectors.select(&[], &[]).unwrap(), [0, 1]);
        assert_eq!(collectors.select(&names(&["disk"]), &[]).unwrap(), [1]);
        assert_eq!(collectors.select(&[], &names(&["disk"])).unwrap(), [0]);
        assert!(collectors.select(&names(&["ntp"]), &[]).is_err());
        assert!(collectors.select(&names(&["gpu"]), &[]).is_err());
        assert!(
            collectors
                .select(&names(&["cpu"]), &names(&["disk"]))
                .is_err()
        );
    }
}
