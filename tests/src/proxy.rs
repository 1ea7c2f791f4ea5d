//! `StoreProxy`: a TCP forwarder in front of a real S3 server, so a test can take the
//! store away and bring it back (a network outage) without stopping a server other tests
//! share. Sluice and the presigned URLs it signs address the proxy; the test's own bucket
//! client addresses the store directly, to see what it really holds during the outage.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio::net::{TcpListener, TcpStream};
use tokio::task::{AbortHandle, JoinHandle};

pub struct StoreProxy {
    addr: SocketAddr,
    up: Arc<AtomicBool>,
    live: Arc<Mutex<Vec<AbortHandle>>>,
    accept: JoinHandle<()>,
}

impl StoreProxy {
    /// Listens on a free loopback port and forwards every connection to `target`.
    pub async fn start(target: SocketAddr) -> StoreProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("proxy binds");
        let addr = listener.local_addr().expect("proxy address");
        let up = Arc::new(AtomicBool::new(true));
        let live: Arc<Mutex<Vec<AbortHandle>>> = Arc::default();
        let (accept_up, accept_live) = (up.clone(), live.clone());
        let accept = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                if !accept_up.load(Ordering::SeqCst) {
                    // Down: the connection is dropped at once, as by a dead host's reset.
                    continue;
                }
                let forward = tokio::spawn(forward(client, target));
                let mut live = accept_live.lock().expect("proxy lock");
                live.retain(|h| !h.is_finished());
                live.push(forward.abort_handle());
            }
        });
        StoreProxy {
            addr,
            up,
            live,
            accept,
        }
    }

    /// A proxy in front of `authority` (`host:port`), resolved here.
    pub async fn in_front_of(authority: &str) -> StoreProxy {
        let target = tokio::net::lookup_host(authority)
            .await
            .unwrap_or_else(|e| panic!("resolve {authority}: {e}"))
            .next()
            .unwrap_or_else(|| panic!("no address for {authority}"));
        StoreProxy::start(target).await
    }

    /// `http://127.0.0.1:port` of the proxy.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The store goes away: open connections break, new ones are refused.
    pub fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        for handle in self.live.lock().expect("proxy lock").drain(..) {
            handle.abort();
        }
    }

    /// The store comes back.
    pub fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

impl Drop for StoreProxy {
    fn drop(&mut self) {
        self.cut();
        self.accept.abort();
    }
}

async fn forward(mut client: TcpStream, target: SocketAddr) {
    let Ok(mut server) = TcpStream::connect(target).await else {
        return;
    };
    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
}
