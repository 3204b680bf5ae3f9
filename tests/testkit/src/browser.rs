//! Headless Chromium for tests of pages: the DOM after the page has loaded (`--dump-dom`) and a
//! screenshot, with Debian's `/usr/bin/chromium` (`tests/deps.sh` installs it, with the CJK fonts
//! a Chinese page needs to show text rather than boxes).
//!
//! Each run gets a fresh profile directory and every background feature off (no network other
//! than the page asked for, no updates, no sync), and is killed if it hangs.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Where Debian installs Chromium; `DHUB_CHROMIUM` overrides it.
pub const CHROMIUM: &str = "/usr/bin/chromium";

/// How long one Chromium run may take before it is killed.
pub const RUN_TIMEOUT: Duration = Duration::from_secs(90);

#[derive(Debug, thiserror::Error)]
pub enum BrowserError {
    #[error(
        "chromium is not installed at {0}: install the Debian package `chromium` \
         (and `fonts-noto-cjk`), e.g. with `bash tests/deps.sh`, or set DHUB_CHROMIUM"
    )]
    Missing(PathBuf),
    #[error("could not start chromium: {0}")]
    Start(#[source] std::io::Error),
    #[error("chromium did not finish within {0:?} loading {1}")]
    Timeout(Duration, String),
    #[error("chromium failed loading {url} ({status}): {stderr}")]
    Failed {
        url: String,
        status: String,
        stderr: String,
    },
    #[error("chromium wrote no screenshot to {0}")]
    NoScreenshot(PathBuf),
}

/// A Chromium binary to run headless.
#[derive(Debug, Clone)]
pub struct Chromium {
    path: PathBuf,
}

impl Chromium {
    /// The installed Chromium, or an error naming the package to install.
    pub fn find() -> Result<Chromium, BrowserError> {
        let path = std::env::var_os("DHUB_CHROMIUM")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(CHROMIUM));
        if !path.is_file() {
            return Err(BrowserError::Missing(path));
        }
        Ok(Chromium { path })
    }

    /// The DOM of `url` once loaded, serialized as HTML.
    pub fn dump_dom(&self, url: &str) -> Result<String, BrowserError> {
        let output = self.run(url, &["--dump-dom".to_owned()])?;
        Ok(String::from_utf8_lossy(&output).into_owned())
    }

    /// A PNG screenshot of `url` at `width`×`height` CSS pixels, written to `path` (its
    /// directory is created).
    pub fn screenshot(
        &self,
        url: &str,
        path: &Path,
        width: u32,
        height: u32,
    ) -> Result<(), BrowserError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(BrowserError::Start)?;
        }
        let _ = std::fs::remove_file(path);
        self.run(
            url,
            &[
                format!("--screenshot={}", path.display()),
                format!("--window-size={width},{height}"),
                "--hide-scrollbars".to_owned(),
            ],
        )?;
        if !path.is_file() {
            return Err(BrowserError::NoScreenshot(path.to_path_buf()));
        }
        Ok(())
    }

    fn run(&self, url: &str, extra: &[String]) -> Result<Vec<u8>, BrowserError> {
        let profile = std::env::temp_dir().join(crate::unique_name("chromium-profile"));
        std::fs::create_dir_all(&profile).map_err(BrowserError::Start)?;
        let result = self.run_with_profile(url, extra, &profile);
        let _ = std::fs::remove_dir_all(&profile);
        result
    }

    fn run_with_profile(
        &self,
        url: &str,
        extra: &[String],
        profile: &Path,
    ) -> Result<Vec<u8>, BrowserError> {
        let out_path = profile.join("stdout");
        let err_path = profile.join("stderr");
        let stdout = std::fs::File::create(&out_path).map_err(BrowserError::Start)?;
        let stderr = std::fs::File::create(&err_path).map_err(BrowserError::Start)?;
        let mut child = Command::new(&self.path)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-dev-shm-usage",
                "--virtual-time-budget=5000",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .args(extra)
            .arg(url)
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
            .map_err(BrowserError::Start)?;
        let started = Instant::now();
        let status = loop {
            match child.try_wait().map_err(BrowserError::Start)? {
                Some(status) => break status,
                None if started.elapsed() > RUN_TIMEOUT => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(BrowserError::Timeout(RUN_TIMEOUT, url.to_owned()));
                }
                None => std::thread::sleep(Duration::from_millis(50)),
            }
        };
        if !status.success() {
            let stderr = std::fs::read_to_string(&err_path).unwrap_or_default();
            let tail: String = stderr
                .lines()
                .rev()
                .take(8)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect::<Vec<_>>()
                .join("\n");
            return Err(BrowserError::Failed {
                url: url.to_owned(),
                status: status.to_string(),
                stderr: tail,
            });
        }
        std::fs::read(&out_path).map_err(BrowserError::Start)
    }
}

/// `target/test-artifacts/<name>` of the workspace (or of `CARGO_TARGET_DIR`), where tests keep
/// files for a person to look at after the run.
pub fn artifact_path(name: &str) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    target.join("test-artifacts").join(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_chromium_names_the_package() {
        let missing = BrowserError::Missing(PathBuf::from("/nonexistent/chromium"));
        let text = missing.to_string();
        assert!(
            text.contains("`chromium`") && text.contains("tests/deps.sh"),
            "{text}"
        );
    }

    #[test]
    fn artifacts_go_under_test_artifacts() {
        let path = artifact_path("x.png");
        assert!(path.ends_with("test-artifacts/x.png"), "{}", path.display());
    }
}
