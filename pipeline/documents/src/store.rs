//! The document store: bytes by their SHA-256, in a folder or in S3-compatible object storage.
//!
//! The location chooses the backend: a path (relative to the config file's folder) or `file:///…`
//! is a folder; `s3://bucket/prefix` is object storage (feature `s3`, through `object_store`),
//! with credentials from [`S3Options`] (the config's secrets) and otherwise the standard `AWS_*`
//! environment variables. Both lay objects out as `ab/cd/<sha256>`, so a folder can be synced to
//! a bucket as it is.
//!
//! Content addressing makes `put` idempotent and every object self-checking: `get` verifies the
//! hash of what it read, so a corrupted or tampered file is an error, never served. Folder writes
//! are atomic: a temporary file in the store, fsync, rename, fsync of the folder; a crash leaves
//! either no object or the whole object (and at worst a stray temporary file, which `list` skips).
//!
//! Keep originals and public versions in separate stores when the hub serves
//! `GET /documents/{sha256}` from one: a store serves whatever hash it is asked for.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use dhub_support::secret::SecretString;

use crate::attachment::{sha256_hex, DocumentDescriptor, Evidence};
use crate::PublicVersion;

/// Why a store operation failed. `is_retryable` tells the caller whether trying again can help.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("document store location `{location}`: {reason}")]
    Location { location: String, reason: String },
    #[error("`{0}` is not a SHA-256 (64 lowercase hex digits)")]
    InvalidHash(String),
    #[error("document {sha256} in the store does not match its hash: the stored copy is corrupt; restore it from a backup or put the document again")]
    Corrupt { sha256: String },
    #[error("document store {op} failed: {source}")]
    Io {
        op: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("object storage {op} failed: {message}")]
    Object {
        op: &'static str,
        message: String,
        retryable: bool,
    },
}

impl StoreError {
    pub fn is_retryable(&self) -> bool {
        match self {
            StoreError::Location { .. }
            | StoreError::InvalidHash(_)
            | StoreError::Corrupt { .. } => false,
            StoreError::Io { source, .. } => !matches!(
                source.kind(),
                std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::InvalidInput
            ),
            StoreError::Object { retryable, .. } => *retryable,
        }
    }
}

/// Settings of an `s3://` location beyond the URL; each unset one falls back to the `AWS_*`
/// environment variables (`AWS_ENDPOINT`, `AWS_REGION`, `AWS_ACCESS_KEY_ID`, …).
#[derive(Debug, Clone, Default)]
pub struct S3Options {
    /// An S3-compatible server's URL (MinIO, Ceph, a cloud's OSS endpoint).
    pub endpoint: Option<String>,
    pub region: Option<String>,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<SecretString>,
    /// Allow `http://` endpoints (tests, an in-cluster server).
    pub allow_http: bool,
}

/// A document store, chosen by location.
#[derive(Clone)]
pub enum DocumentStore {
    Folder(FolderStore),
    #[cfg(feature = "s3")]
    S3(S3Store),
}

impl std::fmt::Debug for DocumentStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DocumentStore::Folder(s) => write!(f, "DocumentStore::Folder({})", s.root.display()),
            #[cfg(feature = "s3")]
            DocumentStore::S3(s) => write!(f, "DocumentStore::S3({})", s.location),
        }
    }
}

/// Checks a hash given from outside (`GET /documents/{sha256}`): it becomes a path.
fn check_hash(sha256: &str) -> Result<(), StoreError> {
    if sha256.len() == 64
        && sha256
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    {
        Ok(())
    } else {
        // A hash is not personal; but a bad one can be anything: show its length only if long.
        let shown = if sha256.len() <= 80 {
            sha256.to_string()
        } else {
            format!("{} characters", sha256.len())
        };
        Err(StoreError::InvalidHash(shown))
    }
}

/// `ab/cd/abcd…`
fn relative_key(sha256: &str) -> String {
    format!("{}/{}/{sha256}", &sha256[..2], &sha256[2..4])
}

impl DocumentStore {
    /// Opens the store at `location`: a path (relative to `base_dir`), `file:///abs/path`, or
    /// `s3://bucket[/prefix]`. The folder is created if missing.
    pub async fn open(
        location: &str,
        base_dir: &Path,
        s3: &S3Options,
    ) -> Result<DocumentStore, StoreError> {
        let location_error = |reason: &str| StoreError::Location {
            location: dhub_support::url::redact_url(location),
            reason: reason.to_string(),
        };
        if let Some(rest) = location.strip_prefix("file://") {
            if !rest.starts_with('/') {
                return Err(location_error(
                    "a file:// URL needs an absolute path (file:///var/lib/dhub/documents); write a relative path without file://",
                ));
            }
            return FolderStore::open(PathBuf::from(rest))
                .await
                .map(DocumentStore::Folder);
        }
        if location.starts_with("s3://") {
            #[cfg(feature = "s3")]
            return S3Store::open(location, s3).map(DocumentStore::S3);
            #[cfg(not(feature = "s3"))]
            {
                let _ = s3;
                return Err(location_error(
                    "this build has no S3 support (feature `s3` of dhub-documents)",
                ));
            }
        }
        if location.contains("://") {
            return Err(location_error(
                "unknown scheme: use a folder path, file:///… or s3://bucket/prefix",
            ));
        }
        if location.is_empty() {
            return Err(location_error("the location is empty"));
        }
        FolderStore::open(base_dir.join(location))
            .await
            .map(DocumentStore::Folder)
    }

    /// Stores bytes; returns their SHA-256. Storing what is already there is a no-op.
    pub async fn put(&self, bytes: &[u8]) -> Result<String, StoreError> {
        let sha256 = sha256_hex(bytes);
        match self {
            DocumentStore::Folder(s) => s.put(&sha256, bytes.to_vec()).await?,
            #[cfg(feature = "s3")]
            DocumentStore::S3(s) => s.put(&sha256, bytes.to_vec()).await?,
        }
        Ok(sha256)
    }

    /// Stores a public version; returns its descriptor for the upsert.
    pub async fn put_public_version(
        &self,
        version: &PublicVersion,
        base_url: &str,
    ) -> Result<DocumentDescriptor, StoreError> {
        self.put(version.as_bytes()).await?;
        Ok(DocumentDescriptor::public_version(version, base_url))
    }

    /// Stores checked evidence; returns its descriptor for the upsert.
    pub async fn put_evidence(
        &self,
        evidence: &Evidence,
        base_url: &str,
    ) -> Result<DocumentDescriptor, StoreError> {
        self.put(evidence.bytes()).await?;
        Ok(DocumentDescriptor::evidence(evidence, base_url))
    }

    /// The bytes of a document, verified against the hash; `None` when the store lacks it.
    pub async fn get(&self, sha256: &str) -> Result<Option<Vec<u8>>, StoreError> {
        check_hash(sha256)?;
        let bytes = match self {
            DocumentStore::Folder(s) => s.get(sha256).await?,
            #[cfg(feature = "s3")]
            DocumentStore::S3(s) => s.get(sha256).await?,
        };
        match bytes {
            Some(b) if sha256_hex(&b) != sha256 => Err(StoreError::Corrupt {
                sha256: sha256.to_string(),
            }),
            other => Ok(other),
        }
    }

    pub async fn exists(&self, sha256: &str) -> Result<bool, StoreError> {
        check_hash(sha256)?;
        match self {
            DocumentStore::Folder(s) => s.exists(sha256).await,
            #[cfg(feature = "s3")]
            DocumentStore::S3(s) => s.exists(sha256).await,
        }
    }

    /// Deletes a document; `false` when it was not there.
    pub async fn delete(&self, sha256: &str) -> Result<bool, StoreError> {
        check_hash(sha256)?;
        match self {
            DocumentStore::Folder(s) => s.delete(sha256).await,
            #[cfg(feature = "s3")]
            DocumentStore::S3(s) => s.delete(sha256).await,
        }
    }

    /// Every stored hash, sorted: for pruning documents no record references.
    pub async fn list(&self) -> Result<Vec<String>, StoreError> {
        let mut out = match self {
            DocumentStore::Folder(s) => s.list().await?,
            #[cfg(feature = "s3")]
            DocumentStore::S3(s) => s.list().await?,
        };
        out.sort();
        Ok(out)
    }
}

/// A folder of `ab/cd/<sha256>` files, with temporary files in `.tmp/`.
#[derive(Clone)]
pub struct FolderStore {
    root: Arc<PathBuf>,
}

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

fn io(op: &'static str) -> impl FnOnce(std::io::Error) -> StoreError {
    move |source| StoreError::Io { op, source }
}

/// Runs blocking file work off the async threads.
async fn blocking<T: Send + 'static>(
    op: &'static str,
    f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| StoreError::Io {
            op,
            source: std::io::Error::other(e.to_string()),
        })?
}

impl FolderStore {
    async fn open(root: PathBuf) -> Result<FolderStore, StoreError> {
        let root2 = root.clone();
        blocking("open", move || {
            std::fs::create_dir_all(root2.join(".tmp")).map_err(io("open"))
        })
        .await?;
        Ok(FolderStore {
            root: Arc::new(root),
        })
    }

    fn path(&self, sha256: &str) -> PathBuf {
        self.root.join(relative_key(sha256))
    }

    async fn put(&self, sha256: &str, bytes: Vec<u8>) -> Result<(), StoreError> {
        let target = self.path(sha256);
        let temp_dir = self.root.join(".tmp");
        let name = format!(
            "{sha256}.{}.{}",
            std::process::id(),
            TEMP_COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        blocking("put", move || {
            if target.exists() {
                return Ok(());
            }
            let dir = target.parent().unwrap_or(Path::new("."));
            std::fs::create_dir_all(dir).map_err(io("put"))?;
            let temp = temp_dir.join(name);
            let result = (|| {
                use std::io::Write;
                let mut file = std::fs::File::create(&temp)?;
                file.write_all(&bytes)?;
                file.sync_all()?;
                drop(file);
                std::fs::rename(&temp, &target)?;
                // The rename is durable only once the folder's entry is on disk.
                std::fs::File::open(dir)?.sync_all()
            })();
            if result.is_err() {
                let _ = std::fs::remove_file(&temp);
            }
            result.map_err(io("put"))
        })
        .await
    }

    async fn get(&self, sha256: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let path = self.path(sha256);
        blocking("get", move || match std::fs::read(&path) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io("get")(e)),
        })
        .await
    }

    async fn exists(&self, sha256: &str) -> Result<bool, StoreError> {
        let path = self.path(sha256);
        blocking("exists", move || path.try_exists().map_err(io("exists"))).await
    }

    async fn delete(&self, sha256: &str) -> Result<bool, StoreError> {
        let path = self.path(sha256);
        blocking("delete", move || match std::fs::remove_file(&path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(io("delete")(e)),
        })
        .await
    }

    async fn list(&self) -> Result<Vec<String>, StoreError> {
        let root = Arc::clone(&self.root);
        blocking("list", move || {
            let mut out = Vec::new();
            let read = |p: &Path| std::fs::read_dir(p).map_err(io("list"));
            for a in read(&root)? {
                let a = a.map_err(io("list"))?;
                let a_name = a.file_name().to_string_lossy().into_owned();
                if a_name.len() != 2 || !a.file_type().map_err(io("list"))?.is_dir() {
                    continue;
                }
                for b in read(&a.path())? {
                    let b = b.map_err(io("list"))?;
                    let b_name = b.file_name().to_string_lossy().into_owned();
                    if b_name.len() != 2 || !b.file_type().map_err(io("list"))?.is_dir() {
                        continue;
                    }
                    for f in read(&b.path())? {
                        let name = f
                            .map_err(io("list"))?
                            .file_name()
                            .to_string_lossy()
                            .into_owned();
                        if check_hash(&name).is_ok() && name[..2] == a_name && name[2..4] == b_name
                        {
                            out.push(name);
                        }
                    }
                }
            }
            Ok(out)
        })
        .await
    }
}

#[cfg(feature = "s3")]
pub use s3::S3Store;

#[cfg(feature = "s3")]
mod s3 {
    use std::sync::Arc;

    use futures::TryStreamExt;
    use object_store::aws::AmazonS3Builder;
    use object_store::path::Path as ObjectPath;
    use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

    use super::{check_hash, relative_key, S3Options, StoreError};

    /// Objects `prefix/ab/cd/<sha256>` in a bucket.
    #[derive(Clone)]
    pub struct S3Store {
        store: Arc<dyn ObjectStore>,
        prefix: String,
        pub(super) location: String,
    }

    fn object_error(op: &'static str) -> impl FnOnce(object_store::Error) -> StoreError {
        move |e| {
            let retryable = !matches!(
                e,
                object_store::Error::NotFound { .. }
                    | object_store::Error::InvalidPath { .. }
                    | object_store::Error::NotSupported { .. }
                    | object_store::Error::PermissionDenied { .. }
                    | object_store::Error::Unauthenticated { .. }
                    | object_store::Error::UnknownConfigurationKey { .. }
            );
            StoreError::Object {
                op,
                message: e.to_string(),
                retryable,
            }
        }
    }

    impl S3Store {
        pub(super) fn open(location: &str, options: &S3Options) -> Result<S3Store, StoreError> {
            let rest = location.trim_start_matches("s3://");
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(StoreError::Location {
                    location: dhub_support::url::redact_url(location),
                    reason: "no bucket: write s3://bucket/prefix".to_string(),
                });
            }
            let mut builder = AmazonS3Builder::from_env().with_bucket_name(bucket);
            if let Some(endpoint) = &options.endpoint {
                builder = builder.with_endpoint(endpoint);
            }
            if let Some(region) = &options.region {
                builder = builder.with_region(region);
            }
            if let Some(key) = &options.access_key_id {
                builder = builder.with_access_key_id(key);
            }
            if let Some(secret) = &options.secret_access_key {
                builder = builder.with_secret_access_key(secret.expose());
            }
            if options.allow_http {
                builder = builder.with_allow_http(true);
            }
            let store = builder.build().map_err(|e| StoreError::Location {
                location: dhub_support::url::redact_url(location),
                reason: e.to_string(),
            })?;
            Ok(S3Store {
                store: Arc::new(store),
                prefix: prefix.trim_matches('/').to_string(),
                location: location.to_string(),
            })
        }

        fn path(&self, sha256: &str) -> ObjectPath {
            let key = relative_key(sha256);
            if self.prefix.is_empty() {
                ObjectPath::from(key)
            } else {
                ObjectPath::from(format!("{}/{key}", self.prefix))
            }
        }

        pub(super) async fn put(&self, sha256: &str, bytes: Vec<u8>) -> Result<(), StoreError> {
            // A PUT of one object is atomic in S3: readers see the old state or the whole object.
            self.store
                .put(&self.path(sha256), PutPayload::from(bytes))
                .await
                .map_err(object_error("put"))?;
            Ok(())
        }

        pub(super) async fn get(&self, sha256: &str) -> Result<Option<Vec<u8>>, StoreError> {
            match self.store.get(&self.path(sha256)).await {
                Ok(result) => Ok(Some(
                    result.bytes().await.map_err(object_error("get"))?.to_vec(),
                )),
                Err(object_store::Error::NotFound { .. }) => Ok(None),
                Err(e) => Err(object_error("get")(e)),
            }
        }

        pub(super) async fn exists(&self, sha256: &str) -> Result<bool, StoreError> {
            match self.store.head(&self.path(sha256)).await {
                Ok(_) => Ok(true),
                Err(object_store::Error::NotFound { .. }) => Ok(false),
                Err(e) => Err(object_error("exists")(e)),
            }
        }

        pub(super) async fn delete(&self, sha256: &str) -> Result<bool, StoreError> {
            // S3 deletes are idempotent and say nothing of existence: ask first.
            if !self.exists(sha256).await? {
                return Ok(false);
            }
            self.store
                .delete(&self.path(sha256))
                .await
                .map_err(object_error("delete"))?;
            Ok(true)
        }

        pub(super) async fn list(&self) -> Result<Vec<String>, StoreError> {
            let prefix = (!self.prefix.is_empty()).then(|| ObjectPath::from(self.prefix.as_str()));
            let metas: Vec<_> = self
                .store
                .list(prefix.as_ref())
                .try_collect()
                .await
                .map_err(object_error("list"))?;
            Ok(metas
                .into_iter()
                .filter_map(|m| m.location.filename().map(str::to_string))
                .filter(|name| check_hash(name).is_ok())
                .collect())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn folder() -> (tempfile::TempDir, DocumentStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = DocumentStore::open("documents", dir.path(), &S3Options::default())
            .await
            .unwrap();
        (dir, store)
    }

    #[tokio::test]
    async fn put_get_exists_delete_list() {
        let (dir, store) = folder().await;
        let sha = store.put(b"decision").await.unwrap();
        assert_eq!(sha, sha256_hex(b"decision"));
        let path = dir
            .path()
            .join("documents")
            .join(&sha[..2])
            .join(&sha[2..4])
            .join(&sha);
        assert_eq!(std::fs::read(&path).unwrap(), b"decision");
        // Idempotent.
        assert_eq!(store.put(b"decision").await.unwrap(), sha);
        assert_eq!(
            store.get(&sha).await.unwrap().as_deref(),
            Some(&b"decision"[..])
        );
        assert!(store.exists(&sha).await.unwrap());
        let other = store.put(b"evidence").await.unwrap();
        let mut both = vec![sha.clone(), other.clone()];
        both.sort();
        assert_eq!(store.list().await.unwrap(), both);
        assert!(store.delete(&sha).await.unwrap());
        assert!(!store.delete(&sha).await.unwrap());
        assert!(!store.exists(&sha).await.unwrap());
        assert_eq!(store.get(&sha).await.unwrap(), None);
        assert_eq!(store.list().await.unwrap(), [other]);
        // No temporary file is left behind.
        let temps = std::fs::read_dir(dir.path().join("documents/.tmp"))
            .unwrap()
            .count();
        assert_eq!(temps, 0);
    }

    #[tokio::test]
    async fn a_corrupt_file_is_an_error_not_served() {
        let (dir, store) = folder().await;
        let sha = store.put(b"original").await.unwrap();
        let path = dir.path().join("documents").join(relative_key(&sha));
        std::fs::write(&path, b"tampered").unwrap();
        let err = store.get(&sha).await.unwrap_err();
        assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
        assert!(!err.is_retryable());
    }

    #[tokio::test]
    async fn hashes_from_outside_are_checked_before_they_become_paths() {
        let (_dir, store) = folder().await;
        for bad in [
            "../../etc/passwd",
            "ABCDEF",
            &"g".repeat(64),
            &"A".repeat(64),
        ] {
            assert!(matches!(
                store.get(bad).await,
                Err(StoreError::InvalidHash(_))
            ));
            assert!(store.exists(bad).await.is_err());
            assert!(store.delete(bad).await.is_err());
        }
    }

    #[tokio::test]
    async fn list_skips_stray_files() {
        let (dir, store) = folder().await;
        let sha = store.put(b"x").await.unwrap();
        let root = dir.path().join("documents");
        std::fs::write(root.join(".tmp").join(format!("{sha}.1.1")), b"half").unwrap();
        std::fs::create_dir_all(root.join("zz/yy")).unwrap();
        std::fs::write(root.join("zz/yy/notes.txt"), b"").unwrap();
        // A hash in the wrong folder is not this store's object.
        std::fs::create_dir_all(root.join("00/00")).unwrap();
        std::fs::write(root.join("00/00").join(&sha), b"x").unwrap();
        assert_eq!(store.list().await.unwrap(), [sha]);
    }

    #[tokio::test]
    async fn locations() {
        let dir = tempfile::tempdir().unwrap();
        let abs = format!("file://{}", dir.path().join("abs").display());
        let store = DocumentStore::open(&abs, Path::new("/nonexistent"), &S3Options::default())
            .await
            .unwrap();
        assert!(matches!(store, DocumentStore::Folder(_)));
        assert!(dir.path().join("abs/.tmp").is_dir());
        for bad in ["file://relative", "ftp://x/y", ""] {
            let err = DocumentStore::open(bad, dir.path(), &S3Options::default())
                .await
                .unwrap_err();
            assert!(matches!(err, StoreError::Location { .. }), "{bad}: {err}");
        }
        let err = DocumentStore::open("s3://", dir.path(), &S3Options::default())
            .await
            .unwrap_err();
        assert!(err.to_string().contains("bucket"), "{err}");
    }

    #[tokio::test]
    async fn typed_puts_give_descriptors() {
        let (_dir, store) = folder().await;
        let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
        let evidence =
            Evidence::check(png.clone(), "image/png", &crate::EvidenceLimits::default()).unwrap();
        let d = store.put_evidence(&evidence, "http://hub/").await.unwrap();
        assert_eq!(d.url(), format!("http://hub/documents/{}", d.sha256()));
        assert!(d.matches(&store.get(d.sha256()).await.unwrap().unwrap()));
    }
}
