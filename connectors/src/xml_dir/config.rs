//! Configuration of an `xml_dir` source.

use std::path::PathBuf;

use serde::Deserialize;

/// `[[source]] kind = "xml_dir"`: a folder the department system drops its XML exports into.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct XmlDirConfig {
    /// Source name; records are identified as `<name>:<source key>`.
    pub name: String,
    /// The mapping file for this system's exports, relative to the config file.
    pub mapping: PathBuf,
    /// The folder to watch, relative to the config file.
    pub path: PathBuf,
    /// Where stored files go; default `<path>/done`.
    #[serde(default)]
    pub done_dir: Option<PathBuf>,
    /// Where unreadable files go, each with a `.reason` file; default `<path>/failed`.
    #[serde(default)]
    pub failed_dir: Option<PathBuf>,
    /// How often to rescan even without a file-system event (events can be lost on network shares).
    #[serde(default = "default_poll_interval_ms")]
    pub poll_interval_ms: u64,
    /// A file younger than this is left until it stops changing, so a half-written export is not read.
    /// Writers that create the file under another name and rename it in can set 0.
    #[serde(default = "default_settle_ms")]
    pub settle_ms: u64,
    /// File name extensions to read (case-insensitive).
    #[serde(default = "default_extensions")]
    pub extensions: Vec<String>,
}

fn default_poll_interval_ms() -> u64 {
    1000
}

fn default_settle_ms() -> u64 {
    100
}

fn default_extensions() -> Vec<String> {
    vec!["xml".into()]
}
