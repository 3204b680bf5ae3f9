//! Withdrawal at the end of the publicity period (公示期满撤下): records whose publicity ended (the
//! `publicity_until` column of `record_facts`: the source's date, else the configured period) are
//! retracted from every platform that shows them with reason `publicity_expired`. A day ends at
//! midnight in the hub's time zone (default Asia/Shanghai), not UTC. New versions that arrive already
//! expired are handled at ingest; this sweep catches the ones that expire while published.
//!
//! The schedule is the column itself: nothing is kept in memory, so after a restart the first sweep
//! withdraws whatever ended meanwhile, and the sweep then sleeps until the next end (or the check
//! interval, whichever comes first).

use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use tokio::sync::watch;

use crate::compliance::Clocks;
use crate::envelope::RetractReason;
use crate::handoff::OutboxHandoff;
use crate::retract::{retract_on, RetractError};
use crate::routing::Routing;
use dhub_store::{Store, StoreError};

/// Records withdrawn per query of the sweep.
const PAGE: i64 = 500;

/// Retracts every published record whose publicity period ended before `today` (a local date).
/// Returns how many.
pub async fn sweep_expired(
    store: &Store,
    routing: &Routing,
    today: NaiveDate,
    handoff: Option<&OutboxHandoff>,
) -> Result<usize, StoreError> {
    let mut retracted = 0;
    loop {
        let expired = store.publicity_expired(&today.to_string(), PAGE).await?;
        let full = expired.len() as i64 == PAGE;
        for record_id in expired {
            match retract_on(
                store,
                routing,
                &record_id,
                RetractReason::PublicityExpired,
                None,
                handoff,
                today,
            )
            .await
            {
                Ok(_) => retracted += 1,
                // Withdrawn meanwhile by a newer version (its facts say so now) or unknown.
                Err(RetractError::AlreadyRetracted(_)) | Err(RetractError::UnknownRecord(_)) => {
                    // Its facts still say shown: mark them, or the sweep would find it again.
                    let mut tx = store.begin().await?;
                    if let Some(latest) = tx.latest(&record_id).await? {
                        tx.withdraw_facts(
                            &record_id,
                            latest.version + 1,
                            RetractReason::PublicityExpired.as_str(),
                            &today.to_string(),
                        )
                        .await?;
                    }
                    tx.commit().await?;
                }
                Err(RetractError::Store(error)) => return Err(error),
            }
        }
        if !full {
            return Ok(retracted);
        }
    }
}

/// [`sweep_expired`] at the instant `now`, judged in the clocks' time zone.
pub async fn sweep_at(
    store: &Store,
    routing: &Routing,
    clocks: &Clocks,
    now: DateTime<Utc>,
    handoff: Option<&OutboxHandoff>,
) -> Result<usize, StoreError> {
    sweep_expired(store, routing, clocks.local_date(now), handoff).await
}

/// How long to sleep before the next sweep: until the next publicity end (the first instant after
/// it, in the hub's zone), at most `interval`.
pub async fn next_wake(
    store: &Store,
    clocks: &Clocks,
    interval: Duration,
) -> Result<Duration, StoreError> {
    let Some(until) = store.next_publicity_end().await? else {
        return Ok(interval);
    };
    let Ok(until) = until.parse::<NaiveDate>() else {
        return Ok(interval);
    };
    let wait = (clocks.expires_at(until) - clocks.now())
        .to_std()
        .unwrap_or(Duration::ZERO);
    Ok(wait.min(interval))
}

/// Sweeps at start, then at each publicity end and at least every `interval`, until shutdown.
pub async fn run(
    store: Store,
    routing: Routing,
    handoff: OutboxHandoff,
    interval: Duration,
    clocks: Clocks,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        match sweep_at(&store, &routing, &clocks, clocks.now(), Some(&handoff)).await {
            Ok(0) => {}
            Ok(count) => {
                tracing::info!(count, "withdrew records whose publicity period ended");
            }
            Err(error) => {
                tracing::error!(%error, "cannot check publicity periods now; will try again")
            }
        }
        // A small floor: a record ending now is withdrawn by the sweep just run.
        let wait = next_wake(&store, &clocks, interval)
            .await
            .unwrap_or(interval)
            .max(Duration::from_millis(100));
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = shutdown.wait_for(|stop| *stop) => return,
        }
    }
}
