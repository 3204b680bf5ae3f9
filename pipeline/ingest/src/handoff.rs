//! The in-memory hand-off from the ingest step to the relay: after a commit that queued envelopes,
//! the new entries go straight to every feed relay of this instance, which therefore reads the queue
//! table only at start and when it falls behind (a relay that lags more than the channel holds is
//! told so by the broadcast channel, and catches up from the table). The pipeline raises it; the relay
//! (in `publish/`, a floor above) listens, so the pipeline never imports the Kafka side.

use std::sync::Arc;

use dhub_store::Entry;
use tokio::sync::broadcast;

/// Committed entries, in commit order. Cheap to clone; clones share one channel.
#[derive(Clone)]
pub struct OutboxHandoff {
    sender: broadcast::Sender<Arc<[Entry]>>,
}

/// Committed batches a relay may lag behind in memory before it reads the table instead. The ring
/// holds their entries (payloads included) until every relay has taken them: with 1,000-case export
/// files a batch is ≈4.5 MB, so 256 let a relay that waits (for topics, a broker that is down) pin
/// over a gigabyte; 16 bound that to ≈70 MB, and a relay further behind reads the table, as designed.
/// A relay subscribes only when it starts sending, so one that waits for its topics pins nothing.
pub const HANDOFF_BATCHES: usize = 16;

impl Default for OutboxHandoff {
    fn default() -> Self {
        OutboxHandoff::new(HANDOFF_BATCHES)
    }
}

impl OutboxHandoff {
    /// `capacity`: how many committed batches a relay may lag behind before it must read the table.
    pub fn new(capacity: usize) -> OutboxHandoff {
        OutboxHandoff {
            sender: broadcast::channel(capacity).0,
        }
    }

    /// Hands committed entries to the relays (none listening: they read the table when they start).
    pub fn send(&self, entries: Vec<Entry>) {
        if !entries.is_empty() {
            let _ = self.sender.send(entries.into());
        }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<[Entry]>> {
        self.sender.subscribe()
    }

    /// How many relays listen now (the ring keeps a batch only while one has not taken it).
    pub fn listeners(&self) -> usize {
        self.sender.receiver_count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dhub_store::OutboxOp;

    fn entry(seq: i64) -> Entry {
        Entry {
            seq,
            record_id: "r:1".into(),
            version: 1,
            op: OutboxOp::Upsert,
            platforms: vec!["p".into()],
            payload: Arc::from(&b"{}"[..]),
            created_at_ms: 0,
        }
    }

    #[tokio::test]
    async fn a_relay_that_falls_behind_is_told_so() {
        let handoff = OutboxHandoff::new(2);
        let mut relay = handoff.subscribe();
        for seq in 1..=3 {
            handoff.send(vec![entry(seq)]);
        }
        assert!(matches!(
            relay.recv().await,
            Err(broadcast::error::RecvError::Lagged(1))
        ));
        assert_eq!(relay.recv().await.unwrap()[0].seq, 2);
    }
}
