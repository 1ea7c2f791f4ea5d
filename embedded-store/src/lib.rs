//! `sluice-embedded-store`: the embedded S3-compatible object store.
//!
//! `sluice serve` starts this store when no external storage endpoint is
//! configured. It serves a local directory over the S3 protocol (backend:
//! `s3s-fs`) on its **own TCP listener**. File bytes move between clients and
//! this listener through presigned URLs and never pass through the API server.
//!
//! Invariants:
//! - Every request must carry a valid SigV4 (or SigV2) signature made with the
//!   configured key pair. Anonymous requests are refused, and so are tampered
//!   presigned URLs.
//! - The CORS layer answers CORS preflight (`OPTIONS`) requests itself, with no
//!   authentication. They never reach s3s, which would refuse them as unsigned.
//! - A PUT or UploadPart whose bytes differ from its `x-amz-checksum-sha256` is refused
//!   (400 BadDigest) and nothing of it is kept ([`checksum_guard`]).
//! - Once [`EmbeddedStore::start`] returns, the bucket directory exists under
//!   `root` and the listener is accepting connections.

use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use http::{HeaderName, Method, header};
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use s3s::auth::SimpleAuth;
use s3s::service::{S3Service, S3ServiceBuilder};
use s3s_fs::FileSystem;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};
use tower::Layer;
use tower_http::cors::{AllowHeaders, Any, Cors, CorsLayer};
use tracing::{debug, error, info, warn};

mod checksum_guard;

use checksum_guard::ChecksumGuard;

/// How long `shutdown` lets in-flight requests finish before aborting them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

type Svc = TowerToHyperService<Cors<ChecksumGuard<S3Service>>>;

/// Settings for the embedded store.
#[derive(Clone)]
pub struct EmbeddedStoreConfig {
    pub root: PathBuf,
    pub bind: SocketAddr,
    pub access_key_id: String,
    pub secret_access_key: String,
    pub bucket: String,
}

// Written by hand so the secret never reaches logs or panic messages.
impl fmt::Debug for EmbeddedStoreConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmbeddedStoreConfig")
            .field("root", &self.root)
            .field("bind", &self.bind)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .field("bucket", &self.bucket)
            .finish()
    }
}

/// A running embedded store. If you drop it without calling `shutdown`, the
/// server still stops gracefully in the background: the stop channel closes.
#[derive(Debug)]
pub struct EmbeddedStore {
    local_addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl EmbeddedStore {
    /// Creates root dir and the bucket directory if missing, binds the listener (port 0 allowed),
    /// spawns the server on the current tokio runtime, returns once it is accepting.
    pub async fn start(cfg: EmbeddedStoreConfig) -> io::Result<EmbeddedStore> {
        let EmbeddedStoreConfig {
            root,
            bind,
            access_key_id,
            secret_access_key,
            bucket,
        } = cfg;

        // s3s refuses requests for bucket names that are not valid AWS names. Checking here
        // gives a clear start-up error and keeps names like ".." out of the path join below.
        if !s3s::path::check_bucket_name(&bucket) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("invalid bucket name {bucket:?}"),
            ));
        }
        // s3s-fs maps a bucket to the directory `root/<bucket>`. Creating it here means the
        // bucket exists on the first request, with no CreateBucket call.
        tokio::fs::create_dir_all(root.join(&bucket)).await?;

        // FileSystem::new canonicalizes the root and removes stale temp files with blocking
        // std::fs calls, so it runs off the async workers.
        let fs_root = root.clone();
        let fs = tokio::task::spawn_blocking(move || FileSystem::new(fs_root))
            .await
            .map_err(|e| io::Error::other(e.to_string()))?
            .map_err(|e| io::Error::other(format!("opening store root: {e:?}")))?;

        let mut builder = S3ServiceBuilder::new(fs);
        // With auth set, s3s checks header and presigned-query signatures, and its default
        // access policy refuses unsigned requests.
        builder.set_auth(SimpleAuth::from_single(access_key_id, secret_access_key));
        // No `set_host`: with no S3Host, s3s parses every request as path-style
        // (`/bucket/key`). That is what we hand out. IP-literal Host headers would skip
        // virtual-host parsing anyway.
        // The checksum guard refuses a PUT or part whose bytes differ from its signed
        // x-amz-checksum-sha256 before s3s-fs keeps them (see checksum_guard).
        let svc = TowerToHyperService::new(cors_layer().layer(ChecksumGuard::new(builder.build())));

        // Once bind returns, the socket is listening, so connections queue in the backlog
        // even before the accept loop first runs.
        let listener = TcpListener::bind(bind).await?;
        let local_addr = listener.local_addr()?;
        let (stop, stop_rx) = watch::channel(false);
        let task = tokio::spawn(serve(listener, svc, stop_rx));

        info!(%local_addr, root = %root.display(), %bucket, "embedded S3 store listening");
        Ok(EmbeddedStore {
            local_addr,
            stop,
            task,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Base URL for path-style requests. An unspecified bind address becomes loopback,
    /// because a client cannot connect to 0.0.0.0, and the Host it sends must match what
    /// the presigner signed.
    pub fn endpoint(&self) -> String {
        let ip = match self.local_addr.ip() {
            IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
            ip => ip,
        };
        format!("http://{}", SocketAddr::new(ip, self.local_addr.port()))
    }

    /// Stops accepting, lets in-flight connections end (bounded wait, e.g. 5 s), returns.
    pub async fn shutdown(self) {
        self.stop.send_replace(true);
        match self.task.await {
            Ok(()) => info!(addr = %self.local_addr, "embedded S3 store stopped"),
            Err(err) => error!(%err, "embedded S3 store task failed"),
        }
    }
}

/// Browsers upload and download directly with presigned URLs, so every origin is allowed.
/// The URL signature, not the origin, is what authorizes a request. No credentials mode
/// is used, so `*` is valid here and tower-http's credential assertions cannot fire.
fn cors_layer() -> CorsLayer {
    CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([
            Method::GET,
            Method::PUT,
            Method::POST,
            Method::HEAD,
            Method::DELETE,
            Method::OPTIONS,
        ])
        // Mirroring, unlike `*`, also covers `Authorization`, which the wildcard never matches.
        .allow_headers(AllowHeaders::mirror_request())
        .expose_headers([
            header::ETAG,
            header::CONTENT_LENGTH,
            header::CONTENT_TYPE,
            HeaderName::from_static("x-amz-request-id"),
        ])
        .max_age(Duration::from_secs(3600))
}

/// Resolves once a stop is requested or the `EmbeddedStore` handle is dropped.
async fn stopped(rx: &mut watch::Receiver<bool>) {
    // An Err means the sender is gone, which also means stop. The returned guard is
    // dropped at once so it never holds the channel lock.
    let _ = rx.wait_for(|stop| *stop).await;
}

async fn serve(listener: TcpListener, svc: Svc, mut stop: watch::Receiver<bool>) {
    let mut conn_builder = http1::Builder::new();
    // A timer turns on hyper's default 30 s header-read timeout, which stops slowloris
    // clients from holding connections open forever.
    conn_builder.timer(TokioTimer::new());
    let mut conns = JoinSet::new();

    loop {
        tokio::select! {
            () = stopped(&mut stop) => break,
            // Reap finished connections so the set does not grow without bound.
            Some(res) = conns.join_next(), if !conns.is_empty() => {
                if let Err(err) = res {
                    error!(%err, "embedded S3 connection task failed");
                }
            }
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let conn = conn_builder.serve_connection(TokioIo::new(stream), svc.clone());
                    let mut stop = stop.clone();
                    conns.spawn(async move {
                        let mut conn = std::pin::pin!(conn);
                        let mut draining = false;
                        loop {
                            tokio::select! {
                                res = conn.as_mut() => {
                                    if let Err(err) = res {
                                        debug!(%peer, %err, "embedded S3 connection ended with error");
                                    }
                                    break;
                                }
                                // Finish the current request, then close (no new keep-alive requests).
                                () = stopped(&mut stop), if !draining => {
                                    draining = true;
                                    conn.as_mut().graceful_shutdown();
                                }
                            }
                        }
                    });
                }
                Err(err) => {
                    // Usually fd exhaustion. Back off so the loop does not spin hot.
                    warn!(%err, "embedded S3 store accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
        }
    }

    drop(listener);
    let drain = async { while conns.join_next().await.is_some() {} };
    if tokio::time::timeout(SHUTDOWN_GRACE, drain).await.is_err() {
        warn!(
            remaining = conns.len(),
            "embedded S3 connections still open after grace period; aborting"
        );
        conns.abort_all();
    }
}
