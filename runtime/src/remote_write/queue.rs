//! The batches waiting for one endpoint: bounded by bytes (the oldest batch is dropped to make
//! room for a new one), handed to the endpoint's sender one at a time.

use hyper::body::Bytes;
use std::collections::VecDeque;
use std::sync::{Mutex, PoisonError};
use std::time::Instant;
use tokio::sync::Notify;

/// One request body, ready to send.
#[derive(Debug, Clone)]
pub(crate) struct Batch {
    /// Snappy-compressed protobuf.
    pub(crate) body: Bytes,
    pub(crate) samples: usize,
    pub(crate) highest_timestamp_ms: i64,
    pub(crate) created: Instant,
}

#[derive(Debug, Default)]
struct State {
    batches: VecDeque<Batch>,
    queued_bytes: usize,
    /// Samples of the batch being sent, still pending until its outcome is known.
    in_flight_samples: usize,
    closed: bool,
}

/// A bounded queue of batches with one consumer.
#[derive(Debug)]
pub(crate) struct Queue {
    capacity_bytes: usize,
    state: Mutex<State>,
    ready: Notify,
}

/// What a push had to drop to stay within capacity.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Dropped {
    pub(crate) batches: usize,
    pub(crate) samples: usize,
}

impl Queue {
    pub(crate) fn new(capacity_bytes: usize) -> Self {
        Queue {
            capacity_bytes,
            state: Mutex::default(),
            ready: Notify::new(),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Appends `batch`, first dropping the oldest batches until it fits; a batch larger than
    /// the whole capacity is dropped itself. A closed queue takes nothing (all dropped).
    pub(crate) fn push(&self, batch: Batch) -> Dropped {
        let mut dropped = Dropped::default();
        {
            let mut state = self.state();
            if state.closed || batch.body.len() > self.capacity_bytes {
                return Dropped {
                    batches: 1,
                    samples: batch.samples,
                };
            }
            while state.queued_bytes + batch.body.len() > self.capacity_bytes {
                let Some(oldest) = state.batches.pop_front() else {
                    break;
                };
                state.queued_bytes -= oldest.body.len();
                dropped.batches += 1;
                dropped.samples += oldest.samples;
            }
            state.queued_bytes += batch.body.len();
            state.batches.push_back(batch);
        }
        self.ready.notify_one();
        dropped
    }

    /// The oldest batch, once there is one, which becomes the one in flight until
    /// [`done`](Self::done); `None` once the queue is closed and empty.
    pub(crate) async fn next(&self) -> Option<Batch> {
        loop {
            let ready = self.ready.notified();
            {
                let mut state = self.state();
                if let Some(batch) = state.batches.pop_front() {
                    state.queued_bytes -= batch.body.len();
                    state.in_flight_samples = batch.samples;
                    return Some(batch);
                }
                if state.closed {
                    return None;
                }
            }
            ready.await;
        }
    }

    /// The batch in flight was sent, refused or dropped.
    pub(crate) fn done(&self) {
        self.state().in_flight_samples = 0;
    }

    /// Takes no more batches; [`next`](Self::next) answers `None` once the queue is empty.
    pub(crate) fn close(&self) {
        self.state().closed = true;
        self.ready.notify_one();
    }

    /// Closes the queue and takes every batch out of it: what is left when a flush gives up.
    pub(crate) fn abandon(&self) -> Dropped {
        let mut state = self.state();
        state.closed = true;
        let mut dropped = Dropped {
            batches: usize::from(state.in_flight_samples > 0),
            samples: std::mem::take(&mut state.in_flight_samples),
        };
        for batch in state.batches.drain(..) {
            dropped.batches += 1;
            dropped.samples += batch.samples;
        }
        state.queued_bytes = 0;
        dropped
    }

    /// Samples waiting or in flight, and the bytes waiting.
    pub(crate) fn pending(&self) -> (usize, usize) {
        let state = self.state();
        let queued: usize = state.batches.iter().map(|b| b.samples).sum();
        (queued + state.in_flight_samples, state.queued_bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(bytes: usize, samples: usize) -> Batch {
        Batch {
            body: Bytes::from(vec![0; bytes]),
            samples,
            highest_timestamp_ms: 0,
            created: Instant::now(),
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn the_oldest_batches_make_room_and_are_counted() {
        let queue = Queue::new(100);
        assert_eq!(queue.push(batch(40, 1)), Dropped::default());
        assert_eq!(queue.push(batch(40, 2)), Dropped::default());
        assert_eq!(
            queue.push(batch(40, 3)),
            Dropped {
                batches: 1,
                samples: 1
            }
        );
        assert_eq!(queue.pending(), (5, 80));
        assert_eq!(queue.push(batch(101, 9)).samples, 9, "never fits");
        let next = queue.next().await.unwrap();
        assert_eq!(next.samples, 2);
        assert_eq!(queue.pending(), (5, 40), "in flight is still pending");
        queue.done();
        assert_eq!(queue.pending(), (3, 40));
        queue.close();
        assert_eq!(queue.push(batch(1, 4)).samples, 4, "closed");
        assert_eq!(queue.next().await.unwrap().samples, 3);
        queue.done();
        assert!(queue.next().await.is_none());
    }

    #[tokio::test(flavor = "current_thread")]
    async fn abandoning_counts_what_was_waiting_and_in_flight() {
        let queue = Queue::new(100);
        queue.push(batch(10, 1));
        queue.push(batch(10, 2));
        let _in_flight = queue.next().await;
        assert_eq!(
            queue.abandon(),
            Dropped {
                batches: 2,
                samples: 3
            }
        );
        assert_eq!(queue.pending(), (0, 0));
    }
}
