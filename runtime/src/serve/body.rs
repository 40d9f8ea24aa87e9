//! The body of the server's responses: whole, or an exposition streamed in chunks.

use http_body_util::Full;
use hyper::body::{Body, Bytes, Frame, SizeHint};
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::sync::mpsc;

/// A whole body (with its `Content-Length`), or the chunks of a streamed scrape as they are
/// encoded (HTTP/1.1 chunked transfer coding). An error ends the response without its last
/// chunk, so the client sees a failed transfer rather than a truncated exposition.
#[derive(Debug)]
pub(crate) enum ResponseBody {
    Whole(Full<Bytes>),
    Streamed(mpsc::Receiver<std::io::Result<Bytes>>),
}

impl From<Full<Bytes>> for ResponseBody {
    fn from(body: Full<Bytes>) -> Self {
        ResponseBody::Whole(body)
    }
}

impl Body for ResponseBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        context: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        match self.get_mut() {
            ResponseBody::Whole(body) => Pin::new(body)
                .poll_frame(context)
                .map_err(|never| match never {}),
            ResponseBody::Streamed(chunks) => chunks
                .poll_recv(context)
                .map(|chunk| chunk.map(|chunk| chunk.map(Frame::data))),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            ResponseBody::Whole(body) => body.is_end_stream(),
            ResponseBody::Streamed(_) => false,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            ResponseBody::Whole(body) => body.size_hint(),
            ResponseBody::Streamed(_) => SizeHint::default(),
        }
    }
}
