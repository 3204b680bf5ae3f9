//! How a commit that queued envelopes wakes the relay at once instead of at its next poll. The
//! ingest step raises the signal; the relay (in `publish/`, a floor above) waits on it, so the
//! pipeline never imports the Kafka side.

use std::sync::Arc;

use tokio::sync::Notify;

/// Cheap to clone; clones share one signal.
#[derive(Clone, Default)]
pub struct OutboxSignal {
    notify: Arc<Notify>,
}

impl OutboxSignal {
    /// New entries are committed to the outbox.
    pub fn raise(&self) {
        self.notify.notify_one();
    }

    /// Resolves once the signal was raised (a raise before the wait counts).
    pub async fn raised(&self) {
        self.notify.notified().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_raise_before_the_wait_is_not_lost() {
        let signal = OutboxSignal::default();
        signal.clone().raise();
        tokio::time::timeout(std::time::Duration::from_secs(1), signal.raised())
            .await
            .expect("the earlier raise wakes the waiter");
    }
}
