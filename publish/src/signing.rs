//! Signed feeds (CONTRACT §4): with `[hub] signing_key`, every envelope the relays produce carries a
//! `signature` header over its value bytes.
//!
//! An entry meant for several platforms has the same bytes for all of them, and each feed's relay
//! sends it separately: [`EnvelopeSigner`] signs an entry once, when the first relay asks, and hands
//! the same header to the others from a small cache keyed by the entry's seq (an entry's bytes never
//! change under its seq). Ed25519 signing costs tens of microseconds per envelope; the cache keeps
//! that to once per entry instead of once per feed.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use dhub_store::Entry;
use dhub_support::signature::Signer;

/// Signatures kept for the relays that have not sent an entry yet. The feeds of one instance read
/// the same hand-off within moments of each other, so a window of recent seqs is enough; an entry
/// that fell out is signed again (same bytes, same key: an equally valid signature).
const CACHED_SIGNATURES: usize = 65_536;

/// Signs envelopes once per entry; shared by every feed relay of an instance.
pub struct EnvelopeSigner {
    signer: Arc<Signer>,
    recent: Mutex<BTreeMap<i64, Arc<str>>>,
}

impl std::fmt::Debug for EnvelopeSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EnvelopeSigner")
            .field("key_id", self.signer.key_id())
            .finish_non_exhaustive()
    }
}

impl EnvelopeSigner {
    pub fn new(signer: Arc<Signer>) -> EnvelopeSigner {
        EnvelopeSigner {
            signer,
            recent: Mutex::new(BTreeMap::new()),
        }
    }

    /// The `signature` header value for this entry's payload.
    pub fn header_for(&self, entry: &Entry) -> Arc<str> {
        if let Some(found) = self.lock().get(&entry.seq) {
            return found.clone();
        }
        // Signed outside the lock: relays of other feeds are not held up meanwhile.
        let header: Arc<str> = Arc::from(self.signer.sign(&entry.payload));
        let mut recent = self.lock();
        recent.insert(entry.seq, header.clone());
        while recent.len() > CACHED_SIGNATURES {
            recent.pop_first();
        }
        header
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<i64, Arc<str>>> {
        // The map holds only finished signatures: a panic elsewhere cannot leave it half-written.
        self.recent.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dhub_support::signature::Verifier;

    const KEY: &str = include_str!("../../support/tests/keys/test-only-hub.key");

    fn entry(seq: i64, payload: &[u8]) -> Entry {
        Entry {
            seq,
            record_id: "r:1".into(),
            version: 1,
            op: dhub_store::OutboxOp::Upsert,
            platforms: vec!["a".into(), "b".into()],
            payload: Arc::from(payload),
            created_at_ms: 0,
        }
    }

    #[test]
    fn each_entry_is_signed_once_and_verifies() {
        let signer = Arc::new(Signer::from_pem(KEY).expect("test key"));
        let verifier = Verifier::new([signer.verifying_key()]).unwrap();
        let signing = EnvelopeSigner::new(signer);
        let first = signing.header_for(&entry(7, b"{\"op\":\"upsert\"}"));
        let again = signing.header_for(&entry(7, b"{\"op\":\"upsert\"}"));
        // The second feed gets the very same header, not a new signature.
        assert!(Arc::ptr_eq(&first, &again));
        verifier
            .verify(Some(first.as_bytes()), b"{\"op\":\"upsert\"}")
            .unwrap();
        assert!(verifier
            .verify(Some(first.as_bytes()), b"{\"op\":\"retract\"}")
            .is_err());
        assert!(format!("{signing:?}").contains("key_id"));
    }

    #[test]
    fn the_cache_stays_bounded() {
        let signer = Arc::new(Signer::from_pem(KEY).expect("test key"));
        let signing = EnvelopeSigner::new(signer);
        for seq in 0..(CACHED_SIGNATURES as i64 + 10) {
            signing.header_for(&entry(seq, b"{}"));
        }
        assert_eq!(signing.lock().len(), CACHED_SIGNATURES);
        assert!(!signing.lock().contains_key(&0));
    }
}
