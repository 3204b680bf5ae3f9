//! The disclosure.v1 fields a mapping may fill (CONTRACT §3), with the shape of each.
//!
//! Kept here rather than borrowed from `dhub-schema` because the mapping only needs names and shapes
//! to catch typos and type slips when a mapping is loaded (`decided_at`, `major` mapped to the text
//! "否"); the schema crate validates the values themselves.

/// What kind of JSON value a field holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TargetKind {
    Text,
    Bool,
    TextList,
}

impl TargetKind {
    pub(crate) fn describe(self) -> &'static str {
        match self {
            TargetKind::Text => "text",
            TargetKind::Bool => "a boolean",
            TargetKind::TextList => "a list of text",
        }
    }
}

#[derive(Debug)]
pub(crate) struct Target {
    pub name: &'static str,
    pub kind: TargetKind,
    /// The field may hold personal data (a natural person's name, ID number, address, phone, or free
    /// text that may quote them): its values are never put into an error message.
    pub personal: bool,
}

const fn target(name: &'static str, kind: TargetKind, personal: bool) -> Target {
    Target {
        name,
        kind,
        personal,
    }
}

use TargetKind::{Bool, Text, TextList};

pub(crate) const TARGETS: &[Target] = &[
    target("category", Text, false),
    target("random_check", Bool, false),
    target("status", Text, false),
    target("procedure", Text, false),
    target("division_code", Text, false),
    target("agency.name", Text, false),
    target("agency.uscc", Text, false),
    target("source_unit.name", Text, false),
    target("source_unit.uscc", Text, false),
    target("document_no", Text, false),
    target("document_title", Text, false),
    target("counterparty.name", Text, true),
    target("counterparty.kind", Text, false),
    target("counterparty.uscc", Text, false),
    target("counterparty.registration_no", Text, false),
    target("counterparty.org_code", Text, false),
    target("counterparty.tax_no", Text, false),
    target("counterparty.institution_no", Text, false),
    target("counterparty.social_org_no", Text, false),
    target("counterparty.legal_rep.name", Text, true),
    target("counterparty.legal_rep.id_type", Text, false),
    target("counterparty.legal_rep.id_number", Text, true),
    target("counterparty.id_type", Text, false),
    target("counterparty.id_number", Text, true),
    target("counterparty.address", Text, true),
    target("counterparty.phone", Text, true),
    target("violation_type", Text, true),
    target("facts", Text, true),
    target("legal_basis", Text, false),
    target("penalty_kinds", TextList, false),
    target("content", Text, true),
    target("fine_amount", Text, false),
    target("confiscated_amount", Text, false),
    target("license_affected", Text, false),
    target("license.kind", Text, false),
    target("license.certificate", Text, false),
    target("license.number", Text, false),
    target("license.valid_from", Text, false),
    target("license.valid_to", Text, false),
    target("decided_on", Text, false),
    target("valid_until", Text, false),
    target("publicity_until", Text, false),
    target("major", Bool, false),
    target("legal_review.passed", Bool, false),
    target("legal_review.reviewer", Text, false),
    target("legal_review.reviewed_on", Text, false),
    target("classification", Text, false),
    target("remarks", Text, true),
    target("status_changed_on", Text, false),
    // Lineage the source system gives: when it last changed the case, or its change sequence. The
    // hub holds back (as `stale`) a version older than the one it stored (issue 9).
    target("source.updated_at", Text, false),
    target("source.seq", Text, false),
];

/// Fields the mapping fills itself from the source key and the context.
pub(crate) const RESERVED: &[&str] = &["record_id", "version", "source"];

pub(crate) fn find(name: &str) -> Option<&'static Target> {
    TARGETS.iter().find(|target| target.name == name)
}

/// The known field closest to a misspelt one, for a "did you mean" hint.
pub(crate) fn closest(name: &str) -> Option<&'static str> {
    TARGETS
        .iter()
        .map(|target| (edit_distance(name, target.name), target.name))
        .filter(|(distance, candidate)| *distance <= 3.max(candidate.len() / 4))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut current = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closest_suggests_a_near_miss_and_nothing_for_garbage() {
        assert_eq!(closest("decided_at"), Some("decided_on"));
        assert_eq!(closest("agency.nmae"), Some("agency.name"));
        assert_eq!(closest("zzzzzzzzzzzzzzzzzzzzzz"), None);
    }

    #[test]
    fn every_target_is_listed_once() {
        for (i, a) in TARGETS.iter().enumerate() {
            assert!(
                TARGETS[i + 1..].iter().all(|b| b.name != a.name),
                "{} twice",
                a.name
            );
        }
    }
}
