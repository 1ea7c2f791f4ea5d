//! Real `sluice` processes for tests that need more than one (replicas) or a SIGKILL: the
//! binary is started with a test world's environment, its log kept in a file, and killed
//! without ceremony when the test is done with it.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A free loopback port (bound and released; the process binds it again at once).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// One running `sluice` process.
pub struct SluiceProcess {
    child: Child,
    pub log: PathBuf,
}

impl SluiceProcess {
    /// Starts `binary args…` with `env` (and nothing from the caller's `SLUICE_CONFIG`),
    /// logging to `{log_dir}/{name}.log`.
    pub fn spawn(
        binary: &Path,
        args: &[&str],
        env: &[(String, String)],
        log_dir: &Path,
        name: &str,
    ) -> SluiceProcess {
        std::fs::create_dir_all(log_dir).expect("log dir");
        let log = log_dir.join(format!("{name}.log"));
        let file = std::fs::File::create(&log).expect("log file");
        let child = Command::new(binary)
            .args(args)
            .env_remove("SLUICE_CONFIG")
            .env(
                "SLUICE_LOG",
                "info,s3s=warn,sqlx=warn,sea_orm=warn,apalis=warn",
            )
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .expect("spawn sluice");
        SluiceProcess { child, log }
    }

    /// Waits until `api/readyz` answers 200, or panics with the log's tail.
    pub async fn wait_ready(&mut self, api: &str) {
        let client = reqwest::Client::new();
        for _ in 0..300 {
            let ready = client.get(format!("{api}/readyz")).send().await;
            if ready.is_ok_and(|r| r.status().is_success()) {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("sluice exited with {status}:\n{}", self.log_tail());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("sluice did not become ready:\n{}", self.log_tail());
    }

    /// The process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// SIGKILL: no graceful shutdown, no chance to flush anything.
    pub fn kill(mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }

    /// The last lines of the process's log, for failure messages.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }
}

impl Drop for SluiceProcess {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}
