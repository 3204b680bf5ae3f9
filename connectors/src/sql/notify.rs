//! Postgres `LISTEN`: a NOTIFY on the source's channel (sent by the trigger in
//! `notify_trigger.sql`) wakes the source at once. The listener only wakes; the source always reads
//! by its cursor, so a lost notification or a dropped connection costs at most one poll interval.
//! A connection that cannot be made or is lost is tried again with a growing delay.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use dhub_support::retry;
use sqlx::postgres::{PgConnectOptions, PgListener, PgPoolOptions};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::config::SqlSettings;
use crate::context::ConnectorEvents;

/// Listens on `channel` until `stop` turns true (or the task is aborted), sending a wake-up on
/// `wake` for every notification and after every (re)connection, since notifications sent while
/// not listening are gone.
pub fn spawn(
    settings: &SqlSettings,
    channel: String,
    source: String,
    events: Arc<dyn ConnectorEvents>,
    wake: mpsc::Sender<()>,
    mut stop: watch::Receiver<bool>,
) -> JoinHandle<()> {
    let url = settings.url.clone();
    let shown = settings.shown_url();
    let connect_timeout = settings.connect_timeout;
    tokio::spawn(async move {
        let mut delays = retry::delays(Duration::from_millis(200), Duration::from_secs(30));
        loop {
            if *stop.borrow() {
                return;
            }
            match listen(url.expose(), &channel, connect_timeout).await {
                Ok(mut listener) => {
                    delays = retry::delays(Duration::from_millis(200), Duration::from_secs(30));
                    let _ = wake.try_send(());
                    loop {
                        tokio::select! {
                            received = listener.try_recv() => match received {
                                Ok(Some(_)) => {
                                    // A full channel already holds a wake-up: nothing is lost.
                                    let _ = wake.try_send(());
                                }
                                Ok(None) => {
                                    // sqlx reconnected and listens again; what came meanwhile is gone.
                                    events.retrying(&source, &format!("the LISTEN connection to {shown} was lost and made again; reading now"));
                                    let _ = wake.try_send(());
                                }
                                Err(error) => {
                                    events.retrying(&source, &format!("the LISTEN connection to {shown} failed: {error}; polling until it is back"));
                                    break;
                                }
                            },
                            _ = stop.changed() => return,
                        }
                    }
                }
                Err(error) => events.retrying(
                    &source,
                    &format!(
                        "cannot LISTEN on channel `{channel}` at {shown}: {error}; polling until it works"
                    ),
                ),
            }
            tokio::select! {
                _ = tokio::time::sleep(delays.next_delay()) => {}
                _ = stop.changed() => return,
            }
        }
    })
}

async fn listen(
    url: &str,
    channel: &str,
    connect_timeout: Duration,
) -> Result<PgListener, sqlx::Error> {
    let options = PgConnectOptions::from_str(url)?.application_name("dhub-listen");
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(connect_timeout)
        .connect_lazy_with(options);
    let mut listener = PgListener::connect_with(&pool).await?;
    listener.listen(channel).await?;
    Ok(listener)
}
