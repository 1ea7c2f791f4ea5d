//! The embedded store's checksum guard: a PUT (object or multipart part) that carries
//! `x-amz-checksum-sha256` is refused with `400 BadDigest` when its bytes differ, and its
//! bytes are never stored.
//!
//! Why a layer in front of s3s-fs: s3s-fs compares a PutObject's digest only after it has
//! renamed the file into place (a refused PUT still leaves the lying bytes behind), and
//! its UploadPart ignores the header altogether. Sluice signs part digests so that the
//! store refuses a lying part (issue: end-to-end integrity for multipart); this guard
//! makes the store Sluice ships do what AWS S3 does.
//!
//! How: the request body is hashed as s3s-fs streams it to a temporary file. At the end
//! of the body, a mismatch turns into a body error instead of end-of-stream, so s3s-fs
//! fails its copy and drops the temporary file before any rename; the guard then answers
//! `BadDigest` in place of whatever error s3s made of the broken stream.
//!
//! Invariants:
//! - A PUT with a well-formed `x-amz-checksum-sha256` (header or presigned query) whose
//!   bytes differ never leaves an object or a part behind, and is answered 400 BadDigest.
//! - A malformed digest (not base64 of 32 bytes) is answered 400 InvalidDigest before any
//!   byte is read.
//! - Other requests pass through unchanged; `aws-chunked` bodies (whose raw bytes carry
//!   chunk framing) are left to s3s, which checks their trailing checksums itself.

use std::error::Error as StdError;
use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use base64::Engine;
use http::{Method, Request, Response, StatusCode, header};
use hyper::body::{Body, Bytes, Frame, Incoming, SizeHint};
use sha2::{Digest, Sha256};

const CHECKSUM_HEADER: &str = "x-amz-checksum-sha256";

/// The tower service in front of s3s: see the module header.
#[derive(Clone)]
pub struct ChecksumGuard<S> {
    inner: S,
}

impl<S> ChecksumGuard<S> {
    pub fn new(inner: S) -> Self {
        Self { inner }
    }
}

/// What a guarded request's body turned out to be.
enum Expected {
    /// No digest to check.
    None,
    /// The digest the request signed.
    Sha256([u8; 32]),
    /// A digest header that is not base64 of 32 bytes.
    Malformed,
}

fn expected_digest<B>(req: &Request<B>) -> Expected {
    if req.method() != Method::PUT || req.headers().contains_key("x-amz-copy-source") {
        return Expected::None;
    }
    let streaming = req
        .headers()
        .get("x-amz-content-sha256")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("STREAMING-"));
    if streaming {
        return Expected::None;
    }
    let value = match req.headers().get(CHECKSUM_HEADER) {
        Some(v) => v.to_str().ok().map(str::to_owned),
        None => query_value(req.uri().query().unwrap_or_default(), CHECKSUM_HEADER),
    };
    let Some(value) = value else {
        return Expected::None;
    };
    match base64::engine::general_purpose::STANDARD.decode(value.trim()) {
        Ok(bytes) => match <[u8; 32]>::try_from(bytes.as_slice()) {
            Ok(digest) => Expected::Sha256(digest),
            Err(_) => Expected::Malformed,
        },
        Err(_) => Expected::Malformed,
    }
}

/// A query parameter's percent-decoded value (names compared case-insensitively, as S3
/// treats `X-Amz-*` parameters).
fn query_value(query: &str, name: &str) -> Option<String> {
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        k.eq_ignore_ascii_case(name).then(|| percent_decode(v))
    })
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push((h * 16 + l) as u8);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// An S3 error document, as s3s would write it.
fn s3_error(code: &str, message: &str) -> Response<s3s::Body> {
    let xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message></Error>"
    );
    let mut response = Response::new(s3s::Body::from(xml));
    *response.status_mut() = StatusCode::BAD_REQUEST;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        "application/xml".parse().expect("static"),
    );
    response
}

impl<S> tower::Service<Request<Incoming>> for ChecksumGuard<S>
where
    S: tower::Service<Request<GuardedBody>, Response = Response<s3s::Body>, Error = s3s::HttpError>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    type Response = Response<s3s::Body>;
    type Error = s3s::HttpError;
    type Future = Pin<Box<dyn Future<Output = Result<Response<s3s::Body>, s3s::HttpError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<Incoming>) -> Self::Future {
        let expected = match expected_digest(&req) {
            Expected::Malformed => {
                return Box::pin(async {
                    Ok(s3_error(
                        "InvalidDigest",
                        "The x-amz-checksum-sha256 you specified is not a base64 SHA-256.",
                    ))
                });
            }
            Expected::None => None,
            Expected::Sha256(d) => Some(d),
        };
        let mismatch = Arc::new(AtomicBool::new(false));
        let req = req.map(|body| GuardedBody {
            inner: body,
            check: expected.map(|digest| Check {
                digest,
                hasher: Sha256::new(),
                mismatch: Arc::clone(&mismatch),
            }),
            finished: false,
        });
        // Tower's contract: call the instance that was polled ready, and leave a fresh
        // clone in its place.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        Box::pin(async move {
            let response = inner.call(req).await;
            if mismatch.load(Ordering::Acquire) {
                return Ok(s3_error(
                    "BadDigest",
                    "The x-amz-checksum-sha256 you specified did not match the calculated checksum.",
                ));
            }
            response
        })
    }
}

struct Check {
    digest: [u8; 32],
    hasher: Sha256,
    mismatch: Arc<AtomicBool>,
}

impl Check {
    /// Compares once the whole body went through; true when the bytes are what was signed.
    fn holds(&mut self) -> bool {
        let actual = std::mem::take(&mut self.hasher).finalize();
        let holds = actual[..] == self.digest[..];
        if !holds {
            self.mismatch.store(true, Ordering::Release);
        }
        holds
    }
}

/// The request body s3s reads: the connection's body, hashed on the way through when a
/// digest was signed.
pub struct GuardedBody {
    inner: Incoming,
    check: Option<Check>,
    finished: bool,
}

/// Why a guarded body stopped.
#[derive(Debug)]
pub enum GuardedBodyError {
    Transport(hyper::Error),
    ChecksumMismatch,
}

impl fmt::Display for GuardedBodyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Transport(e) => write!(f, "reading the request body: {e}"),
            Self::ChecksumMismatch => f.write_str("the body differs from x-amz-checksum-sha256"),
        }
    }
}

impl StdError for GuardedBodyError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match self {
            Self::Transport(e) => Some(e),
            Self::ChecksumMismatch => None,
        }
    }
}

impl GuardedBody {
    /// At the end of the body: `Some(error)` when the digest does not hold.
    fn finish(&mut self) -> Option<GuardedBodyError> {
        self.finished = true;
        let holds = self.check.as_mut().is_none_or(Check::holds);
        (!holds).then_some(GuardedBodyError::ChecksumMismatch)
    }
}

impl Body for GuardedBody {
    type Data = Bytes;
    type Error = GuardedBodyError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, GuardedBodyError>>> {
        let this = self.get_mut();
        if this.finished {
            return Poll::Ready(None);
        }
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(GuardedBodyError::Transport(e)))),
            Poll::Ready(Some(Ok(frame))) => {
                if let (Some(check), Some(data)) = (this.check.as_mut(), frame.data_ref()) {
                    check.hasher.update(data);
                }
                // A reader may stop at `is_end_stream` without polling for the end: the
                // last data frame is where a lie must surface, before it is written.
                if frame.is_data()
                    && this.inner.is_end_stream()
                    && let Some(e) = this.finish()
                {
                    return Poll::Ready(Some(Err(e)));
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(None) => Poll::Ready(this.finish().map(Err)),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.finished || (self.check.is_none() && self.inner.is_end_stream())
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_are_decoded() {
        assert_eq!(
            query_value("a=1&X-Amz-Checksum-Sha256=ab%2Bc%3D", CHECKSUM_HEADER).as_deref(),
            Some("ab+c=")
        );
        assert_eq!(query_value("a=1", CHECKSUM_HEADER), None);
        assert_eq!(percent_decode("%"), "%");
        assert_eq!(percent_decode("%4"), "%4");
        assert_eq!(percent_decode("%zz"), "%zz");
    }

    #[test]
    fn only_plain_puts_with_a_digest_are_guarded() {
        let digest = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
        let put = |h: &[(&str, &str)]| {
            let mut b = Request::builder().method(Method::PUT).uri("/b/k");
            for (n, v) in h {
                b = b.header(*n, *v);
            }
            b.body(()).expect("request")
        };
        assert!(matches!(
            expected_digest(&put(&[(CHECKSUM_HEADER, &digest)])),
            Expected::Sha256(d) if d == [7u8; 32]
        ));
        assert!(matches!(
            expected_digest(&put(&[(CHECKSUM_HEADER, "bm90IDMyIGJ5dGVz")])),
            Expected::Malformed
        ));
        assert!(matches!(
            expected_digest(&put(&[
                (CHECKSUM_HEADER, &digest),
                ("x-amz-content-sha256", "STREAMING-UNSIGNED-PAYLOAD-TRAILER")
            ])),
            Expected::None
        ));
        let get = Request::builder()
            .method(Method::GET)
            .uri("/b/k")
            .header(CHECKSUM_HEADER, &digest)
            .body(())
            .expect("request");
        assert!(matches!(expected_digest(&get), Expected::None));
    }
}
