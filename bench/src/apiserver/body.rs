//! Response bodies: a fixed text, a large download produced on the fly, and a stream that
//! sends the node's name every tick.
use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use hyper::body::{Body, Frame, SizeHint};
use tokio::time::{Instant, Interval};

const CHUNK: usize = 64 * 1024;

pub enum LabBody {
    Full(Option<Bytes>),
    Download {
        remaining: u64,
        chunk: Bytes,
    },
    Stream {
        line: Bytes,
        tick: Interval,
        until: Instant,
    },
}

impl LabBody {
    pub fn text(text: &str) -> Self {
        LabBody::Full(Some(Bytes::from(format!("{text}\n"))))
    }

    pub fn download(bytes: u64) -> Self {
        LabBody::Download {
            remaining: bytes,
            chunk: Bytes::from(vec![b'x'; CHUNK]),
        }
    }

    /// `node\n` every `every`, for at most `limit` (needs a tokio runtime).
    pub fn stream(node: &str, every: Duration, limit: Duration) -> Self {
        LabBody::Stream {
            line: Bytes::from(format!("{node}\n")),
            tick: tokio::time::interval(every),
            until: Instant::now() + limit,
        }
    }
}

impl Body for LabBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let frame = match self.get_mut() {
            LabBody::Full(bytes) => bytes.take().map(Frame::data),
            LabBody::Download { remaining, chunk } => {
                if *remaining == 0 {
                    None
                } else {
                    let n = (*remaining).min(chunk.len() as u64);
                    *remaining -= n;
                    Some(Frame::data(chunk.slice(..n as usize)))
                }
            }
            LabBody::Stream { line, tick, until } => {
                if Instant::now() >= *until {
                    None
                } else {
                    match tick.poll_tick(cx) {
                        Poll::Ready(_) => Some(Frame::data(line.clone())),
                        Poll::Pending => return Poll::Pending,
                    }
                }
            }
        };
        Poll::Ready(frame.map(Ok))
    }

    fn is_end_stream(&self) -> bool {
        match self {
            LabBody::Full(bytes) => bytes.is_none(),
            LabBody::Download { remaining, .. } => *remaining == 0,
            LabBody::Stream { .. } => false,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            LabBody::Full(bytes) => {
                SizeHint::with_exact(bytes.as_ref().map_or(0, |b| b.len() as u64))
            }
            LabBody::Download { remaining, .. } => SizeHint::with_exact(*remaining),
            LabBody::Stream { .. } => SizeHint::default(),
        }
    }
}
