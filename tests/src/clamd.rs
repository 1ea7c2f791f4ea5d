//! A private ClamAV `clamd` for the scanning tests: Debian's binary, started per test on
//! its own loopback port with a database directory holding only the signature file the
//! test writes (the EICAR test file's MD5 and size, an `.hdb` line), so no ClamAV
//! database is downloaded or needed. Stopped on drop; `stop` and `start_again` let a test
//! take the scanner away and bring it back on the same port.
//!
//! Without clamd installed the scanning tests say so and skip, except under CI (`CI`
//! set), where a missing scanner is a failure like any missing service.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::process::free_port;

/// The EICAR anti-malware test file: harmless, and detected by every scanner by design.
pub const EICAR: &[u8] = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";
/// The name the test's signature file gives it; clamd reports custom hash signatures
/// with `.UNOFFICIAL` appended.
pub const SIGNATURE: &str = "Sluice-Test-EICAR";
const EICAR_MD5: &str = "44d88612fea8a8f36de82e1278abb02f";
const CLAMD: &str = "/usr/sbin/clamd";

pub struct Clamd {
    child: Option<Child>,
    dir: PathBuf,
    port: u16,
}

impl Clamd {
    /// A running clamd with the EICAR signature; `None` (with a line saying why) where
    /// clamd is not installed outside CI. `stream_max` is clamd's own `StreamMaxLength`.
    pub async fn start(stream_max: &str) -> Option<Clamd> {
        if !std::path::Path::new(CLAMD).exists() {
            if std::env::var("CI").is_ok() {
                panic!("CI must run the scanning tests: install clamav-daemon ({CLAMD})");
            }
            eprintln!(
                "scanning test skipped: {CLAMD} is not installed (apt install clamav-daemon)"
            );
            return None;
        }
        let dir =
            std::env::temp_dir().join(format!("sluice-clamd-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(dir.join("db")).expect("clamd dir");
        std::fs::write(
            dir.join("db/sluice-test.hdb"),
            format!("{EICAR_MD5}:{}:{SIGNATURE}\n", EICAR.len()),
        )
        .expect("signature file");
        let port = free_port();
        std::fs::write(
            dir.join("clamd.conf"),
            format!(
                "Foreground yes\nDatabaseDirectory {db}\nTCPSocket {port}\nTCPAddr 127.0.0.1\n\
                 StreamMaxLength {stream_max}\nLogFile {log}\nLogVerbose no\n",
                db = dir.join("db").display(),
                log = dir.join("clamd.log").display(),
            ),
        )
        .expect("clamd.conf");
        let mut clamd = Clamd {
            child: None,
            dir,
            port,
        };
        clamd.start_again().await;
        Some(clamd)
    }

    /// `tcp://127.0.0.1:PORT`, for `scanner.clamd`.
    pub fn address(&self) -> String {
        format!("tcp://127.0.0.1:{}", self.port)
    }

    /// Kills clamd; its port then refuses connections.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().ok();
            child.wait().ok();
        }
    }

    /// Starts clamd (again) on the same port and waits until it answers `PONG`.
    pub async fn start_again(&mut self) {
        self.stop();
        let child = Command::new(CLAMD)
            .arg("-c")
            .arg(self.dir.join("clamd.conf"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn clamd");
        self.child = Some(child);
        for _ in 0..600 {
            if self.pong().await {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let log = std::fs::read_to_string(self.dir.join("clamd.log")).unwrap_or_default();
        panic!("clamd did not answer within 60 s; its log:\n{log}");
    }

    async fn pong(&self) -> bool {
        let Ok(mut conn) = tokio::net::TcpStream::connect(("127.0.0.1", self.port)).await else {
            return false;
        };
        if conn.write_all(b"zPING\0").await.is_err() {
            return false;
        }
        let mut reply = [0u8; 8];
        matches!(conn.read(&mut reply).await, Ok(n) if reply[..n].starts_with(b"PONG"))
    }
}

impl Drop for Clamd {
    fn drop(&mut self) {
        self.stop();
        std::fs::remove_dir_all(&self.dir).ok();
    }
}
