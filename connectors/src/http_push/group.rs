//! Group commit: the requests of one push source that arrive while a transaction is being written
//! are stored together in the next one.
//!
//! Every batch is one transaction, and on SQLite one transaction is one fsync by the one writer: 50
//! clients each waiting for their own commit queue up behind each other, and the writers' busy
//! waits add to it. So a source's requests go to one writer task; it takes the first that waits
//! and every other already waiting (up to [`MAX_GROUP_RECORDS`]), submits them as ONE batch, and
//! hands each request the outcomes of its own records. A request is still answered only once its
//! records are stored; a group that fails fails for each of its requests alike (nothing of it was
//! stored). The writer being a task of its own also means that a request cut by its timeout, or
//! dropped by its client, never cuts a transaction in half.

use std::sync::{Arc, OnceLock};

use dhub_schema::intake::{IntakeBatch, IntakeError, IntakeReport, IntakeSink};
use tokio::sync::{mpsc, oneshot};

/// The most records one group takes: bounds a transaction's size and the wait of the first request
/// in it.
pub const MAX_GROUP_RECORDS: usize = 2_000;

struct Pending {
    batch: IntakeBatch,
    reply: oneshot::Sender<Result<IntakeReport, IntakeError>>,
}

/// The writer of one push source.
pub struct GroupCommit {
    sink: Arc<dyn IntakeSink>,
    /// Started with the first request (the router is built before the runtime may be needed).
    writer: OnceLock<mpsc::UnboundedSender<Pending>>,
}

impl GroupCommit {
    pub fn new(sink: Arc<dyn IntakeSink>) -> GroupCommit {
        GroupCommit {
            sink,
            writer: OnceLock::new(),
        }
    }

    /// Stores `batch` (with whatever else is waiting) and returns the outcomes of its own records,
    /// in its order.
    pub async fn submit(&self, batch: IntakeBatch) -> Result<IntakeReport, IntakeError> {
        let writer = self.writer.get_or_init(|| {
            let (sender, receiver) = mpsc::unbounded_channel();
            tokio::spawn(write(self.sink.clone(), receiver));
            sender
        });
        let (reply, answer) = oneshot::channel();
        writer
            .send(Pending { batch, reply })
            .map_err(|_| IntakeError {
                message: "the source's writer has stopped".into(),
                retryable: true,
            })?;
        answer.await.map_err(|_| IntakeError {
            message: "the source's writer stopped before answering (a bug: please report it)"
                .into(),
            retryable: false,
        })?
    }
}

/// Ends when every request handle is gone (the HTTP server has stopped).
async fn write(sink: Arc<dyn IntakeSink>, mut receiver: mpsc::UnboundedReceiver<Pending>) {
    while let Some(first) = receiver.recv().await {
        let mut records = first.batch.items.len();
        let mut group = vec![first];
        while records < MAX_GROUP_RECORDS {
            match receiver.try_recv() {
                Ok(next) => {
                    records += next.batch.items.len();
                    group.push(next);
                }
                Err(_) => break,
            }
        }
        store(sink.as_ref(), group).await;
    }
}

async fn store(sink: &dyn IntakeSink, mut group: Vec<Pending>) {
    if group.len() == 1 {
        let Pending { batch, reply } = group.remove(0);
        let _ = reply.send(sink.submit(Arc::new(batch)).await);
        return;
    }
    let mut sizes = Vec::with_capacity(group.len());
    let mut replies = Vec::with_capacity(group.len());
    let mut combined: Option<IntakeBatch> = None;
    for Pending { batch, reply } in group {
        sizes.push(batch.items.len());
        replies.push(reply);
        match combined.as_mut() {
            None => combined = Some(batch),
            Some(combined) => combined.items.extend(batch.items),
        }
    }
    let Some(combined) = combined else { return };
    let total = combined.items.len();
    match sink.submit(Arc::new(combined)).await {
        Ok(report) if report.outcomes.len() == total => {
            let mut outcomes = report.outcomes.into_iter();
            for (size, reply) in sizes.into_iter().zip(replies) {
                let own = IntakeReport {
                    outcomes: outcomes.by_ref().take(size).collect(),
                };
                let _ = reply.send(Ok(own));
            }
        }
        Ok(report) => {
            for reply in replies {
                let _ = reply.send(Err(IntakeError {
                    message: format!(
                        "the store answered for {} of {total} records (a bug: please report it)",
                        report.outcomes.len()
                    ),
                    retryable: false,
                }));
            }
        }
        Err(error) => {
            for reply in replies {
                let _ = reply.send(Err(IntakeError {
                    message: error.message.clone(),
                    retryable: error.retryable,
                }));
            }
        }
    }
}
