//! What each scrape waited for: a scrape serves the metrics of the collection it waited for,
//! not whatever another scrape's collection left behind since.

use std::any::Any;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};

/// The outcome of each collector a scrape waited for: its metrics, or `None` when it failed.
#[derive(Default)]
struct Waited {
    outcomes: Mutex<Vec<(u64, Box<dyn Any + Send>)>>,
}

tokio::task_local! {
    static WAITED: Waited;
}

/// Runs one scrape (collect, then encode) so that each collector serves what this scrape
/// waited for.
pub(crate) async fn own_collections<F: Future>(scrape: F) -> F::Output {
    WAITED.scope(Waited::default(), scrape).await
}

/// What a scrape's collections gave, to encode on another thread (a streamed scrape).
pub(crate) struct Collected(Waited);

/// Runs `collect` as [`own_collections`] does, keeping what it collected for
/// [`Collected::encode`].
pub(crate) async fn collect_for_scrape(collect: impl Future<Output = ()>) -> Collected {
    let outcomes = WAITED
        .scope(Waited::default(), async {
            collect.await;
            WAITED.with(|waited| {
                std::mem::take(
                    &mut *waited
                        .outcomes
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner),
                )
            })
        })
        .await;
    Collected(Waited {
        outcomes: Mutex::new(outcomes),
    })
}

impl Collected {
    /// Runs `encode` (on any thread) so that each collector serves what was collected.
    pub(crate) fn encode<R>(self, encode: impl FnOnce() -> R) -> R {
        WAITED.sync_scope(self.0, encode)
    }
}

/// Notes, for the scrape being run (if any), what collector `id` collected for it.
pub(super) fn record<M: Send + Sync + 'static>(id: u64, metrics: Option<Arc<M>>) {
    let _outside_a_scrape = WAITED.try_with(|waited| {
        let mut outcomes = waited
            .outcomes
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        outcomes.retain(|(recorded, _)| *recorded != id);
        outcomes.push((id, Box::new(metrics)));
    });
}

/// What collector `id` collected for the scrape being run: `None` outside a scrape or if the
/// scrape did not wait for it; `Some(None)` if its collection failed.
pub(super) fn recorded<M: Send + Sync + 'static>(id: u64) -> Option<Option<Arc<M>>> {
    WAITED
        .try_with(|waited| {
            let outcomes = waited
                .outcomes
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let (_, metrics) = outcomes.iter().find(|(recorded, _)| *recorded == id)?;
            metrics.downcast_ref::<Option<Arc<M>>>().cloned()
        })
        .ok()
        .flatten()
}
