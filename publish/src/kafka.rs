//! Producer settings and topic creation.
//!
//! The producer is idempotent with `acks=all` (CONTRACT: a record is published once the broker has it
//! on every in-sync replica; retries never duplicate or reorder within a partition). Topics are created
//! through the admin API at start: production clusters disable auto-creation, and so does tansu.

use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::error::KafkaError;
use rdkafka::producer::FutureProducer;
use rdkafka::types::RDKafkaErrorCode;

/// Connection settings shared by the producer and the admin client.
#[derive(Clone)]
pub struct KafkaSettings {
    pub brokers: String,
    /// Pass-through librdkafka properties from `[kafka.properties]`; values may be secrets, so this type
    /// has no `Debug`.
    pub properties: Vec<(String, String)>,
    pub partitions: i32,
    pub replication_factor: i32,
}

/// Producer properties the hub's guarantees rest on; config may not weaken them.
pub const FIXED_PRODUCER_PROPERTIES: [(&str, &str); 2] =
    [("acks", "all"), ("enable.idempotence", "true")];

#[derive(Debug, thiserror::Error)]
pub enum KafkaSetupError {
    #[error("kafka property `{0}` cannot be overridden: the hub relies on it for at-least-once, in-order delivery")]
    FixedProperty(String),
    #[error("cannot create the kafka client: {0}; check [kafka] brokers and properties")]
    Client(KafkaError),
    #[error("cannot create topic {topic}: {message}; create it by hand or give the hub's principal the right to create topics")]
    CreateTopic { topic: String, message: String },
    #[error("the broker did not answer topic creation in time: {0}; is it running at the configured address?")]
    Admin(KafkaError),
}

impl KafkaSettings {
    /// The client config every client of the hub starts from: brokers and `[kafka.properties]`
    /// (security settings included).
    pub fn client_config(&self) -> ClientConfig {
        self.base()
    }

    fn base(&self) -> ClientConfig {
        let mut config = ClientConfig::new();
        config.set("bootstrap.servers", &self.brokers);
        for (key, value) in &self.properties {
            config.set(key, value);
        }
        config
    }

    /// The producer: idempotent, `acks=all`, a short linger so a record is out within milliseconds yet
    /// bursts still travel in batches.
    pub fn producer(&self) -> Result<FutureProducer, KafkaSetupError> {
        for (key, _) in &self.properties {
            if FIXED_PRODUCER_PROPERTIES
                .iter()
                .any(|(fixed, _)| fixed == key)
            {
                return Err(KafkaSetupError::FixedProperty(key.clone()));
            }
        }
        let mut config = self.base();
        config.set("linger.ms", "5");
        config.set("compression.type", "none");
        for (key, value) in &self.properties {
            // Given properties win over the defaults above, as before.
            config.set(key, value);
        }
        for (key, value) in FIXED_PRODUCER_PROPERTIES {
            config.set(key, value);
        }
        config.create().map_err(KafkaSetupError::Client)
    }

    /// Creates every topic that is missing; an existing topic is left as it is.
    pub async fn ensure_topics(
        &self,
        topics: &[String],
        timeout: Duration,
    ) -> Result<(), KafkaSetupError> {
        let admin: AdminClient<DefaultClientContext> =
            self.base().create().map_err(KafkaSetupError::Client)?;
        let new_topics: Vec<NewTopic<'_>> = topics
            .iter()
            .map(|topic| {
                NewTopic::new(
                    topic,
                    self.partitions,
                    TopicReplication::Fixed(self.replication_factor),
                )
            })
            .collect();
        let options = AdminOptions::new()
            .operation_timeout(Some(timeout))
            .request_timeout(Some(timeout));
        let results = admin
            .create_topics(new_topics.iter(), &options)
            .await
            .map_err(KafkaSetupError::Admin)?;
        for result in results {
            match result {
                Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
                Err((topic, code)) => {
                    return Err(KafkaSetupError::CreateTopic {
                        topic,
                        message: code.to_string(),
                    })
                }
            }
        }
        Ok(())
    }

    /// Deletes topics (tests clean up what they created); errors are reported, not raised, since a
    /// broker may refuse deletion by configuration.
    pub async fn delete_topics(&self, topics: &[String]) {
        let admin: Result<AdminClient<DefaultClientContext>, _> = self.base().create();
        let admin = match admin {
            Ok(admin) => admin,
            Err(error) => {
                return dhub_support::errors::swallowed(
                    dhub_support::errors::Site::TopicDelete,
                    &error,
                )
            }
        };
        let names: Vec<&str> = topics.iter().map(String::as_str).collect();
        let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
        match admin.delete_topics(&names, &options).await {
            Ok(results) => {
                for result in results {
                    if let Err((topic, code)) = result {
                        dhub_support::errors::swallowed(
                            dhub_support::errors::Site::TopicDelete,
                            &format!("topic {topic}: {code}"),
                        );
                    }
                }
            }
            Err(error) => {
                dhub_support::errors::swallowed(dhub_support::errors::Site::TopicDelete, &error)
            }
        }
    }
}
