//! `sluice healthcheck`: asks a running Sluice's `GET /healthz` and exits 0 on a 200, 1
//! otherwise. It is the container image's `HEALTHCHECK`, which has no curl: one HTTP/1.0
//! request over a plain TCP connection, with a 3 s budget for each step.
//!
//! The address is `server.bind` from the same settings `serve` reads, with an unspecified
//! IP (`0.0.0.0`, `::`) asked on loopback; `--addr` overrides it.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

use anyhow::Context;

const STEP: Duration = Duration::from_secs(3);

/// Where `serve` listens, as a client reaches it from the same host.
pub fn local_address(bind: SocketAddr) -> SocketAddr {
    let mut addr = bind;
    if addr.ip().is_unspecified() {
        addr.set_ip(match addr {
            SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
            SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
        });
    }
    addr
}

/// `GET /healthz` at `addr` (`host:port`); `Ok` only for a 200.
pub fn check(addr: &str) -> anyhow::Result<()> {
    let target = addr
        .to_socket_addrs()
        .with_context(|| format!("cannot resolve {addr}"))?
        .next()
        .with_context(|| format!("no address for {addr}"))?;
    let mut stream = TcpStream::connect_timeout(&target, STEP)
        .with_context(|| format!("nothing answers at {target}"))?;
    stream.set_read_timeout(Some(STEP))?;
    stream.set_write_timeout(Some(STEP))?;
    write!(stream, "GET /healthz HTTP/1.0\r\nHost: {addr}\r\n\r\n")?;
    let mut head = [0u8; 64];
    let read = stream.read(&mut head).context("no answer")?;
    let status_line = String::from_utf8_lossy(&head[..read]);
    let status = status_line.split_whitespace().nth(1).unwrap_or_default();
    anyhow::ensure!(
        status == "200",
        "GET /healthz at {target} answered {status_line:?}"
    );
    Ok(())
}
