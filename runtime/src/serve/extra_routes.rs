//! Routes beside the metrics path that the crate's own front ends (the exporter toolkit) mount
//! on a [`Server`](super::Server): not public API.

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::{Request, Response};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// What a route answers.
pub(crate) type Answer = Response<Full<Bytes>>;
/// The answer of a route, owning what it needs.
pub(crate) type RouteFuture = Pin<Box<dyn Future<Output = Answer> + Send>>;
/// A route: the request's method, URI and headers (no body: no route reads one) to an answer.
pub(crate) type RouteFn = Arc<dyn Fn(Request<()>) -> RouteFuture + Send + Sync>;

/// The head of `request`, owned, for a [`RouteFn`].
pub(super) fn head_of<B>(request: &Request<B>) -> Request<()> {
    let mut head = Request::new(());
    *head.method_mut() = request.method().clone();
    *head.uri_mut() = request.uri().clone();
    *head.headers_mut() = request.headers().clone();
    head
}
