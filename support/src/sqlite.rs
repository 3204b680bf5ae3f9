//! SQLite files shared by several processes.

use std::path::{Path, PathBuf};

/// Takes an exclusive lock on `<database>.migrate-lock`, released when the returned file is dropped.
///
/// sqlx serializes migrations on Postgres with an advisory lock but not on SQLite, where two
/// processes opening a new database at once (`dhub run` and `dhub quarantine list`, say) would both
/// create the tables and one would fail. The error names the lock file.
pub async fn lock_for_migration(
    database: &Path,
) -> Result<std::fs::File, (PathBuf, std::io::Error)> {
    let mut lock_path = database.as_os_str().to_owned();
    lock_path.push(".migrate-lock");
    let lock_path = PathBuf::from(lock_path);
    let shown = lock_path.clone();
    tokio::task::spawn_blocking(move || {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)?;
        file.lock()?;
        Ok(file)
    })
    .await
    .unwrap_or_else(|_| Err(std::io::Error::other("the lock task failed")))
    .map_err(|error| (shown, error))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_lock_is_exclusive_until_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("state.db");
        let held = lock_for_migration(&db).await.unwrap();
        let lock_file = dir.path().join("state.db.migrate-lock");
        let other = std::fs::OpenOptions::new()
            .write(true)
            .open(&lock_file)
            .unwrap();
        assert!(other.try_lock().is_err(), "a second holder must wait");
        drop(held);
        assert!(other.try_lock().is_ok());
    }
}
