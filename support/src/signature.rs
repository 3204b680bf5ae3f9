//! Signed feeds (CONTRACT §4): the hub signs each envelope's value bytes with Ed25519, a platform
//! checks the signature before it applies the envelope.
//!
//! The Kafka header is `signature: ed25519:<key id>:<signature>`, where
//!
//! - `<key id>` is the first 16 hex characters of SHA-256 over the 32-byte raw public key, so a
//!   platform holding several keys (one being rotated in, one out) knows which to use, and an
//!   operator can compare ids without comparing keys;
//! - `<signature>` is the 64-byte Ed25519 signature over the message value exactly as it sits in
//!   Kafka, in standard base64 with padding.
//!
//! Keys are the files OpenSSL writes, so operators need no tool of ours:
//!
//! ```text
//! openssl genpkey -algorithm ed25519 -out hub-signing.key          # PKCS#8 PEM private key (hub)
//! openssl pkey -in hub-signing.key -pubout -out hub-signing.pub    # SPKI PEM public key (platforms)
//! ```
//!
//! Nothing here prints key material: [`Signer`]'s `Debug` shows its key id only.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use ed25519_dalek::pkcs8::{DecodePrivateKey, DecodePublicKey};
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

/// The name of the Kafka header that carries the signature.
pub const SIGNATURE_HEADER: &str = "signature";

/// The algorithm tag at the start of the header value.
const ALGORITHM: &str = "ed25519";

/// Which key made a signature: 16 lowercase hex characters (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeyId(String);

impl KeyId {
    /// The id of a public key.
    pub fn of(key: &VerifyingKey) -> KeyId {
        let digest = Sha256::digest(key.as_bytes());
        KeyId(hex::encode(&digest[..8]))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for KeyId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A key file that cannot be used. Names the file, never its content.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot read key file {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{path} is not an Ed25519 private key in PKCS#8 PEM; make one with \
         `openssl genpkey -algorithm ed25519 -out FILE`"
    )]
    NotPrivateKey { path: PathBuf },
    #[error(
        "{path} is not an Ed25519 public key in SPKI PEM; derive it with \
         `openssl pkey -in PRIVATE.key -pubout -out FILE`"
    )]
    NotPublicKey { path: PathBuf },
    #[error("no verification key given; pass at least one public key file")]
    NoKeys,
}

/// Why a message's signature is not accepted. The text is stored with a rejected message, so it
/// says what is wrong without quoting the header.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("message has no `signature` header; this platform accepts only signed envelopes")]
    Missing,
    #[error("`signature` header is malformed ({0}); expected ed25519:<key id>:<base64 signature>")]
    Malformed(&'static str),
    #[error(
        "`signature` header names key {0}, which is not among this platform's verification keys"
    )]
    UnknownKey(String),
    #[error("`signature` header does not verify with key {0}: the value was altered or forged")]
    BadSignature(KeyId),
}

/// Signs envelope values with the hub's private key.
pub struct Signer {
    key: SigningKey,
    key_id: KeyId,
}

/// The key id only, never the key.
impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

impl Signer {
    /// A signer from PKCS#8 PEM text (`-----BEGIN PRIVATE KEY-----`, as `openssl genpkey
    /// -algorithm ed25519` writes). `None` when the text is not such a key.
    pub fn from_pem(pem: &str) -> Option<Signer> {
        let key = SigningKey::from_pkcs8_pem(pem.trim()).ok()?;
        let key_id = KeyId::of(&key.verifying_key());
        Some(Signer { key, key_id })
    }

    /// A signer from a private key file.
    pub fn from_file(path: &Path) -> Result<Signer, KeyError> {
        let text = std::fs::read_to_string(path).map_err(|source| KeyError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Signer::from_pem(&text).ok_or_else(|| KeyError::NotPrivateKey {
            path: path.to_path_buf(),
        })
    }

    pub fn key_id(&self) -> &KeyId {
        &self.key_id
    }

    /// The public half, for tests and for printing a platform's key file.
    pub fn verifying_key(&self) -> VerifyingKey {
        self.key.verifying_key()
    }

    /// The `signature` header value for a message value.
    pub fn sign(&self, value: &[u8]) -> String {
        let signature = self.key.sign(value);
        format!(
            "{ALGORITHM}:{}:{}",
            self.key_id,
            base64::engine::general_purpose::STANDARD.encode(signature.to_bytes())
        )
    }
}

/// Checks signatures against one or more trusted public keys.
#[derive(Clone)]
pub struct Verifier {
    keys: BTreeMap<KeyId, VerifyingKey>,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("key_ids", &self.keys.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Verifier {
    /// A verifier trusting these public keys.
    pub fn new(keys: impl IntoIterator<Item = VerifyingKey>) -> Result<Verifier, KeyError> {
        let keys: BTreeMap<KeyId, VerifyingKey> =
            keys.into_iter().map(|key| (KeyId::of(&key), key)).collect();
        if keys.is_empty() {
            return Err(KeyError::NoKeys);
        }
        Ok(Verifier { keys })
    }

    /// A public key from SPKI PEM text (`-----BEGIN PUBLIC KEY-----`, as `openssl pkey -pubout`
    /// writes). `None` when the text is not such a key.
    pub fn public_key_from_pem(pem: &str) -> Option<VerifyingKey> {
        VerifyingKey::from_public_key_pem(pem.trim()).ok()
    }

    /// A verifier trusting the public key in each file.
    pub fn from_files<P: AsRef<Path>>(paths: &[P]) -> Result<Verifier, KeyError> {
        let mut keys = Vec::with_capacity(paths.len());
        for path in paths {
            let path = path.as_ref();
            let text = std::fs::read_to_string(path).map_err(|source| KeyError::Read {
                path: path.to_path_buf(),
                source,
            })?;
            keys.push(Verifier::public_key_from_pem(&text).ok_or_else(|| {
                KeyError::NotPublicKey {
                    path: path.to_path_buf(),
                }
            })?);
        }
        Verifier::new(keys)
    }

    /// The ids of the trusted keys, sorted.
    pub fn key_ids(&self) -> impl Iterator<Item = &KeyId> {
        self.keys.keys()
    }

    /// Checks the `signature` header (`None` when the message has none) against `value`, the
    /// message value's bytes. Returns the id of the key that signed it.
    pub fn verify(&self, header: Option<&[u8]>, value: &[u8]) -> Result<KeyId, SignatureError> {
        let header = header.ok_or(SignatureError::Missing)?;
        let header =
            std::str::from_utf8(header).map_err(|_| SignatureError::Malformed("not UTF-8"))?;
        let mut parts = header.trim().splitn(3, ':');
        let (Some(algorithm), Some(key_id), Some(encoded)) =
            (parts.next(), parts.next(), parts.next())
        else {
            return Err(SignatureError::Malformed(
                "not three parts separated by `:`",
            ));
        };
        if algorithm != ALGORITHM {
            return Err(SignatureError::Malformed("the algorithm is not ed25519"));
        }
        let well_formed_id = key_id.len() == 16
            && key_id
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if !well_formed_id {
            return Err(SignatureError::Malformed(
                "the key id is not 16 lowercase hex characters",
            ));
        }
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .map_err(|_| SignatureError::Malformed("the signature is not standard base64"))?;
        let bytes: [u8; 64] = bytes
            .try_into()
            .map_err(|_| SignatureError::Malformed("the signature is not 64 bytes"))?;
        let key_id = KeyId(key_id.to_owned());
        let key = self
            .keys
            .get(&key_id)
            .ok_or_else(|| SignatureError::UnknownKey(key_id.0.clone()))?;
        // Strict verification refuses the malleable and small-order forms plain RFC 8032
        // verification lets through; OpenSSL and dalek never produce those.
        key.verify_strict(value, &Signature::from_bytes(&bytes))
            .map_err(|_| SignatureError::BadSignature(key_id.clone()))?;
        Ok(key_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HUB_KEY: &str = include_str!("../tests/keys/test-only-hub.key");
    const HUB_PUB: &str = include_str!("../tests/keys/test-only-hub.pub");
    const OTHER_KEY: &str = include_str!("../tests/keys/test-only-other.key");
    const OTHER_PUB: &str = include_str!("../tests/keys/test-only-other.pub");

    fn hub() -> Signer {
        Signer::from_pem(HUB_KEY).expect("the test key parses")
    }

    fn verifier(pems: &[&str]) -> Verifier {
        Verifier::new(
            pems.iter()
                .map(|pem| Verifier::public_key_from_pem(pem).expect("a public key")),
        )
        .unwrap()
    }

    #[test]
    fn the_key_id_is_sha256_of_the_raw_public_key() {
        // From the shell: openssl pkey -in test-only-hub.key -pubout -outform DER | tail -c 32
        //   | sha256sum | cut -c1-16
        assert_eq!(hub().key_id().as_str(), "813d39977f7f7362");
        let public = Verifier::public_key_from_pem(HUB_PUB).unwrap();
        assert_eq!(KeyId::of(&public), *hub().key_id());
        assert_eq!(hub().verifying_key(), public);
    }

    #[test]
    fn a_signature_round_trips() {
        let value = br#"{"schema":"disclosure.v1","op":"upsert","record_id":"oa:1"}"#;
        let header = hub().sign(value);
        assert!(header.starts_with("ed25519:813d39977f7f7362:"), "{header}");
        let key = verifier(&[HUB_PUB])
            .verify(Some(header.as_bytes()), value)
            .unwrap();
        assert_eq!(key.as_str(), "813d39977f7f7362");
    }

    #[test]
    fn a_signature_made_by_openssl_verifies() {
        // openssl pkeyutl -sign -rawin -inkey test-only-hub.key -in openssl-message.bin | base64
        let value = include_bytes!("../tests/keys/openssl-message.bin");
        let signature = include_str!("../tests/keys/openssl-message.sig.b64").trim();
        let header = format!("ed25519:813d39977f7f7362:{signature}");
        assert!(verifier(&[HUB_PUB])
            .verify(Some(header.as_bytes()), value)
            .is_ok());
        // Ed25519 is deterministic: our signer gives the same bytes.
        assert_eq!(hub().sign(value), header);
    }

    #[test]
    fn several_keys_each_verify_their_own_signatures() {
        let other = Signer::from_pem(OTHER_KEY).unwrap();
        let both = verifier(&[HUB_PUB, OTHER_PUB]);
        let value = b"envelope";
        assert_eq!(
            both.verify(Some(other.sign(value).as_bytes()), value)
                .unwrap(),
            *other.key_id()
        );
        assert_eq!(
            both.verify(Some(hub().sign(value).as_bytes()), value)
                .unwrap(),
            *hub().key_id()
        );
        assert_eq!(both.key_ids().count(), 2);
    }

    #[test]
    fn missing_malformed_unknown_and_forged_signatures_are_told_apart() {
        let only_hub = verifier(&[HUB_PUB]);
        let value = b"{\"version\":3}";
        assert_eq!(only_hub.verify(None, value), Err(SignatureError::Missing));

        for bad in [
            "",
            "ed25519",
            "ed25519:813d39977f7f7362",
            "rsa:813d39977f7f7362:AAAA",
            "ed25519:813D39977F7F7362:AAAA",
            "ed25519:813d3997:AAAA",
            "ed25519:813d39977f7f7362:not base64!",
            "ed25519:813d39977f7f7362:AAAA",
        ] {
            assert!(
                matches!(
                    only_hub.verify(Some(bad.as_bytes()), value),
                    Err(SignatureError::Malformed(_))
                ),
                "{bad:?}"
            );
        }
        assert!(matches!(
            only_hub.verify(Some(&[0xff, 0xfe]), value),
            Err(SignatureError::Malformed(_))
        ));

        let other = Signer::from_pem(OTHER_KEY).unwrap();
        let err = only_hub
            .verify(Some(other.sign(value).as_bytes()), value)
            .unwrap_err();
        assert_eq!(
            err,
            SignatureError::UnknownKey(other.key_id().as_str().to_owned())
        );

        // The hub's key id with another key's signature: a forgery.
        let forged = other
            .sign(value)
            .replace(other.key_id().as_str(), hub().key_id().as_str());
        assert_eq!(
            only_hub.verify(Some(forged.as_bytes()), value),
            Err(SignatureError::BadSignature(hub().key_id().clone()))
        );
        // A genuine signature over other bytes: the value was altered.
        let altered = hub().sign(b"{\"version\":2}");
        assert_eq!(
            only_hub.verify(Some(altered.as_bytes()), value),
            Err(SignatureError::BadSignature(hub().key_id().clone()))
        );
    }

    #[test]
    fn debug_never_shows_the_private_key() {
        let debug = format!("{:?}", hub());
        assert!(debug.contains("813d39977f7f7362"), "{debug}");
        let secret_b64 = HUB_KEY.lines().nth(1).unwrap();
        assert!(
            !debug.contains(secret_b64) && !debug.contains("MC4C"),
            "{debug}"
        );
    }

    #[test]
    fn key_files_are_read_and_wrong_files_are_named() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/keys");
        let signer = Signer::from_file(&dir.join("test-only-hub.key")).unwrap();
        let verifier = Verifier::from_files(&[
            dir.join("test-only-hub.pub"),
            dir.join("test-only-other.pub"),
        ])
        .unwrap();
        assert!(verifier
            .verify(Some(signer.sign(b"x").as_bytes()), b"x")
            .is_ok());

        // A public key where a private one belongs, and the other way round.
        let err = Signer::from_file(&dir.join("test-only-hub.pub")).unwrap_err();
        assert!(matches!(err, KeyError::NotPrivateKey { .. }));
        assert!(err.to_string().contains("test-only-hub.pub"));
        let err = Verifier::from_files(&[dir.join("test-only-hub.key")]).unwrap_err();
        assert!(matches!(err, KeyError::NotPublicKey { .. }));
        assert!(!err.to_string().contains("MC4C"));
        let err = Verifier::from_files(&[dir.join("missing.pub")]).unwrap_err();
        assert!(matches!(err, KeyError::Read { .. }));
        assert!(matches!(
            Verifier::from_files::<PathBuf>(&[]),
            Err(KeyError::NoKeys)
        ));
    }
}
