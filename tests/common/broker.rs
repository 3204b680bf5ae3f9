//! A tansu broker of the test's own on a free port, which the test may stop and start (the shared
//! broker of `DHUB_TEST_BROKERS` is never stopped).

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::eventually;

/// A private tansu broker. In memory ([`PrivateBroker::start`]) a restart starts it empty; on
/// Postgres ([`PrivateBroker::start_with`]) it keeps its topics, messages and group offsets.
pub struct PrivateBroker {
    port: u16,
    storage: String,
    child: Option<std::process::Child>,
    log: Option<PathBuf>,
}

impl PrivateBroker {
    fn tansu() -> PathBuf {
        if let Ok(path) = std::env::var("DHUB_TEST_TANSU") {
            return path.into();
        }
        let installed =
            Path::new(&std::env::var("HOME").unwrap_or_default()).join(".cargo/bin/tansu");
        assert!(
            installed.exists(),
            "tansu is not installed ({}): run tests/broker.sh once (it installs it) or set DHUB_TEST_TANSU",
            installed.display()
        );
        installed
    }

    /// An in-memory broker.
    pub async fn start() -> PrivateBroker {
        PrivateBroker::start_with("memory://tansu/", None).await
    }

    /// A broker on the storage engine `storage` (`memory://…`, `postgres://…`), its output appended
    /// to `log` (discarded without one).
    pub async fn start_with(storage: &str, log: Option<PathBuf>) -> PrivateBroker {
        let mut broker = PrivateBroker {
            port: super::free_port(),
            storage: storage.to_owned(),
            child: None,
            log,
        };
        broker.resume().await;
        broker
    }

    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Starts the broker (again) on its port.
    pub async fn resume(&mut self) {
        let url = format!("tcp://127.0.0.1:{}", self.port);
        let output = || match &self.log {
            Some(path) => std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map(std::process::Stdio::from)
                .unwrap_or_else(|_| std::process::Stdio::null()),
            None => std::process::Stdio::null(),
        };
        let child = std::process::Command::new(Self::tansu())
            .args([
                "broker",
                "--listener-url",
                &url,
                "--advertised-listener-url",
                &url,
            ])
            .args(["--storage-engine", &self.storage])
            .stdout(output())
            .stderr(output())
            .spawn()
            .expect("start tansu");
        self.child = Some(child);
        let address = self.address();
        eventually(
            "the private broker answers",
            Duration::from_secs(20),
            || {
                let address = address.clone();
                async move {
                    tokio::net::TcpStream::connect(&address)
                        .await
                        .ok()
                        .map(|_| ())
                }
            },
        )
        .await;
    }

    /// Sends `signal` (`STOP`, `CONT`) to the broker process.
    pub fn signal(&self, signal: &str) {
        let pid = self.child.as_ref().expect("running").id();
        let sent = std::process::Command::new("kill")
            .args([format!("-{signal}"), pid.to_string()])
            .status()
            .unwrap();
        assert!(sent.success(), "kill -{signal} {pid}");
    }

    /// SIGKILL: the broker is gone at once, with whatever was in flight.
    pub fn kill(&mut self) {
        if let Some(child) = &self.child {
            // A frozen process dies of SIGKILL too; CONT first anyway so no stopped zombie stays.
            let _ = std::process::Command::new("kill")
                .args(["-CONT", &child.id().to_string()])
                .status();
        }
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for PrivateBroker {
    fn drop(&mut self) {
        self.kill();
    }
}
