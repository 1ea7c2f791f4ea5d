//! A client of clamd's INSTREAM command (`zINSTREAM\0`, then frames of a 4-byte
//! big-endian length and that many bytes, ended by a zero length; clamd answers
//! `stream: OK`, `stream: NAME FOUND` or `… ERROR`, terminated by `\0`) and of `zPING\0`.
//! Over TCP or a Unix socket; every read and write is bounded by `scanner.timeout`.

use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::config::{ClamdAddress, ScannerSettings};
use crate::storage::{ByteStream, StoreError};

/// What clamd said of a stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Every byte read, nothing found.
    Clean,
    /// A signature matched; its name as clamd reports it.
    Infected(String),
    /// Larger than the scanner reads (`scanner.max_stream`, or clamd's own limit).
    TooLarge,
}

/// Why a scan gave no verdict: all of these are retried, none passes a file.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error("the scanner at {0} could not be reached: {1}")]
    Unreachable(String, String),
    #[error("the scanner at {0} answered what Sluice does not understand: {1}")]
    Protocol(String, String),
    #[error("the scanner at {0} took longer than {1:?}")]
    Timeout(String, Duration),
    #[error("the store failed while the object was read: {0}")]
    Store(#[from] StoreError),
}

/// The most bytes of an answer Sluice reads (clamd's longest is a signature name).
const MAX_REPLY: usize = 4096;

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// The configured clamd.
#[derive(Clone, Debug)]
pub struct Clamd {
    address: ClamdAddress,
    chunk: usize,
    max_stream: u64,
    timeout: Duration,
}

impl Clamd {
    /// The scanner `[scanner]` names; `None` when none is configured.
    pub fn from_settings(settings: &ScannerSettings) -> Option<Clamd> {
        let address = ClamdAddress::parse(settings.clamd.as_deref()?).ok()?;
        Some(Clamd {
            address,
            chunk: usize::try_from(settings.chunk.0)
                .unwrap_or(64 * 1024)
                .max(1),
            max_stream: settings.max_stream.0,
            timeout: settings.timeout.get(),
        })
    }

    /// The most bytes one scan sends.
    pub fn max_stream(&self) -> u64 {
        self.max_stream
    }

    pub fn address(&self) -> String {
        self.address.to_string()
    }

    /// Whether clamd answers `PONG`.
    pub async fn ping(&self) -> Result<(), ScanError> {
        let mut conn = self.connect().await?;
        self.bounded(conn.write_all(b"zPING\0")).await?;
        let reply = self.reply(&mut conn).await?;
        if reply == "PONG" {
            Ok(())
        } else {
            Err(ScanError::Protocol(self.address(), reply))
        }
    }

    /// Streams `bytes` to clamd and returns its verdict. Stops sending, and answers
    /// `TooLarge`, as soon as more than `max_stream` bytes came from the store.
    pub async fn scan(&self, mut bytes: ByteStream) -> Result<Verdict, ScanError> {
        let mut conn = self.connect().await?;
        self.bounded(conn.write_all(b"zINSTREAM\0")).await?;
        let mut sent: u64 = 0;
        while let Some(piece) = self.bounded_store(bytes.next()).await? {
            let piece: Bytes = piece?;
            sent = sent.saturating_add(piece.len() as u64);
            if sent > self.max_stream {
                return Ok(Verdict::TooLarge);
            }
            for frame in piece.chunks(self.chunk) {
                if let Err(e) = self.frame(&mut conn, frame).await {
                    // clamd closes the stream when its own limit is reached, and says so.
                    return match self.reply(&mut conn).await {
                        Ok(reply) => self.verdict(reply),
                        Err(_) => Err(e),
                    };
                }
            }
        }
        self.bounded(conn.write_all(&0u32.to_be_bytes())).await?;
        let reply = self.reply(&mut conn).await?;
        self.verdict(reply)
    }

    async fn frame(&self, conn: &mut Box<dyn Io>, frame: &[u8]) -> Result<(), ScanError> {
        let len = u32::try_from(frame.len()).unwrap_or(u32::MAX);
        self.bounded(conn.write_all(&len.to_be_bytes())).await?;
        self.bounded(conn.write_all(frame)).await
    }

    fn verdict(&self, reply: String) -> Result<Verdict, ScanError> {
        let body = reply.strip_prefix("stream: ").unwrap_or(&reply);
        if body == "OK" {
            return Ok(Verdict::Clean);
        }
        if let Some(name) = body.strip_suffix(" FOUND") {
            return Ok(Verdict::Infected(name.trim().to_owned()));
        }
        if body.contains("size limit exceeded") {
            return Ok(Verdict::TooLarge);
        }
        Err(ScanError::Protocol(self.address(), reply))
    }

    async fn connect(&self) -> Result<Box<dyn Io>, ScanError> {
        let unreachable = |e: std::io::Error| ScanError::Unreachable(self.address(), e.to_string());
        let conn: Box<dyn Io> = match &self.address {
            ClamdAddress::Tcp(hostport) => Box::new(
                self.timed(tokio::net::TcpStream::connect(hostport.as_str()))
                    .await?
                    .map_err(unreachable)?,
            ),
            ClamdAddress::Unix(path) => Box::new(
                self.timed(tokio::net::UnixStream::connect(path))
                    .await?
                    .map_err(unreachable)?,
            ),
        };
        Ok(conn)
    }

    /// clamd's answer, up to its terminating `\0` (or the end of the connection).
    async fn reply(&self, conn: &mut Box<dyn Io>) -> Result<String, ScanError> {
        let mut reply = Vec::new();
        let mut buf = [0u8; 512];
        loop {
            let n = self
                .timed(conn.read(&mut buf))
                .await?
                .map_err(|e| ScanError::Unreachable(self.address(), e.to_string()))?;
            if n == 0 {
                break;
            }
            reply.extend_from_slice(&buf[..n]);
            if reply.contains(&0) || reply.len() > MAX_REPLY {
                break;
            }
        }
        let end = reply.iter().position(|b| *b == 0).unwrap_or(reply.len());
        let text = String::from_utf8_lossy(&reply[..end.min(MAX_REPLY)]);
        let text = text.trim().to_owned();
        if text.is_empty() {
            return Err(ScanError::Unreachable(
                self.address(),
                "the connection closed without an answer".into(),
            ));
        }
        Ok(text)
    }

    async fn timed<T>(&self, f: impl std::future::Future<Output = T>) -> Result<T, ScanError> {
        tokio::time::timeout(self.timeout, f)
            .await
            .map_err(|_| ScanError::Timeout(self.address(), self.timeout))
    }

    async fn bounded(
        &self,
        f: impl std::future::Future<Output = std::io::Result<()>>,
    ) -> Result<(), ScanError> {
        self.timed(f)
            .await?
            .map_err(|e| ScanError::Unreachable(self.address(), e.to_string()))
    }

    /// The next piece from the store, within the same timeout.
    async fn bounded_store<T>(
        &self,
        f: impl std::future::Future<Output = Option<T>>,
    ) -> Result<Option<T>, ScanError> {
        tokio::time::timeout(self.timeout, f).await.map_err(|_| {
            ScanError::Store(StoreError::Unreachable(
                "the object's bytes stopped arriving".into(),
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clamd() -> Clamd {
        Clamd {
            address: ClamdAddress::Tcp("127.0.0.1:1".into()),
            chunk: 4,
            max_stream: 10,
            timeout: Duration::from_secs(1),
        }
    }

    #[test]
    fn answers_are_read_as_verdicts_and_nothing_else_passes() {
        let c = clamd();
        assert_eq!(c.verdict("stream: OK".into()).ok(), Some(Verdict::Clean));
        assert_eq!(
            c.verdict("stream: Eicar-Test-Signature FOUND".into()).ok(),
            Some(Verdict::Infected("Eicar-Test-Signature".into()))
        );
        assert_eq!(
            c.verdict("INSTREAM size limit exceeded. ERROR".into()).ok(),
            Some(Verdict::TooLarge)
        );
        for other in [
            "stream: OKAY",
            "UNKNOWN COMMAND",
            "stream: lstat() failed ERROR",
            "",
        ] {
            assert!(c.verdict(other.into()).is_err(), "{other:?} passed");
        }
    }

    #[tokio::test]
    async fn an_unreachable_scanner_is_an_error_not_a_verdict() {
        let stream: ByteStream =
            Box::pin(futures::stream::iter(vec![Ok(Bytes::from_static(b"x"))]));
        assert!(matches!(
            clamd().scan(stream).await,
            Err(ScanError::Unreachable(..))
        ));
    }
}
