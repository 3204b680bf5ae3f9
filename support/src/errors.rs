//! Errors that a path recovers from without telling its caller (a flush at shutdown, a best-effort
//! clean-up, a checkpoint that will be published again): each is logged and counted here, by a
//! fixed set of sites, and exported as `dhub_errors_total{site}`. A fixed label set: a site is code,
//! never data, so the metric's series are known before the first error.

use std::sync::atomic::{AtomicU64, Ordering};

/// Where an error was swallowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Site {
    /// The producer did not get everything to the broker within the shutdown flush.
    ProducerFlush,
    /// Topics could not be deleted (tests' clean-up; a broker may refuse by configuration).
    TopicDelete,
    /// An audit checkpoint could not be published (the next one covers it).
    CheckpointPublish,
    /// The audit chain's head could not be read for a checkpoint.
    CheckpointRead,
}

impl Site {
    pub const ALL: [Site; 4] = [
        Site::ProducerFlush,
        Site::TopicDelete,
        Site::CheckpointPublish,
        Site::CheckpointRead,
    ];

    /// The `site` label.
    pub fn as_str(self) -> &'static str {
        match self {
            Site::ProducerFlush => "producer_flush",
            Site::TopicDelete => "topic_delete",
            Site::CheckpointPublish => "checkpoint_publish",
            Site::CheckpointRead => "checkpoint_read",
        }
    }
}

static COUNTS: [AtomicU64; Site::ALL.len()] = [const { AtomicU64::new(0) }; Site::ALL.len()];

/// Logs `error` (a message that names no record content) and counts it under `site`.
pub fn swallowed(site: Site, error: &dyn std::fmt::Display) {
    tracing::warn!(site = site.as_str(), %error, "error recovered from without retrying the caller");
    COUNTS[site as usize].fetch_add(1, Ordering::Relaxed);
}

/// Errors per site since the process started.
pub fn totals() -> [(Site, u64); Site::ALL.len()] {
    Site::ALL.map(|site| (site, COUNTS[site as usize].load(Ordering::Relaxed)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_counted_by_site() {
        let before = totals();
        swallowed(Site::TopicDelete, &"refused");
        swallowed(Site::TopicDelete, &"refused");
        let after = totals();
        let topic = Site::TopicDelete as usize;
        assert!(after[topic].1 >= before[topic].1 + 2);
        assert_eq!(after[topic].0.as_str(), "topic_delete");
    }
}
