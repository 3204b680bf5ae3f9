//! Withdrawal at the end of the publicity period (公示期满撤下): records whose `publicity_until` has
//! passed are retracted from every platform with reason `publicity_expired`. New versions that arrive
//! already expired are handled at ingest; this sweep catches the ones that expire while published.

use std::time::Duration;

use crate::envelope::RetractReason;
use crate::handoff::OutboxHandoff;
use crate::routing::Routing;
use dhub_store::{Store, StoreError};
use tokio::sync::watch;

use crate::retract::{retract_by_hand, RetractError};

/// Retracts every published record whose publicity period ended before `today`. Returns how many.
pub async fn sweep_expired(
    store: &Store,
    routing: &Routing,
    today: chrono::NaiveDate,
    handoff: Option<&OutboxHandoff>,
) -> Result<usize, StoreError> {
    let mut after: Option<String> = None;
    let mut expired = Vec::new();
    loop {
        let page = store.current_records(after.as_deref(), 1000).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.record_id.clone());
        for record in page.iter().filter(|r| !r.retracted) {
            let until = serde_json::from_str::<serde_json::Value>(&record.record_json)
                .ok()
                .and_then(|value| {
                    value
                        .get("publicity_until")?
                        .as_str()?
                        .parse::<chrono::NaiveDate>()
                        .ok()
                });
            if until.is_some_and(|until| until < today) {
                expired.push(record.record_id.clone());
            }
        }
    }
    let mut retracted = 0;
    for record_id in expired {
        match retract_by_hand(
            store,
            routing,
            &record_id,
            RetractReason::PublicityExpired,
            None,
            handoff,
        )
        .await
        {
            Ok(_) => retracted += 1,
            // Withdrawn meanwhile by a newer version: nothing left to do.
            Err(RetractError::AlreadyRetracted(_)) | Err(RetractError::UnknownRecord(_)) => {}
            Err(RetractError::Store(error)) => return Err(error),
        }
    }
    Ok(retracted)
}

/// Sweeps at start and then every `interval` until shutdown.
pub async fn run(
    store: Store,
    routing: Routing,
    handoff: OutboxHandoff,
    interval: Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        match sweep_expired(
            &store,
            &routing,
            chrono::Utc::now().date_naive(),
            Some(&handoff),
        )
        .await
        {
            Ok(0) => {}
            Ok(count) => {
                tracing::info!(count, "withdrew records whose publicity period ended");
            }
            Err(error) => {
                tracing::error!(%error, "cannot check publicity periods now; will try again")
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = shutdown.wait_for(|stop| *stop) => return,
        }
    }
}
