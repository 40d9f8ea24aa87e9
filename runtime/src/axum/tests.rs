//! `HttpMetrics` around a hand-written service whose response future is pending once: the
//! request is recorded when the response is ready, with its status (500 for an error), and
//! not at all when the future is dropped before. Under Miri (scripts/miri.sh) these run the
//! unsafe pin projection of `ResponseFuture::poll` and the drop of the inner future in place.

use super::{HttpLabels, HttpLabelsRef, HttpMethod, HttpMetricsLayer, HttpServerMetrics};
use hyper::{Request, Response, StatusCode};
use std::cell::Cell;
use std::future::Future;
use std::pin::{Pin, pin};
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use tower_layer::Layer;
use tower_service::Service;

/// Answers every request with `answer` at the second poll.
struct Answering {
    answer: Result<StatusCode, &'static str>,
    dropped: Rc<Cell<bool>>,
}

struct Answer {
    polled: bool,
    answer: Result<StatusCode, &'static str>,
    dropped: Rc<Cell<bool>>,
    _pinned: std::marker::PhantomPinned,
}

impl Future for Answer {
    type Output = Result<Response<()>, &'static str>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: no field is structurally pinned; nothing is moved out of `self`.
        let this = unsafe { self.get_unchecked_mut() };
        if !this.polled {
            this.polled = true;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        Poll::Ready(this.answer.map(|status| {
            let mut response = Response::new(());
            *response.status_mut() = status;
            response
        }))
    }
}

impl Drop for Answer {
    fn drop(&mut self) {
        self.dropped.set(true);
    }
}

impl Service<Request<()>> for Answering {
    type Response = Response<()>;
    type Error = &'static str;
    type Future = Answer;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: Request<()>) -> Answer {
        Answer {
            polled: false,
            answer: self.answer,
            dropped: self.dropped.clone(),
            _pinned: std::marker::PhantomPinned,
        }
    }
}

/// Runs `test` on a stopped clock: every duration recorded is zero.
fn on_mock_clock(test: impl FnOnce()) {
    crate::clock::mock::with_mock_clock(test);
}

fn poll<F: Future>(future: Pin<&mut F>) -> Poll<F::Output> {
    future.poll(&mut Context::from_waker(Waker::noop()))
}

/// Requests recorded for an unmatched route (no `MatchedPath` outside a router).
fn recorded(method: HttpMethod, status: u16) -> u64 {
    let labels = HttpLabels {
        method,
        route: "unmatched".to_owned(),
        status,
    };
    HttpServerMetrics::global().requests.get(&labels).get()
}

/// Sends one request of `method` through the layer to a service answering `answer` and polls
/// the response future until ready (twice).
fn send(method: &str, answer: Result<StatusCode, &'static str>) -> Result<u16, &'static str> {
    let dropped = Rc::new(Cell::new(false));
    let mut service = HttpMetricsLayer::new().layer(Answering {
        answer,
        dropped: dropped.clone(),
    });
    let request = Request::builder().method(method).body(()).unwrap();
    let mut future = pin!(service.call(request));
    assert!(poll(future.as_mut()).is_pending());
    let Poll::Ready(response) = poll(future.as_mut()) else {
        panic!("ready at the second poll");
    };
    assert!(
        !dropped.get(),
        "the inner future is dropped with the layer's"
    );
    response.map(|response| response.status().as_u16())
}

// Each test uses its own method, so that tests running at once count apart.

#[test]
fn a_response_is_recorded_with_its_status_once_ready() {
    on_mock_clock(|| {
        let before = recorded(HttpMethod::Put, 418);
        assert_eq!(send("PUT", Ok(StatusCode::IM_A_TEAPOT)), Ok(418));
        assert_eq!(recorded(HttpMethod::Put, 418), before + 1);
    });
}

#[test]
fn an_error_of_the_service_is_recorded_as_500() {
    on_mock_clock(|| {
        let before = recorded(HttpMethod::Trace, 500);
        assert_eq!(send("TRACE", Err("backend down")), Err("backend down"));
        assert_eq!(recorded(HttpMethod::Trace, 500), before + 1);
    });
}

#[test]
fn a_request_dropped_before_its_response_is_not_recorded() {
    on_mock_clock(|| {
        let before = recorded(HttpMethod::Options, 204);
        let dropped = Rc::new(Cell::new(false));
        let mut service = HttpMetricsLayer::new().layer(Answering {
            answer: Ok(StatusCode::NO_CONTENT),
            dropped: dropped.clone(),
        });
        let request = Request::builder().method("OPTIONS").body(()).unwrap();
        let mut future = Box::pin(service.call(request));
        assert!(poll(future.as_mut()).is_pending());
        drop(future);
        assert!(dropped.get());
        assert_eq!(recorded(HttpMethod::Options, 204), before);
    });
}

#[test]
fn borrowed_labels_hash_like_the_owned_ones() {
    use std::hash::BuildHasher;
    let hasher = foldhash::fast::RandomState::default();
    for (method, route, status) in [
        (HttpMethod::Get, "/items/{id}", 200),
        (HttpMethod::Other, "", 500),
        (HttpMethod::Patch, "unmatched", 404),
    ] {
        let owned = HttpLabels {
            method,
            route: route.to_owned(),
            status,
        };
        let borrowed = HttpLabelsRef {
            method: &method,
            route,
            status: &status,
        };
        assert_eq!(
            hasher.hash_one(&owned),
            hasher.hash_one(borrowed),
            "{route}"
        );
        assert!(crate::BorrowedLabels::matches(&borrowed, &owned));
    }
}
