//! What a source may submit (CONTRACT §1, §2: "a source may only submit records of its own agency
//! and division"). Checked inside ingest for every kind of source, after validation, so a department
//! system cannot publish in another agency's name whatever way it connects.

use dhub_schema::divisions;
use dhub_schema::Record;

/// A source's `agencies` and `division` keys, both optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourceConstraints {
    /// USCCs of the agencies whose records the source may submit; empty: any.
    pub agencies: Vec<String>,
    /// GB/T 2260 code of the area the deciding agencies must be in; `None`: any.
    pub division: Option<String>,
}

impl SourceConstraints {
    pub fn is_empty(&self) -> bool {
        self.agencies.is_empty() && self.division.is_none()
    }

    /// `Err` with the reason when the record is not the source's to submit. The reason names the
    /// agency code and divisions (public facts), never personal data.
    pub fn check(&self, record: &Record) -> Result<(), String> {
        if !self.agencies.is_empty() {
            let uscc = record.agency.uscc.as_deref().unwrap_or("");
            if !self.agencies.iter().any(|allowed| allowed == uscc) {
                let shown = if uscc.is_empty() { "(none)" } else { uscc };
                return Err(format!(
                    "agency.uscc: agency {shown} is not one this source may submit records for (source key `agencies`)"
                ));
            }
        }
        if let Some(area) = &self.division {
            let level = divisions::level_of(area);
            if !divisions::contains(area, level, &record.division_code) {
                return Err(format!(
                    "division_code: division {} is outside the source's division {area} (source key `division`)",
                    record.division_code
                ));
            }
        }
        Ok(())
    }
}
