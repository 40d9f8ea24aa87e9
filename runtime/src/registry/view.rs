//! Registry views ([`Registry::with_prefix`], [`Registry::with_const_labels`]): collectors
//! registered through one are served with a name prefix and extra labels.

use super::{Collect, FamilyDescription, Registry};
use crate::encoding::{Encoder, escape_label_value_into};
use crate::metrics::MetricKind;
use crate::{Error, naming};
use std::borrow::Cow;
use std::sync::Arc;

/// The prefix and labels of a view, flattened: a view of a view holds both prefixes (the
/// outer one first) and the labels of both.
#[derive(Debug, Clone, Default)]
pub(crate) struct View {
    pub(crate) prefix: String,
    labels: Vec<(String, String)>,
}

impl View {
    /// This view with `prefix` after its own.
    pub(super) fn with_prefix(&self, prefix: &str) -> Result<View, Error> {
        if let Some(problem) = naming::metric_name_problem(prefix) {
            return Err(Error::InvalidName(format!("registry prefix: {problem}")));
        }
        Ok(View {
            prefix: format!("{}{prefix}", self.prefix),
            labels: self.labels.clone(),
        })
    }

    /// This view with more labels.
    pub(super) fn with_labels(&self, labels: &[(&str, &str)]) -> Result<View, Error> {
        let mut all = self.labels.clone();
        for &(name, value) in labels {
            if let Some(problem) = naming::label_name_problem(name) {
                return Err(Error::InvalidName(format!("registry label: {problem}")));
            }
            if all.iter().any(|(earlier, _)| earlier == name) {
                return Err(Error::LabelConflict {
                    label: name.to_owned(),
                    family: None,
                });
            }
            all.push((name.to_owned(), value.to_owned()));
        }
        Ok(View {
            prefix: self.prefix.clone(),
            labels: all,
        })
    }

    /// `outer` applied over this view (a collector of a view served inside another view's
    /// encoding).
    fn within(&self, outer: &View) -> View {
        let mut labels = outer.labels.clone();
        labels.extend(
            self.labels
                .iter()
                .filter(|(name, _)| !outer.labels.iter().any(|(taken, _)| taken == name))
                .cloned(),
        );
        View {
            prefix: format!("{}{}", outer.prefix, self.prefix),
            labels,
        }
    }

    /// The families of `collector` as registered through this view.
    pub(super) fn describe(&self, collector: &dyn Collect) -> Vec<FamilyDescription> {
        let families = collector.describe().into_iter();
        families.map(|family| self.description(family)).collect()
    }

    fn description(&self, family: FamilyDescription) -> FamilyDescription {
        FamilyDescription {
            name: Cow::Owned(format!("{}{}", self.prefix, family.name)),
            ..family
        }
    }

    /// Refuses a collector one of whose families already has a label of this view (or writes
    /// it: `le`, `quantile`, a state set's own name), as far as the collector tells its label
    /// names ([`Collect::label_names`]).
    fn check(&self, collector: &dyn Collect) -> Result<(), Error> {
        if self.labels.is_empty() {
            return Ok(());
        }
        for (index, family) in collector.describe().iter().enumerate() {
            let declared = collector.label_names(index).unwrap_or_default();
            let written: &[&str] = match family.kind {
                MetricKind::Histogram | MetricKind::GaugeHistogram => &["le"],
                MetricKind::Summary => &["quantile"],
                _ => &[],
            };
            let state_set = (family.kind == MetricKind::StateSet).then_some(&*family.name);
            for (label, _) in &self.labels {
                let taken = declared.iter().any(|name| name == label)
                    || written.contains(&label.as_str())
                    || state_set == Some(label.as_str());
                if taken {
                    return Err(Error::LabelConflict {
                        label: label.clone(),
                        family: Some(format!("{}{}", self.prefix, family.name)),
                    });
                }
            }
        }
        Ok(())
    }

    /// The const labels of a family served through this view: its own, then the view's,
    /// less those it `declared` itself (which keep the family's value).
    pub(crate) fn const_labels_into(
        &self,
        out: &mut String,
        own: &str,
        declared: &[impl AsRef<str>],
    ) {
        out.push_str(own);
        for (name, value) in &self.labels {
            if declared.iter().any(|taken| taken.as_ref() == name) {
                continue;
            }
            if !out.is_empty() {
                out.push(',');
            }
            out.push_str(name);
            out.push_str("=\"");
            escape_label_value_into(out, value);
            out.push('"');
        }
    }
}

/// A collector registered through a view.
pub(super) struct Wrapped {
    pub(super) inner: Arc<dyn Collect>,
    pub(super) view: Arc<View>,
}

impl Wrapped {
    pub(super) fn new(inner: Arc<dyn Collect>, view: Arc<View>) -> Result<Self, Error> {
        view.check(&*inner)?;
        Ok(Wrapped { inner, view })
    }
}

impl Collect for Wrapped {
    fn describe(&self) -> Vec<FamilyDescription> {
        self.view.describe(&*self.inner)
    }

    fn encode(&self, encoder: &mut Encoder<'_>) {
        let outer = encoder.view.take();
        encoder.view = Some(match &outer {
            Some(outer) => Arc::new(self.view.within(outer)),
            None => self.view.clone(),
        });
        self.inner.encode(encoder);
        encoder.view = outer;
    }

    fn declared_by(&self, index: usize) -> Option<String> {
        self.inner.declared_by(index)
    }

    fn is_enabled(&self) -> bool {
        self.inner.is_enabled()
    }

    fn label_names(&self, index: usize) -> Option<Vec<Cow<'static, str>>> {
        let mut names = self.inner.label_names(index)?;
        let view = self.view.labels.iter();
        names.extend(view.map(|(name, _)| Cow::Owned(name.clone())));
        Some(names)
    }
}

impl Registry {
    /// A view of this registry that serves everything registered through it with `prefix`
    /// before each family name, as client_golang's `WrapRegistererWithPrefix`.
    ///
    /// The view shares the registry: rendering or serving either serves every collector. A
    /// view of a view puts both prefixes in front (`a.with_prefix("x_")?.with_prefix("y_")?`
    /// serves `x_y_<name>`). An invalid prefix is an [`Error::InvalidName`]; the names with the
    /// prefix are checked for clashes as any other.
    ///
    /// ```
    /// use promexport::{Counter, Format, Metrics, Registry};
    ///
    /// #[derive(Metrics)]
    /// #[metrics(no_global)]
    /// struct Jobs {
    ///     /// Jobs run.
    ///     runs: Counter,
    /// }
    ///
    /// let registry = Registry::new();
    /// let mail = registry.with_prefix("mail_")?.with_const_labels(&[("queue", "outgoing")])?;
    /// mail.register(Jobs::new())?;
    /// registry.register(Jobs::new())?; // `runs` and `mail_runs` do not clash
    /// let text = registry.render(Format::Text);
    /// assert!(text.contains("mail_runs_total{queue=\"outgoing\"} 0\n"));
    /// assert!(text.contains("\nruns_total 0\n"));
    /// assert!(registry.with_prefix("__mail_").is_err()); // `__` is reserved
    /// # Ok::<(), promexport::Error>(())
    /// ```
    pub fn with_prefix(&self, prefix: &str) -> Result<Registry, Error> {
        let view = self.view.as_deref().cloned().unwrap_or_default();
        Ok(self.viewed(view.with_prefix(prefix)?))
    }

    /// A view of this registry that adds `labels` to every series registered through it, as
    /// client_golang's `WrapRegistererWith`. Values are raw (escaped here).
    ///
    /// An invalid label name is an [`Error::InvalidName`]; registering a collector one of
    /// whose families already has one of these labels (or writes it: `le` in histograms,
    /// `quantile` in summaries) is an [`Error::LabelConflict`], as far as the collector tells
    /// its label names ([`Collect::label_names`]: derived structs and
    /// [`ConstFamily`](crate::ConstFamily) do). A family that did not tell, and turns out to
    /// have the label when written ([`ConstMetrics`](crate::ConstMetrics) collected later),
    /// keeps its own value, and the view's is left out of it.
    ///
    /// ```
    /// use promexport::{ConstFamily, Error, Registry};
    /// let registry = Registry::new();
    /// let tenant = registry.with_const_labels(&[("tenant", "a")])?;
    /// let own = ConstFamily::gauge("quota", "Quota.", &["tenant"])?;
    /// assert!(matches!(tenant.register(own), Err(Error::LabelConflict { .. })));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn with_const_labels(&self, labels: &[(&str, &str)]) -> Result<Registry, Error> {
        let view = self.view.as_deref().cloned().unwrap_or_default();
        Ok(self.viewed(view.with_labels(labels)?))
    }

    fn viewed(&self, view: View) -> Registry {
        Registry {
            inner: self.inner.clone(),
            view: Some(Arc::new(view)),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::{
        ConstFamily, ConstMetrics, Counter, Error, Family, Format, Histogram, LabelSet, Registry,
    };
    use std::sync::Arc;

    #[derive(Clone, PartialEq, Eq, Hash, LabelSet)]
    #[label(crate = crate)]
    struct TenantLabels {
        tenant: String,
    }

    #[derive(crate::Metrics)]
    #[metrics(crate = crate, no_global)]
    struct Requests {
        /// Requests by tenant.
        requests: Family<TenantLabels, Counter>,
    }

    #[derive(crate::Metrics)]
    #[metrics(crate = crate, no_global, const_labels(zone = "a"))]
    struct Latency {
        /// Latency.
        latency: Histogram,
    }

    #[test]
    fn a_label_the_family_has_or_writes_is_refused_at_registration() {
        let registry = Registry::new();
        let tenant = registry.with_const_labels(&[("tenant", "a")]).unwrap();
        let error = tenant.register(Requests::new()).unwrap_err();
        assert!(
            matches!(&error, Error::LabelConflict { label, family: Some(family) }
                if label == "tenant" && family == "requests"),
            "{error:?}"
        );
        for label in ["le", "zone"] {
            let view = registry.with_const_labels(&[(label, "x")]).unwrap();
            let error = view.register(Latency::new()).unwrap_err();
            assert!(matches!(error, Error::LabelConflict { .. }), "{error:?}");
        }
        // In a pair too, whichever of the two has the label.
        for error in [
            tenant
                .register((Requests::new(), Latency::new()))
                .unwrap_err(),
            tenant
                .register((Latency::new(), Requests::new()))
                .unwrap_err(),
        ] {
            assert!(
                matches!(&error, Error::LabelConflict { label, family: Some(family) }
                    if label == "tenant" && family == "requests"),
                "{error:?}"
            );
        }
        let twice = tenant.with_const_labels(&[("tenant", "b")]).unwrap_err();
        assert!(matches!(twice, Error::LabelConflict { family: None, .. }));
        for label in ["", "__tenant"] {
            let invalid = registry.with_const_labels(&[(label, "x")]).unwrap_err();
            assert!(matches!(invalid, Error::InvalidName(_)), "{invalid:?}");
        }
        for prefix in ["", "__"] {
            let error = registry.with_prefix(prefix).unwrap_err();
            assert!(
                matches!(error, Error::InvalidName(_)),
                "{prefix}: {error:?}"
            );
        }
        // Nothing was registered by the refused attempts.
        registry.register(Requests::new()).unwrap();
    }

    #[test]
    fn views_compose_prefixes_and_labels_and_claim_prefixed_names() {
        let registry = Registry::new();
        let view = registry
            .with_prefix("outer_")
            .and_then(|v| v.with_const_labels(&[("zone", "a \"b\"")]))
            .and_then(|v| v.with_prefix("inner_"))
            .and_then(|v| v.with_const_labels(&[("shard", "1")]))
            .unwrap();
        let metrics = Arc::new(Requests::new());
        view.register(metrics.clone()).unwrap();
        metrics
            .requests
            .get(&TenantLabels { tenant: "t".into() })
            .inc();
        let text = registry.render(Format::Text);
        assert!(
            text.contains(
                "outer_inner_requests_total{zone=\"a \\\"b\\\"\",shard=\"1\",tenant=\"t\"} 1\n"
            ),
            "{text}"
        );
        // The same struct without the view does not clash; twice through it does.
        registry.register(Requests::new()).unwrap();
        let error = view.register(Requests::new()).unwrap_err();
        assert!(
            error.to_string().contains("`outer_inner_requests_total`"),
            "{error}"
        );
    }

    #[test]
    fn a_family_collected_later_keeps_its_own_label() {
        let registry = Registry::new();
        let view = registry.with_const_labels(&[("tenant", "view"), ("zone", "z")]);
        let mut metrics = ConstMetrics::new();
        let mut quota = ConstFamily::gauge("quota", "Quota.", &["tenant"]).unwrap();
        quota.add(["own"], 5).unwrap();
        metrics.push(quota).unwrap();
        // `ConstMetrics` tells its labels too; a `Collector` of it could not (it collects later).
        view.as_ref()
            .unwrap()
            .register(metrics.clone())
            .unwrap_err();
        struct Later(ConstMetrics);
        impl crate::Collect for Later {
            fn describe(&self) -> Vec<crate::FamilyDescription> {
                Vec::new()
            }
            fn encode(&self, encoder: &mut crate::Encoder<'_>) {
                self.0.encode(encoder);
            }
        }
        view.unwrap().register(Later(metrics)).unwrap();
        let text = registry.render(Format::Text);
        assert!(
            text.contains("quota{zone=\"z\",tenant=\"own\"} 5\n"),
            "{text}"
        );
    }

    #[test]
    fn unregistering_through_a_view_frees_the_prefixed_names() {
        let registry = Registry::new();
        let view = registry.with_prefix("v_").unwrap();
        let metrics = Arc::new(Requests::new());
        view.register(metrics.clone()).unwrap();
        assert!(
            !registry.unregister(&*metrics),
            "not registered without the prefix"
        );
        assert!(view.unregister(&*metrics));
        assert!(registry.families().is_empty());
        view.register(metrics).unwrap();
    }
}
