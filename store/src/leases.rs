//! Leases: with a Postgres state store, several `dhub run` instances share the work (CONTRACT §2).
//! Each source, each feed's relay and each sweep is held by one instance at a time; the holder
//! renews its lease every few seconds, and a lease not renewed before it runs out is taken over by
//! another instance. Times come from the database's clock, so the instances' own clocks may drift.

use sqlx::Row;

use crate::error::StoreError;
use crate::model::{Backend, Lease};
use crate::store::Store;

impl Store {
    /// Milliseconds since the epoch by the database's clock (SQLite: this process's clock, as
    /// SQLite runs in it).
    fn db_now_sql(&self) -> &'static str {
        match self.backend() {
            Backend::Postgres => "CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)",
            Backend::Sqlite => "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)",
        }
    }

    /// Takes `name` for `holder` for `ttl_ms` if it is free, expired or already `holder`'s (then it
    /// is renewed). Returns whether `holder` holds it now.
    pub async fn acquire_lease(
        &self,
        name: &str,
        holder: &str,
        ttl_ms: i64,
    ) -> Result<bool, StoreError> {
        let held = self
            .claim_leases(&[name.to_string()], holder, ttl_ms)
            .await?;
        Ok(held.first().copied().unwrap_or(false))
    }

    /// [`Store::acquire_lease`] for many leases in one transaction (one write per round, however
    /// many sources and feeds): whether `holder` holds each now, in the order given.
    pub async fn claim_leases(
        &self,
        names: &[String],
        holder: &str,
        ttl_ms: i64,
    ) -> Result<Vec<bool>, StoreError> {
        let now = self.db_now_sql();
        let sql = format!(
            "INSERT INTO leases (name, holder, expires_at_ms, acquired_at_ms) \
             VALUES ($1, $2, {now} + $3, {now}) \
             ON CONFLICT (name) DO UPDATE SET \
             acquired_at_ms = CASE WHEN leases.holder = excluded.holder THEN leases.acquired_at_ms \
             ELSE excluded.acquired_at_ms END, \
             holder = excluded.holder, expires_at_ms = excluded.expires_at_ms \
             WHERE leases.holder = excluded.holder OR leases.expires_at_ms < {now} \
             RETURNING holder"
        );
        let mut tx = self.write_tx().await?;
        let mut held = Vec::with_capacity(names.len());
        for name in names {
            let row = sqlx::query(&sql)
                .bind(name.as_str())
                .bind(holder)
                .bind(ttl_ms)
                .fetch_optional(&mut *tx)
                .await
                .map_err(StoreError::db("take a lease"))?;
            held.push(row.is_some());
        }
        tx.commit().await.map_err(StoreError::db("commit leases"))?;
        Ok(held)
    }

    /// Gives a lease up (at shutdown), so another instance takes it over at once.
    pub async fn release_lease(&self, name: &str, holder: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM leases WHERE name = $1 AND holder = $2")
            .bind(name)
            .bind(holder)
            .execute(self.pool())
            .await
            .map_err(StoreError::db("release a lease"))?;
        Ok(())
    }

    /// Every lease, in name order (for `/api/status`).
    pub async fn leases(&self) -> Result<Vec<Lease>, StoreError> {
        let rows = sqlx::query(
            "SELECT name, holder, expires_at_ms, acquired_at_ms FROM leases ORDER BY name",
        )
        .fetch_all(self.pool())
        .await
        .map_err(StoreError::db("read leases"))?;
        rows.iter()
            .map(|row| {
                Ok(Lease {
                    name: row.try_get("name")?,
                    holder: row.try_get("holder")?,
                    expires_at_ms: row.try_get("expires_at_ms")?,
                    acquired_at_ms: row.try_get("acquired_at_ms")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::db("read leases"))
    }

    /// The database's clock now (Unix ms): what lease expiry is compared with.
    pub async fn db_now_ms(&self) -> Result<i64, StoreError> {
        let sql = format!("SELECT {} AS now", self.db_now_sql());
        let row = sqlx::query(&sql)
            .fetch_one(self.pool())
            .await
            .map_err(StoreError::db("read the database clock"))?;
        row.try_get("now")
            .map_err(StoreError::db("read the database clock"))
    }
}
