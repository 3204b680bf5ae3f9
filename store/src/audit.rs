//! The audit chain's hashing and checking, apart from any database.
//!
//! Unkeyed (the original scheme): `hash = sha256(prev_hash || canonical(entry))`, hex-encoded.
//! Keyed (`[hub] audit_key`): `hash = "hmac-sha256:" + hex(HMAC-SHA256(key, prev_hash ||
//! canonical(entry)))`. The key lives outside the database, so someone who can write the database
//! but lacks the key cannot recompute the chain after an edit. The canonical form hashes each
//! field as an 8-byte big-endian length followed by its bytes, so no two different entries
//! encode the same (`"ab" + "c"` ≠ `"a" + "bc"`), and it hashes `detail` as the exact JSON text
//! stored, so checking never depends on how a JSON library orders keys.
//!
//! The chain starts from [`GENESIS_HASH`]. Seqs run from 1 without gaps, and the one-row
//! `audit_head` table holds the last seq and hash, so the chain also catches entries deleted
//! from its end or appended by hand.
//!
//! # From an unkeyed chain to a keyed one
//!
//! A chain written before the key was configured keeps its unkeyed entries. The first append with
//! a key writes an [`KEYED_MARKER`] entry (itself keyed, naming the last unkeyed seq and hash) and
//! every entry after it is keyed. When checking with a key, unkeyed entries are accepted only before
//! that marker, a keyed entry must not be followed by an unkeyed one, and a non-empty chain without
//! any keyed entry is refused: so a chain rewritten wholesale without the key (the marker dropped,
//! everything rehashed unkeyed) does not pass. A hub without the key refuses to extend a keyed chain.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::model::{AuditBreak, AuditCheck, AuditEntry};

/// The `prev_hash` of the first entry.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What a keyed entry's hash starts with.
pub const KEYED_PREFIX: &str = "hmac-sha256:";

/// The kind of the entry that starts the keyed part of a chain.
pub const KEYED_MARKER: &str = "audit.keyed";

/// Shortest audit key accepted: HMAC-SHA256 wants at least the hash's 32 bytes of key.
pub const MIN_KEY_BYTES: usize = 32;

/// The key of the audit chain's HMAC (`[hub] audit_key`). Never printed.
#[derive(Clone)]
pub struct AuditKey(Vec<u8>);

impl std::fmt::Debug for AuditKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuditKey(***)")
    }
}

impl AuditKey {
    /// A key from its bytes (the secret's text, e.g. `openssl rand -hex 32`); refused when shorter
    /// than [`MIN_KEY_BYTES`]. The error never shows the key.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Result<AuditKey, String> {
        let bytes = bytes.into();
        if bytes.len() < MIN_KEY_BYTES {
            return Err(format!(
                "the audit key has {} bytes; give at least {MIN_KEY_BYTES} (e.g. `openssl rand -hex 32`)",
                bytes.len()
            ));
        }
        Ok(AuditKey(bytes))
    }
}

/// Whether a stored hash is a keyed one.
pub fn is_keyed(hash: &str) -> bool {
    hash.starts_with(KEYED_PREFIX)
}

/// The hash of an entry that follows `prev_hash`: keyed when `key` is given.
pub(crate) fn entry_hash(
    key: Option<&AuditKey>,
    prev_hash: &str,
    seq: i64,
    at_ms: i64,
    kind: &str,
    record_id: Option<&str>,
    detail: &str,
) -> String {
    match key {
        None => {
            let mut hasher = Sha256::new();
            canonical(
                prev_hash,
                seq,
                at_ms,
                kind,
                record_id,
                detail,
                &mut |bytes| hasher.update(bytes),
            );
            hex::encode(hasher.finalize())
        }
        Some(key) => {
            // Any key length is valid for HMAC; `new` only fails for fixed-size-key MACs.
            let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&key.0)
                .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
            canonical(
                prev_hash,
                seq,
                at_ms,
                kind,
                record_id,
                detail,
                &mut |bytes| mac.update(bytes),
            );
            format!("{KEYED_PREFIX}{}", hex::encode(mac.finalize().into_bytes()))
        }
    }
}

/// Feeds the canonical form of an entry to `sink`: each field as an 8-byte big-endian length and
/// its bytes.
fn canonical(
    prev_hash: &str,
    seq: i64,
    at_ms: i64,
    kind: &str,
    record_id: Option<&str>,
    detail: &str,
    sink: &mut dyn FnMut(&[u8]),
) {
    let mut field = |bytes: &[u8]| {
        sink(&(bytes.len() as u64).to_be_bytes());
        sink(bytes);
    };
    field(prev_hash.as_bytes());
    field(&seq.to_be_bytes());
    field(&at_ms.to_be_bytes());
    field(kind.as_bytes());
    // A tag byte tells "no record" from "record with an empty id".
    match record_id {
        None => field(&[0]),
        Some(id) => {
            let mut tagged = Vec::with_capacity(id.len() + 1);
            tagged.push(1);
            tagged.extend_from_slice(id.as_bytes());
            field(&tagged);
        }
    }
    field(detail.as_bytes());
}

/// Whether `entry`'s stored hash is right for its content, with `key` for a keyed entry.
pub(crate) fn entry_checks_out(key: Option<&AuditKey>, entry: &AuditEntry) -> bool {
    let key = if is_keyed(&entry.hash) { key } else { None };
    if is_keyed(&entry.hash) && key.is_none() {
        return false;
    }
    let recomputed = entry_hash(
        key,
        &entry.prev_hash,
        entry.seq,
        entry.at_ms,
        &entry.kind,
        entry.record_id.as_deref(),
        &entry.detail,
    );
    // Constant time is not needed: the stored hash is not a secret to the reader of the database.
    recomputed == entry.hash
}

/// Walks the chain page by page; the store feeds it entries in seq order.
pub(crate) struct ChainCheck {
    expected_seq: i64,
    prev_hash: String,
    head_seq: i64,
    key: Option<AuditKey>,
    /// Whether a keyed entry was seen: no unkeyed one may follow.
    keyed: bool,
}

impl ChainCheck {
    /// `head_seq`: the last seq the chain head covers (read in the same snapshot as the entries).
    /// `key`: the audit key, when one is configured.
    pub(crate) fn new(head_seq: i64, key: Option<AuditKey>) -> ChainCheck {
        ChainCheck {
            expected_seq: 1,
            prev_hash: GENESIS_HASH.to_owned(),
            head_seq,
            key,
            keyed: false,
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
        if is_keyed(&entry.hash) {
            if self.key.is_none() {
                return Err(broken(entry.seq, AuditBreak::KeyRequired));
            }
            if !self.keyed && entry.kind != KEYED_MARKER {
                // The keyed part starts with its marker; anything else is not how dhub writes it.
                return Err(broken(entry.seq, AuditBreak::NotKeyed));
            }
            self.keyed = true;
        } else if self.keyed {
            // Unkeyed after keyed: rewritten by someone without the key.
            return Err(broken(entry.seq, AuditBreak::NotKeyed));
        }
        if !entry_checks_out(self.key.as_ref(), entry) {
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
        if self.key.is_some() && self.head_seq > 0 && !self.keyed {
            // A key is configured but no entry carries it: either the hub never ran with the key
            // (it writes the marker at its first append), or the chain was rewritten without it.
            return AuditCheck::Broken {
                seq: self.head_seq,
                reason: AuditBreak::NotKeyed,
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
                let hash = entry_hash(None, &prev, seq, 1000 + seq, "test", Some("r:1"), &detail);
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
        let mut checker = ChainCheck::new(head_seq, None);
        for entry in entries {
            if let Err(broken) = checker.next(entry) {
                return broken;
            }
        }
        checker.finish(head_hash)
    }

    #[test]
    fn field_boundaries_matter() {
        let a = entry_hash(None, GENESIS_HASH, 1, 0, "ab", None, "c");
        let b = entry_hash(None, GENESIS_HASH, 1, 0, "a", None, "bc");
        assert_ne!(a, b);
        let none = entry_hash(None, GENESIS_HASH, 1, 0, "k", None, "{}");
        let empty = entry_hash(None, GENESIS_HASH, 1, 0, "k", Some(""), "{}");
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
            None,
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

    fn key() -> AuditKey {
        AuditKey::new(b"0123456789abcdef0123456789abcdef".to_vec()).unwrap()
    }

    /// `legacy` unkeyed entries, then the marker and `keyed - 1` more entries under `key`.
    fn migrated_chain(legacy: i64, keyed: i64, key: &AuditKey) -> Vec<AuditEntry> {
        let mut entries = chain(legacy);
        let mut prev = entries
            .last()
            .map_or(GENESIS_HASH.to_owned(), |e| e.hash.clone());
        for n in 0..keyed {
            let seq = legacy + 1 + n;
            let kind = if n == 0 { KEYED_MARKER } else { "test" };
            let detail = format!("{{\"n\":{seq}}}");
            let hash = entry_hash(Some(key), &prev, seq, 1000 + seq, kind, None, &detail);
            entries.push(AuditEntry {
                seq,
                at_ms: 1000 + seq,
                kind: kind.into(),
                record_id: None,
                detail,
                prev_hash: prev.clone(),
                hash: hash.clone(),
            });
            prev = hash;
        }
        entries
    }

    fn check_keyed(entries: &[AuditEntry], key: Option<AuditKey>) -> AuditCheck {
        let head = entries.last().map_or(0, |e| e.seq);
        let head_hash = entries
            .last()
            .map_or(GENESIS_HASH.to_owned(), |e| e.hash.clone());
        let mut checker = ChainCheck::new(head, key);
        for entry in entries {
            if let Err(broken) = checker.next(entry) {
                return broken;
            }
        }
        checker.finish(&head_hash)
    }

    #[test]
    fn short_keys_are_refused_and_never_printed() {
        let error = AuditKey::new(b"short-secret".to_vec()).unwrap_err();
        assert!(error.contains("12 bytes"), "{error}");
        assert!(!error.contains("short-secret"));
        assert_eq!(format!("{:?}", key()), "AuditKey(***)");
    }

    #[test]
    fn keyed_hashes_depend_on_the_key() {
        let other = AuditKey::new(b"another key of at least 32 bytes!!".to_vec()).unwrap();
        let plain = entry_hash(None, GENESIS_HASH, 1, 0, "k", None, "{}");
        let a = entry_hash(Some(&key()), GENESIS_HASH, 1, 0, "k", None, "{}");
        let b = entry_hash(Some(&other), GENESIS_HASH, 1, 0, "k", None, "{}");
        assert!(!is_keyed(&plain));
        assert!(is_keyed(&a) && is_keyed(&b));
        assert_ne!(a, b);
        assert_eq!(a.len(), KEYED_PREFIX.len() + 64);
    }

    #[test]
    fn a_migrated_chain_passes_with_its_key_only() {
        let entries = migrated_chain(3, 4, &key());
        assert_eq!(
            check_keyed(&entries, Some(key())),
            AuditCheck::Intact { entries: 7 }
        );
        // Without the key the keyed part cannot be checked.
        assert_eq!(
            check_keyed(&entries, None),
            AuditCheck::Broken {
                seq: 4,
                reason: AuditBreak::KeyRequired
            }
        );
        // With a wrong key the marker already fails.
        let wrong = AuditKey::new(b"a wrong key that is long enough..".to_vec()).unwrap();
        assert_eq!(
            check_keyed(&entries, Some(wrong)),
            AuditCheck::Broken {
                seq: 4,
                reason: AuditBreak::ContentChanged
            }
        );
        // A chain keyed from its first entry.
        let fresh = migrated_chain(0, 3, &key());
        assert_eq!(
            check_keyed(&fresh, Some(key())),
            AuditCheck::Intact { entries: 3 }
        );
    }

    #[test]
    fn rewriting_without_the_key_is_found() {
        let entries = migrated_chain(2, 4, &key());
        // An edit rehashed with plain SHA-256 in the keyed format's place: the MAC fails there.
        let mut edited = entries.clone();
        edited[4].detail = "{\"n\":99}".into();
        edited[4].hash = format!(
            "{KEYED_PREFIX}{}",
            entry_hash(
                None,
                &edited[4].prev_hash,
                5,
                edited[4].at_ms,
                "test",
                None,
                &edited[4].detail
            )
        );
        assert_eq!(
            check_keyed(&edited, Some(key())),
            AuditCheck::Broken {
                seq: 5,
                reason: AuditBreak::ContentChanged
            }
        );
        // The keyed part rewritten unkeyed from the edit on: refused at the first unkeyed entry.
        let mut downgraded = entries.clone();
        let mut prev = downgraded[3].hash.clone();
        for entry in downgraded.iter_mut().skip(4) {
            entry.prev_hash = prev.clone();
            entry.hash = entry_hash(
                None,
                &prev,
                entry.seq,
                entry.at_ms,
                &entry.kind,
                None,
                &entry.detail,
            );
            prev = entry.hash.clone();
        }
        assert_eq!(
            check_keyed(&downgraded, Some(key())),
            AuditCheck::Broken {
                seq: 5,
                reason: AuditBreak::NotKeyed
            }
        );
        // The whole chain rewritten unkeyed (marker dropped): no keyed entry at all.
        assert_eq!(
            check_keyed(&chain(6), Some(key())),
            AuditCheck::Broken {
                seq: 6,
                reason: AuditBreak::NotKeyed
            }
        );
        // A keyed entry that is not preceded by the marker is not how dhub writes.
        let mut no_marker = entries.clone();
        no_marker[2].kind = "test".into();
        assert_eq!(
            check_keyed(&no_marker, Some(key())),
            AuditCheck::Broken {
                seq: 3,
                reason: AuditBreak::NotKeyed
            }
        );
    }
}
