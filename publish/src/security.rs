//! Kafka over TLS and SASL: the `[kafka]` keys `security_protocol`, `sasl_mechanism`,
//! `sasl_username`, `sasl_password` (a secret) and `ssl_ca_location`, checked together and turned
//! into the librdkafka properties every client of the hub gets (producer, admin, Kafka sources,
//! the checkpoint reader).
//!
//! librdkafka is built with OpenSSL (the `ssl` feature of rdkafka, against the system's libssl):
//! TLS, SASL/PLAIN and SASL/SCRAM work; SASL/GSSAPI (Kerberos) would need Cyrus SASL and is refused
//! here rather than at the first connection.

use std::path::Path;

/// `security.protocol` values, as librdkafka spells them.
const PROTOCOLS: [&str; 4] = ["plaintext", "ssl", "sasl_plaintext", "sasl_ssl"];

/// SASL mechanisms this build supports.
const MECHANISMS: [&str; 3] = ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"];

/// The librdkafka keys these settings own: giving one in `[kafka.properties]` as well is an error.
pub const SECURITY_PROPERTIES: [&str; 5] = [
    "security.protocol",
    "sasl.mechanism",
    "sasl.username",
    "sasl.password",
    "ssl.ca.location",
];

/// The `[kafka]` security keys as given (the password resolved).
#[derive(Default)]
pub struct KafkaSecurity<'a> {
    pub protocol: Option<&'a str>,
    pub sasl_mechanism: Option<&'a str>,
    pub sasl_username: Option<&'a str>,
    pub sasl_password: Option<&'a str>,
    /// Already resolved against the config file's folder.
    pub ssl_ca_location: Option<&'a Path>,
}

impl KafkaSecurity<'_> {
    /// The librdkafka properties, or every problem (`key: message`, never a password).
    pub fn properties(&self) -> Result<Vec<(String, String)>, Vec<String>> {
        let mut errors = Vec::new();
        let mut properties = Vec::new();
        let protocol = self.protocol.map(str::to_ascii_lowercase);
        if let Some(protocol) = &protocol {
            if PROTOCOLS.contains(&protocol.as_str()) {
                properties.push(("security.protocol".to_string(), protocol.clone()));
            } else {
                errors.push(format!(
                    "security_protocol: `{protocol}` is not one of {}",
                    PROTOCOLS.join(", ")
                ));
            }
        }
        let protocol = protocol.as_deref().unwrap_or("plaintext");
        let sasl = protocol.starts_with("sasl_");
        let tls = protocol.ends_with("ssl");
        let sasl_keys = [
            ("sasl_mechanism", self.sasl_mechanism),
            ("sasl_username", self.sasl_username),
            ("sasl_password", self.sasl_password),
        ];
        if sasl {
            for (key, value) in sasl_keys {
                if value.is_none_or(str::is_empty) {
                    errors.push(format!(
                        "{key}: required with security_protocol = \"{protocol}\""
                    ));
                }
            }
            if let Some(mechanism) = self.sasl_mechanism {
                if !MECHANISMS.contains(&mechanism) {
                    errors.push(format!(
                        "sasl_mechanism: `{mechanism}` is not supported; use one of {}",
                        MECHANISMS.join(", ")
                    ));
                }
            }
            for (key, value) in sasl_keys {
                if let Some(value) = value {
                    properties.push((key.replace('_', "."), value.to_string()));
                }
            }
        } else if let Some((key, _)) = sasl_keys.iter().find(|(_, value)| value.is_some()) {
            errors.push(format!(
                "{key}: only used with security_protocol = \"sasl_ssl\" or \"sasl_plaintext\""
            ));
        }
        if let Some(ca) = self.ssl_ca_location {
            if !tls {
                errors.push(
                    "ssl_ca_location: only used with security_protocol = \"ssl\" or \"sasl_ssl\""
                        .to_string(),
                );
            } else if !ca.is_file() {
                errors.push(format!(
                    "ssl_ca_location: {} is not a readable file (PEM CA certificates)",
                    ca.display()
                ));
            }
            properties.push(("ssl.ca.location".to_string(), ca.display().to_string()));
        }
        if errors.is_empty() {
            Ok(properties)
        } else {
            Err(errors)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sasl_ssl_gives_every_property() {
        let dir = tempfile::tempdir().unwrap();
        let ca = dir.path().join("ca.pem");
        std::fs::write(&ca, "-----BEGIN CERTIFICATE-----\n").unwrap();
        let properties = KafkaSecurity {
            protocol: Some("SASL_SSL"),
            sasl_mechanism: Some("SCRAM-SHA-512"),
            sasl_username: Some("hub"),
            sasl_password: Some("s3cret-pw"),
            ssl_ca_location: Some(&ca),
        }
        .properties()
        .unwrap();
        let get = |key: &str| {
            properties
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(get("security.protocol"), Some("sasl_ssl"));
        assert_eq!(get("sasl.mechanism"), Some("SCRAM-SHA-512"));
        assert_eq!(get("sasl.username"), Some("hub"));
        assert_eq!(get("sasl.password"), Some("s3cret-pw"));
        assert_eq!(
            get("ssl.ca.location"),
            Some(ca.display().to_string().as_str())
        );
    }

    #[test]
    fn inconsistent_settings_are_named_without_the_password() {
        let errors = KafkaSecurity {
            protocol: Some("sasl_ssl"),
            sasl_mechanism: Some("GSSAPI"),
            sasl_password: Some("s3cret-pw"),
            ssl_ca_location: Some(Path::new("/nonexistent/ca.pem")),
            ..KafkaSecurity::default()
        }
        .properties()
        .unwrap_err();
        let all = errors.join("\n");
        assert!(all.contains("sasl_username: required"), "{all}");
        assert!(all.contains("`GSSAPI` is not supported"), "{all}");
        assert!(all.contains("/nonexistent/ca.pem"), "{all}");
        assert!(!all.contains("s3cret-pw"), "{all}");

        let errors = KafkaSecurity {
            protocol: Some("ssl"),
            sasl_username: Some("hub"),
            ..KafkaSecurity::default()
        }
        .properties()
        .unwrap_err();
        assert!(
            errors[0].starts_with("sasl_username: only used with"),
            "{errors:?}"
        );
        let errors = KafkaSecurity {
            protocol: Some("tls"),
            ..KafkaSecurity::default()
        }
        .properties()
        .unwrap_err();
        assert!(errors[0].contains("`tls` is not one of"), "{errors:?}");
        assert_eq!(KafkaSecurity::default().properties().unwrap(), Vec::new());
    }
}
