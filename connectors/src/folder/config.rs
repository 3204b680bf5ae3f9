//! Configuration of a folder source (`xml_dir`, `spreadsheet`).

use std::path::PathBuf;

use serde::Deserialize;

/// `[[source]] kind = "xml_dir"` or `"spreadsheet"`: a folder the department system drops its exports
/// into.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FolderConfig {
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
    /// A file is read only once it has not been written to for this long (by its modification time),
    /// so a half-written export is waited for, never parsed. Writers that create the file under
    /// another name and rename it in can set 0.
    #[serde(default = "default_settle_ms")]
    pub settle_ms: u64,
    /// File name extensions to read (case-insensitive); default by kind: `xml` for `xml_dir`, the
    /// mapping's format (`csv`, `xlsx`) for `spreadsheet`.
    #[serde(default)]
    pub extensions: Option<Vec<String>>,
    /// A file larger than this goes to `failed/` unread, with the reason.
    #[serde(default = "default_max_file_bytes")]
    pub max_file_bytes: u64,
}

fn default_poll_interval_ms() -> u64 {
    1000
}

fn default_settle_ms() -> u64 {
    100
}

fn default_max_file_bytes() -> u64 {
    // A year of a large department's cases is a few tens of MB of XML; the whole file is held in
    // memory while it is mapped.
    128 * 1024 * 1024
}

impl FolderConfig {
    /// Every problem with the keys, without a location (the caller adds file and line).
    pub fn check(&self) -> Vec<String> {
        let mut errors = Vec::new();
        if self.poll_interval_ms < 10 {
            errors.push(format!(
                "poll_interval_ms = {}: must be at least 10",
                self.poll_interval_ms
            ));
        }
        if self.max_file_bytes == 0 {
            errors.push("max_file_bytes = 0: must be at least 1".to_string());
        }
        if let Some(extensions) = &self.extensions {
            if extensions.is_empty() {
                errors.push("extensions = []: name at least one file extension".to_string());
            }
            for extension in extensions {
                if extension.is_empty() || extension.starts_with('.') || extension.contains('/') {
                    errors.push(format!(
                        "extensions: `{extension}` must be a bare extension such as \"xml\""
                    ));
                }
            }
        }
        errors
    }
}
