//! The compliance clocks as the ingest step and the publicity sweep use them: the hub's time zone
//! (days end at midnight there, default Asia/Shanghai, not UTC), the publicity rules when configured,
//! an injectable clock (tests move it; the hub uses the system's), and the queryable facts of a
//! record version ([`RecordFacts`]) written in the ingest transaction.

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use dhub_compliance::{Publicity, PublicityBasis, PublicityFacts, PublicityRules};
use dhub_schema::Record;
use dhub_store::RecordFacts;

use crate::envelope::RetractReason;

/// "Now", injectable so that tests can move time (the hub uses [`Utc::now`]).
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// The hub's clocks.
#[derive(Clone)]
pub struct Clocks {
    /// The zone in which a day ends (publicity, deadlines, "today").
    pub time_zone: Tz,
    /// The configured publicity periods (`[compliance.publicity]`); `None`: only the source's
    /// `publicity_until` ends a record's publicity (a record without one stays up until withdrawn).
    pub publicity: Option<PublicityRules>,
    pub now: Clock,
}

impl Default for Clocks {
    fn default() -> Self {
        Clocks {
            time_zone: Tz::Asia__Shanghai,
            publicity: None,
            now: Arc::new(Utc::now),
        }
    }
}

impl std::fmt::Debug for Clocks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Clocks")
            .field("time_zone", &self.time_zone)
            .field("publicity", &self.publicity.is_some())
            .finish_non_exhaustive()
    }
}

impl Clocks {
    /// The clock's instant.
    pub fn now(&self) -> DateTime<Utc> {
        (self.now)()
    }

    /// Today in the hub's time zone.
    pub fn today(&self) -> NaiveDate {
        self.local_date(self.now())
    }

    /// The local date of an instant.
    pub fn local_date(&self, at: DateTime<Utc>) -> NaiveDate {
        dhub_compliance::local_date(at, self.time_zone)
    }

    /// The local date of a Unix-milliseconds instant.
    pub fn local_date_ms(&self, at_ms: i64) -> NaiveDate {
        self.local_date(DateTime::from_timestamp_millis(at_ms).unwrap_or_default())
    }

    /// The first instant (UTC) at which a record public through `until` is expired.
    pub fn expires_at(&self, until: NaiveDate) -> DateTime<Utc> {
        dhub_compliance::expires_at(until, self.time_zone)
    }

    /// How long a record stays public: the source's `publicity_until`, else the configured period.
    pub fn publicity(&self, record: &Record) -> Publicity {
        match (&self.publicity, record.publicity_until) {
            (Some(rules), _) => rules.publicity(&PublicityFacts::from_record(record, None)),
            (None, Some(until)) => Publicity {
                until: Some(until),
                basis: PublicityBasis::Source,
            },
            (None, None) => Publicity {
                until: None,
                basis: PublicityBasis::NoEnd,
            },
        }
    }

    /// Whether a decision has come down (status) or its publicity period ended before `today`.
    pub fn withdrawal(&self, record: &Record, today: NaiveDate) -> Option<RetractReason> {
        RetractReason::for_status(record.status).or(self
            .publicity(record)
            .until
            .is_some_and(|until| until < today)
            .then_some(RetractReason::PublicityExpired))
    }

    /// The queryable facts of a new version received `today`; `withdrawn` is the reason when the
    /// version withdraws the record.
    pub fn facts(
        &self,
        record: &Record,
        version: i64,
        withdrawn: Option<RetractReason>,
        today: NaiveDate,
    ) -> RecordFacts {
        let publicity = self.publicity(record);
        let withdrawn_on = withdrawn.map(|reason| match reason {
            // The statutory withdrawal clock runs from when the status took effect.
            RetractReason::Revoked
            | RetractReason::ConfirmedIllegal
            | RetractReason::ConfirmedVoid
            | RetractReason::Redecided => record.status_changed_on.unwrap_or(today),
            RetractReason::PublicityExpired | RetractReason::Manual => today,
        });
        RecordFacts {
            record_id: record.record_id.clone(),
            version,
            category: record.category.as_str().to_string(),
            status: record.status.as_str().to_string(),
            division_code: record.division_code.clone(),
            agency_uscc: record.agency.uscc.clone(),
            agency_name: record.agency.name.clone(),
            decided_on: record.decided_on.to_string(),
            publicity_until: publicity.until.map(|d| d.to_string()),
            publicity_basis: basis_name(publicity.basis).to_string(),
            fine_fen: record.fine_amount.map(|a| a.fen()),
            status_changed_on: record.status_changed_on.map(|d| d.to_string()),
            received_on: today.to_string(),
            withdrawn_reason: withdrawn.map(|r| r.as_str().to_string()),
            withdrawn_on: withdrawn_on.map(|d| d.to_string()),
        }
    }
}

/// The stored name of a publicity basis (its serde name).
pub fn basis_name(basis: PublicityBasis) -> &'static str {
    match basis {
        PublicityBasis::Source => "source",
        PublicityBasis::MinorPenalty => "minor_penalty",
        PublicityBasis::Penalty => "penalty",
        PublicityBasis::SeriousPenalty => "serious_penalty",
        PublicityBasis::LicenceValidity => "licence_validity",
        PublicityBasis::CategoryPeriod => "category_period",
        PublicityBasis::NoEnd => "no_end",
        PublicityBasis::AwaitingPublication => "awaiting_publication",
    }
}
