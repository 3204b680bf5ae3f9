//! The audit chain's hashing and checking, apart from any database.
//!
//! `hash = sha256(prev_hash || canonical(entry))`, hex-encoded. The canonical form hashes each
//! field as an 8-byte big-endian length followed by its bytes, so no two different entries
//! encode the same (`"ab" + "c"` ≠ `"a" + "bc"`), and it hashes `detail` as the exact JSON text
//! stored, so checking never depends on how a JSON library orders keys.
//!
//! The chain starts from [`GENESIS_HASH`]. Seqs run from 1 without gaps, and the one-row
//! `audit_head` table holds the last seq and hash, so the chain also catches entries deleted
//! from its end or appended by hand.

use sha2::{Digest, Sha256};

use crate::model::{AuditBreak, AuditCheck, AuditEntry};

/// The `prev_hash` of the first entry.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The hash of an entry that follows `prev_hash`.
pub(crate) fn entry_hash(
    prev_hash: &str,
    seq: i64,
    at_ms: i64,
    kind: &str,
    record_id: Option<&str>,
    detail: &str,
) -> String {
    let mut hasher = Sha256::new();
    field(&mut hasher, prev_hash.as_bytes());
    field(&mut hasher, &seq.to_be_bytes());
    field(&mut hasher, &at_ms.to_be_bytes());
    field(&mut hasher, kind.as_bytes());
    // A tag byte tells "no record" from "record with an empty id".
    match record_id {
        None => field(&mut hasher, &[0]),
        Some(id) => {
            let mut tagged = Vec::with_capacity(id.len() + 1);
            tagged.push(1);
            tagged.extend_from_slice(id.as_bytes());
            field(&mut hasher, &tagged);
        }
    }
    field(&mut hasher, detail.as_bytes());
    hex::encode(hasher.finalize())
}

fn field(hasher: &mut Sha256, bytes: &[u8]) {
    hasher.update((bytes.len() as u64).to_be_bytes());
    hasher.update(bytes);
}

/// Walks the chain page by page; the store feeds it entries in seq order.
pub(crate) struct ChainCheck {
    expected_seq: i64,
    prev_hash: String,
    head_seq: i64,
}

impl ChainCheck {
    /// `head_seq`: the last seq the chain head covers (read in the same snapshot as the entries).
    pub(crate) fn new(head_seq: i64) -> ChainCheck {
        ChainCheck {
            expected_seq: 1,
            prev_hash: GENESIS_HASH.to_owned(),
            head_seq,
        }
    }

    /// Checks the next entry; `Err` holds the first break.
    pub(crate) fn next(&mut self, entry: &AuditEntry) -> Result<(), AuditCheck> {
        let broken = |seq, reason| AuditCheck::Broken { seq, reason };
        if entry.seq > self.head_seq {
            // Appended without moving the head (a real append moves both in one transaction).
            // Reported only after every covered entry was found: a missing one comes first.
            return Err(if self.expected_seq <= self.head_seq {
                broken(self.expected_seq, AuditBreak::Missing)
            } else {
                broken(entry.seq, AuditBreak::NotInHead)
            });
        }
        if entry.seq != self.expected_seq {
            return Err(broken(self.expected_seq, AuditBreak::Missing));
        }
        if entry.prev_hash != self.prev_hash {
            return Err(broken(entry.seq, AuditBreak::LinkBroken));
        }
        let recomputed = entry_hash(
            &entry.prev_hash,
            entry.seq,
            entry.at_ms,
            &entry.kind,
            entry.record_id.as_deref(),
            &entry.detail,
        );
        if recomputed != entry.hash {
            return Err(broken(entry.seq, AuditBreak::ContentChanged));
        }
        self.prev_hash.clone_from(&entry.hash);
        self.expected_seq += 1;
        Ok(())
    }

    /// The verdict once every entry was fed; `head_hash` is the chain head's hash.
    pub(crate) fn finish(self, head_hash: &str) -> AuditCheck {
        if self.expected_seq <= self.head_seq {
            return AuditCheck::Broken {
                seq: self.expected_seq,
                reason: AuditBreak::Missing,
            };
        }
        if head_hash != self.prev_hash {
            return AuditCheck::Broken {
                seq: self.head_seq,
                reason: AuditBreak::HeadMismatch,
            };
        }
        AuditCheck::Intact {
            entries: self.head_seq,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: i64) -> Vec<AuditEntry> {
        let mut prev = GENESIS_HASH.to_owned();
        (1..=n)
            .map(|seq| {
                let detail = format!("{{\"n\":{seq}}}");
                let hash = entry_hash(&prev, seq, 1000 + seq, "test", Some("r:1"), &detail);
                let entry = AuditEntry {
                    seq,
                    at_ms: 1000 + seq,
                    kind: "test".into(),
                    record_id: Some("r:1".into()),
                    detail,
                    prev_hash: prev.clone(),
                    hash: hash.clone(),
                };
                prev = hash;
                entry
            })
            .collect()
    }

    fn check(entries: &[AuditEntry], head_seq: i64, head_hash: &str) -> AuditCheck {
        let mut checker = ChainCheck::new(head_seq);
        for entry in entries {
            if let Err(broken) = checker.next(entry) {
                return broken;
            }
        }
        checker.finish(head_hash)
    }

    #[test]
    fn field_boundaries_matter() {
        let a = entry_hash(GENESIS_HASH, 1, 0, "ab", None, "c");
        let b = entry_hash(GENESIS_HASH, 1, 0, "a", None, "bc");
        assert_ne!(a, b);
        let none = entry_hash(GENESIS_HASH, 1, 0, "k", None, "{}");
        let empty = entry_hash(GENESIS_HASH, 1, 0, "k", Some(""), "{}");
        assert_ne!(none, empty);
        assert_eq!(a.len(), 64);
    }

    #[test]
    fn an_intact_chain_passes_and_the_empty_chain_too() {
        let entries = chain(5);
        let last = entries[4].hash.clone();
        assert_eq!(check(&entries, 5, &last), AuditCheck::Intact { entries: 5 });
        assert_eq!(
            check(&[], 0, GENESIS_HASH),
            AuditCheck::Intact { entries: 0 }
        );
    }

    #[test]
    fn each_kind_of_tampering_is_found_at_its_seq() {
        let entries = chain(5);
        let last = entries[4].hash.clone();

        let mut edited = entries.clone();
        edited[2].detail = "{\"n\":99}".into();
        assert_eq!(
            check(&edited, 5, &last),
            AuditCheck::Broken {
                seq: 3,
                reason: AuditBreak::ContentChanged
            }
        );

        // Re-hashing the edited entry does not help: the next one no longer links.
        let mut rehashed = edited.clone();
        rehashed[2].hash = entry_hash(
            &rehashed[2].prev_hash,
            3,
            rehashed[2].at_ms,
            "test",
            Some("r:1"),
            &rehashed[2].detail,
        );
        assert_eq!(
            check(&rehashed, 5, &last),
            AuditCheck::Broken {
                seq: 4,
                reason: AuditBreak::LinkBroken
            }
        );

        let mut deleted = entries.clone();
        deleted.remove(1);
        assert_eq!(
            check(&deleted, 5, &last),
            AuditCheck::Broken {
                seq: 2,
                reason: AuditBreak::Missing
            }
        );

        let truncated = &entries[..3];
        assert_eq!(
            check(truncated, 5, &last),
            AuditCheck::Broken {
                seq: 4,
                reason: AuditBreak::Missing
            }
        );

        let mut appended = chain(6);
        let sixth = appended.pop().map(|e| vec![e]).unwrap_or_default();
        let mut forged = entries.clone();
        forged.extend(sixth);
        assert_eq!(
            check(&forged, 5, &last),
            AuditCheck::Broken {
                seq: 6,
                reason: AuditBreak::NotInHead
            }
        );

        assert_eq!(
            check(&entries, 5, GENESIS_HASH),
            AuditCheck::Broken {
                seq: 5,
                reason: AuditBreak::HeadMismatch
            }
        );
    }
}
