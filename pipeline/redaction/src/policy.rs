//! Redaction policies: the TOML format, parsed, validated and compiled once into a [`Policy`].
//!
//! The format is documented in the crate header (`lib.rs`); the built-in `public` and `government`
//! policies are TOML files of this crate (`policies/*.toml`) compiled by the same code as custom ones.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use crate::scan::{self, Detector, DetectorSet, ScanConfig};

const PUBLIC_TOML: &str = include_str!("../policies/public.toml");
const GOVERNMENT_TOML: &str = include_str!("../policies/government.toml");

/// The names of the built-in policies, for help texts and `dhub check`.
pub const BUILTIN_POLICIES: [&str; 2] = ["public", "government"];

/// A policy file that cannot be used. Displays as `path:line: message`; the message says what to
/// change. Policy files hold no personal data, so quoting their contents is safe; a retry without
/// changing the file does not help.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}:{line}: {message}")]
pub struct PolicyError {
    /// The policy file as given (or `builtin:NAME`).
    pub path: String,
    /// 1-based line of the offending key or value (1 for errors about the whole file).
    pub line: usize,
    pub message: String,
}

/// A compiled redaction policy: what to withhold, what to do with each field, which detectors run
/// over free text, and what they must leave. Compiled once; `Send + Sync`, shared by all workers.
#[derive(Debug, Clone)]
pub struct Policy {
    pub(crate) name: String,
    pub(crate) withhold: WithholdRules,
    pub(crate) scan: ScanConfig,
    /// Field rules by dotted path (`counterparty.id_number`), first applicable rule wins.
    pub(crate) fields: BTreeMap<String, Vec<FieldRule>>,
    /// `[documents] evidence = true`: the feed may be sent a decision's evidence attachments
    /// (photos, video), which are never redacted; `false` (the default) sends only the public
    /// version of the decision.
    pub(crate) evidence: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct WithholdRules {
    pub allowed_classifications: Vec<String>,
    pub minors: bool,
    pub major_without_legal_review: bool,
    /// `Some(prefixes)`: simple-procedure warnings are withheld in divisions starting with one of
    /// the prefixes (all divisions when empty).
    pub simple_warning: Option<Vec<String>>,
}

/// What a field rule does with a field's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    /// Published verbatim, not scanned.
    Keep,
    /// Scanned by the detectors (what every field without a rule gets).
    Scan,
    Remove,
    /// Masked with `*`, keeping this many characters at the front and at the back.
    Mask {
        keep_front: u32,
        keep_back: u32,
    },
    /// Surname + 某; the original is then replaced by the same pseudonym in all scanned text.
    Pseudonymise,
}

/// The counterparty kinds of `disclosure.v1` (CONTRACT §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    LegalPerson,
    NaturalPerson,
    IndividualBusiness,
}

impl Kind {
    pub const CODES: [&'static str; 3] = ["legal_person", "natural_person", "individual_business"];

    pub fn from_code(code: &str) -> Option<Kind> {
        match code {
            "legal_person" => Some(Kind::LegalPerson),
            "natural_person" => Some(Kind::NaturalPerson),
            "individual_business" => Some(Kind::IndividualBusiness),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct FieldRule {
    pub action: Action,
    /// `None`: every kind of counterparty.
    pub kinds: Option<Vec<Kind>>,
}

impl FieldRule {
    fn applies_to(&self, kind: Kind) -> bool {
        self.kinds
            .as_ref()
            .is_none_or(|kinds| kinds.contains(&kind))
    }
}

/// Every leaf field of `disclosure.v1` (CONTRACT §3). Field rules must name one of these or an
/// object above them (`counterparty.legal_rep`): a typo in a policy would otherwise leave a field
/// unredacted without a word.
pub const KNOWN_FIELDS: &[&str] = &[
    "record_id",
    "version",
    "category",
    "random_check",
    "status",
    "procedure",
    "division_code",
    "agency.name",
    "agency.uscc",
    "source_unit.name",
    "source_unit.uscc",
    "document_no",
    "document_title",
    "counterparty.name",
    "counterparty.kind",
    "counterparty.uscc",
    "counterparty.registration_no",
    "counterparty.org_code",
    "counterparty.tax_no",
    "counterparty.institution_no",
    "counterparty.social_org_no",
    "counterparty.legal_rep.name",
    "counterparty.legal_rep.id_type",
    "counterparty.legal_rep.id_number",
    "counterparty.id_type",
    "counterparty.id_number",
    "counterparty.address",
    "counterparty.phone",
    "violation_type",
    "facts",
    "legal_basis",
    "penalty_kinds",
    "content",
    "fine_amount",
    "confiscated_amount",
    "license_affected",
    "license.kind",
    "license.certificate",
    "license.number",
    "license.valid_from",
    "license.valid_to",
    "decided_on",
    "valid_until",
    "publicity_until",
    "major",
    "legal_review.passed",
    "legal_review.reviewer",
    "legal_review.reviewed_on",
    "classification",
    "remarks",
    "source.name",
    "source.key",
    "source.fetched_at",
];

const CLASSIFICATIONS: [&str; 3] = ["public", "internal", "secret"];

// ---------------------------------------------------------------------------------------------
// The raw file.

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    name: Spanned<String>,
    extends: Option<Spanned<String>>,
    #[allow(dead_code)] // documentation for readers of the file
    description: Option<String>,
    withhold: Option<RawWithhold>,
    detect: Option<RawDetect>,
    allow: Option<RawAllow>,
    #[serde(default)]
    field: Vec<RawField>,
    documents: Option<RawDocuments>,
}

/// `[documents]`: what of a decision's documents the feed may be sent.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDocuments {
    evidence: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWithhold {
    classification_allowed: Option<Vec<Spanned<String>>>,
    minors: Option<bool>,
    major_without_legal_review: Option<bool>,
    simple_warning_not_published: Option<bool>,
    simple_warning_divisions: Option<Vec<Spanned<String>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDetect {
    detectors: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAllow {
    #[serde(default)]
    phones: Vec<Spanned<String>>,
    #[serde(default)]
    emails: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawField {
    path: Spanned<String>,
    action: Spanned<String>,
    kinds: Option<Spanned<Vec<Spanned<String>>>>,
    keep_front: Option<Spanned<u32>>,
    keep_back: Option<Spanned<u32>>,
}

// ---------------------------------------------------------------------------------------------

/// Turns byte offsets of one source into `path:line` errors.
struct Source<'a> {
    origin: &'a str,
    text: &'a str,
}

impl Source<'_> {
    fn error_at(&self, offset: usize, message: impl Into<String>) -> PolicyError {
        let offset = offset.min(self.text.len());
        let line = self.text.as_bytes()[..offset]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1;
        PolicyError {
            path: self.origin.to_string(),
            line,
            message: message.into(),
        }
    }

    fn error<T>(&self, spanned: &Spanned<T>, message: impl Into<String>) -> PolicyError {
        self.error_at(spanned.span().start, message)
    }
}

impl Policy {
    /// A built-in policy by name: `public` (CONTRACT §5, the default) or `government`.
    pub fn builtin(name: &str) -> Option<Policy> {
        let text = match name {
            "public" => PUBLIC_TOML,
            "government" => GOVERNMENT_TOML,
            _ => return None,
        };
        // The built-ins are tested to compile; a broken one reads as unknown rather than as a
        // half-working policy.
        compile(&Source {
            origin: &format!("builtin:{name}"),
            text,
        })
        .ok()
    }

    /// Loads and compiles a policy file.
    pub fn load(path: &Path) -> Result<Policy, PolicyError> {
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| PolicyError {
            path: origin.clone(),
            line: 1,
            message: format!(
                "cannot read the policy file ({e}): check the path and its permissions"
            ),
        })?;
        compile(&Source {
            origin: &origin,
            text: &text,
        })
    }

    /// A built-in policy by name, else a policy file relative to `base_dir` (the config file's
    /// folder, CONTRACT §2).
    pub fn resolve(name_or_path: &str, base_dir: &Path) -> Result<Policy, PolicyError> {
        if let Some(policy) = Policy::builtin(name_or_path) {
            return Ok(policy);
        }
        let path = base_dir.join(name_or_path);
        if !path.exists() && !name_or_path.contains(['/', '\\', '.']) {
            return Err(PolicyError {
                path: name_or_path.to_string(),
                line: 1,
                message: format!(
                    "unknown policy: use one of {} or the path of a policy file (.toml)",
                    BUILTIN_POLICIES.join(", ")
                ),
            });
        }
        Policy::load(&path)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether feeds under this policy may be sent evidence attachments (`[documents] evidence`).
    pub fn allows_evidence(&self) -> bool {
        self.evidence
    }

    /// The action for a field (by dotted path without array indices) of a record whose counterparty
    /// is of `kind`.
    pub(crate) fn action_for(&self, path: &str, kind: Kind) -> Action {
        self.fields
            .get(path)
            .and_then(|rules| rules.iter().find(|r| r.applies_to(kind)))
            .map_or(Action::Scan, |r| r.action)
    }
}

/// The starting point of a policy without `extends`: strict withholding, every detector, no field
/// rules. Forgetting a key never publishes more.
fn empty_policy(name: String) -> Policy {
    Policy {
        name,
        withhold: WithholdRules {
            allowed_classifications: vec!["public".to_string()],
            minors: true,
            major_without_legal_review: true,
            simple_warning: None,
        },
        scan: ScanConfig {
            detectors: DetectorSet::all(),
            ..ScanConfig::default()
        },
        fields: BTreeMap::new(),
        evidence: false,
    }
}

fn compile(src: &Source<'_>) -> Result<Policy, PolicyError> {
    let raw: RawPolicy = toml::from_str(src.text).map_err(|e| {
        let offset = e.span().map_or(0, |s| s.start);
        // toml's message is already lowercase and names the key; keep its first line only.
        let message = e
            .message()
            .lines()
            .next()
            .unwrap_or("invalid policy file")
            .to_string();
        src.error_at(
            offset,
            format!("{message} (see the policy format in the dhub-redaction docs)"),
        )
    })?;

    let name = raw.name.get_ref().trim().to_string();
    if name.is_empty() {
        return Err(src.error(&raw.name, "`name` must not be empty"));
    }
    let mut policy = match &raw.extends {
        None => empty_policy(name),
        Some(base) => {
            let mut parent = Policy::builtin(base.get_ref()).ok_or_else(|| {
                src.error(
                    base,
                    format!(
                        "`extends` must name a built-in policy ({}); files cannot be extended",
                        BUILTIN_POLICIES.join(", ")
                    ),
                )
            })?;
            parent.name = name;
            parent
        }
    };

    if let Some(w) = &raw.withhold {
        compile_withhold(src, w, &mut policy.withhold)?;
    }
    if let Some(detect) = &raw.detect {
        let mut set = DetectorSet::default();
        for d in &detect.detectors {
            let detector = Detector::from_name(d.get_ref()).ok_or_else(|| {
                let names: Vec<_> = Detector::ALL.iter().map(|d| d.name()).collect();
                src.error(
                    d,
                    format!(
                        "unknown detector `{}`: use one of {}",
                        d.get_ref(),
                        names.join(", ")
                    ),
                )
            })?;
            set.insert(detector);
        }
        policy.scan.detectors = set;
    }
    if let Some(allow) = &raw.allow {
        for phone in &allow.phones {
            let keys = scan::phone_allow_keys(phone.get_ref());
            if keys.is_empty() {
                return Err(src.error(
                    phone,
                    "allow-listed phone number has fewer than 5 digits: write it as `0635-8512345`",
                ));
            }
            policy.scan.allow_phones.extend(keys);
        }
        for email in &allow.emails {
            let address = email
                .get_ref()
                .trim()
                .replace('＠', "@")
                .to_ascii_lowercase();
            if address.split('@').count() != 2 || address.starts_with('@') || address.ends_with('@')
            {
                return Err(src.error(
                    email,
                    "allow-listed e-mail address must look like `name@example.gov.cn`",
                ));
            }
            policy.scan.allow_emails.insert(address);
        }
    }
    compile_fields(src, &raw.field, &mut policy.fields)?;
    if let Some(evidence) = raw.documents.as_ref().and_then(|d| d.evidence) {
        policy.evidence = evidence;
    }
    Ok(policy)
}

fn compile_withhold(
    src: &Source<'_>,
    w: &RawWithhold,
    rules: &mut WithholdRules,
) -> Result<(), PolicyError> {
    if let Some(allowed) = &w.classification_allowed {
        let mut list = Vec::new();
        for c in allowed {
            match c.get_ref().as_str() {
                "secret" => {
                    return Err(src.error(c, "`secret` records never leave the hub (CONTRACT §3): remove it from `classification_allowed`"))
                }
                known if CLASSIFICATIONS.contains(&known) => list.push(known.to_string()),
                other => {
                    return Err(src.error(c, format!("unknown classification `{other}`: use `public` or `internal`")))
                }
            }
        }
        rules.allowed_classifications = list;
    }
    if let Some(minors) = w.minors {
        rules.minors = minors;
    }
    if let Some(major) = w.major_without_legal_review {
        rules.major_without_legal_review = major;
    }
    let mut divisions = Vec::new();
    if let Some(list) = &w.simple_warning_divisions {
        for d in list {
            let prefix = d.get_ref();
            if prefix.is_empty() || prefix.len() > 6 || !prefix.bytes().all(|b| b.is_ascii_digit())
            {
                return Err(src.error(d, "a division prefix is 1 to 6 digits of a GB/T 2260 code, such as `37` or `371500`"));
            }
            divisions.push(prefix.clone());
        }
    }
    match w.simple_warning_not_published {
        Some(true) => rules.simple_warning = Some(divisions),
        Some(false) => rules.simple_warning = None,
        None if w.simple_warning_divisions.is_some() => {
            if let Some(existing) = &mut rules.simple_warning {
                *existing = divisions;
            } else if let Some(first) = w.simple_warning_divisions.as_ref().and_then(|l| l.first())
            {
                return Err(src.error(
                    first,
                    "`simple_warning_divisions` needs `simple_warning_not_published = true`",
                ));
            }
        }
        None => {}
    }
    Ok(())
}

fn compile_fields(
    src: &Source<'_>,
    raw: &[RawField],
    fields: &mut BTreeMap<String, Vec<FieldRule>>,
) -> Result<(), PolicyError> {
    // A file's rules for a path replace the parent policy's rules for that path.
    // Per path: the kinds of each rule seen so far, and its line.
    type Seen = BTreeMap<String, Vec<(Option<Vec<Kind>>, usize)>>;
    let mut seen: Seen = BTreeMap::new();
    let mut compiled: Vec<(String, FieldRule)> = Vec::new();
    for f in raw {
        let path = f.path.get_ref().trim();
        let is_leaf = KNOWN_FIELDS.contains(&path);
        let is_parent = KNOWN_FIELDS.iter().any(|k| {
            k.len() > path.len() && k.starts_with(path) && k.as_bytes()[path.len()] == b'.'
        });
        if !is_leaf && !is_parent {
            return Err(src.error(&f.path, format!("unknown field `{path}`: use a disclosure.v1 field path such as `counterparty.id_number`")));
        }
        let action = match f.action.get_ref().as_str() {
            "keep" => Action::Keep,
            "scan" => Action::Scan,
            "remove" => Action::Remove,
            "mask" => Action::Mask {
                keep_front: f.keep_front.as_ref().map_or(0, |k| *k.get_ref()),
                keep_back: f.keep_back.as_ref().map_or(0, |k| *k.get_ref()),
            },
            "pseudonymise" => Action::Pseudonymise,
            other => {
                return Err(src.error(
                    &f.action,
                    format!(
                        "unknown action `{other}`: use keep, scan, remove, mask or pseudonymise"
                    ),
                ))
            }
        };
        if !matches!(action, Action::Mask { .. }) {
            if let Some(k) = f.keep_front.as_ref().or(f.keep_back.as_ref()) {
                return Err(src.error(
                    k,
                    "`keep_front` and `keep_back` only go with `action = \"mask\"`",
                ));
            }
        }
        if matches!(action, Action::Mask { .. } | Action::Pseudonymise) && !is_leaf {
            return Err(src.error(
                &f.action,
                format!("`{path}` is an object: only keep, scan or remove apply to it"),
            ));
        }
        let kinds = match &f.kinds {
            None => None,
            Some(list) => {
                if list.get_ref().is_empty() {
                    return Err(src.error(
                        list,
                        format!(
                            "`kinds` must name at least one of {}",
                            Kind::CODES.join(", ")
                        ),
                    ));
                }
                let mut kinds = Vec::new();
                for k in list.get_ref() {
                    kinds.push(Kind::from_code(k.get_ref()).ok_or_else(|| {
                        src.error(
                            k,
                            format!(
                                "unknown counterparty kind `{}`: use {}",
                                k.get_ref(),
                                Kind::CODES.join(", ")
                            ),
                        )
                    })?);
                }
                Some(kinds)
            }
        };
        let line = src.error(&f.path, "").line;
        let earlier = seen.entry(path.to_string()).or_default();
        for (other_kinds, other_line) in earlier.iter() {
            let overlap = match (&kinds, other_kinds) {
                (Some(a), Some(b)) => a.iter().any(|k| b.contains(k)),
                _ => true,
            };
            if overlap {
                return Err(src.error(&f.path, format!("second rule for `{path}` and the same counterparty kinds (first at line {other_line}): merge them or set disjoint `kinds`")));
            }
        }
        earlier.push((kinds.clone(), line));
        compiled.push((path.to_string(), FieldRule { action, kinds }));
    }
    for path in seen.keys() {
        fields.remove(path);
    }
    for (path, rule) in compiled {
        fields.entry(path).or_default().push(rule);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compile_str(text: &str) -> Result<Policy, PolicyError> {
        compile(&Source {
            origin: "test.toml",
            text,
        })
    }

    #[test]
    fn builtins_compile() {
        for name in BUILTIN_POLICIES {
            let p = Policy::builtin(name).unwrap_or_else(|| panic!("builtin {name} must compile"));
            assert_eq!(p.name(), name);
        }
        assert!(Policy::builtin("nope").is_none());
        // The built-in files themselves, with their errors if any.
        compile(&Source {
            origin: "public.toml",
            text: PUBLIC_TOML,
        })
        .unwrap();
        compile(&Source {
            origin: "government.toml",
            text: GOVERNMENT_TOML,
        })
        .unwrap();
    }

    #[test]
    fn policy_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Policy>();
    }

    #[test]
    fn public_policy_has_the_contract_rules() {
        let p = Policy::builtin("public").unwrap();
        assert_eq!(
            p.action_for("counterparty.id_number", Kind::NaturalPerson),
            Action::Remove
        );
        assert_eq!(
            p.action_for("counterparty.name", Kind::NaturalPerson),
            Action::Pseudonymise
        );
        assert_eq!(
            p.action_for("counterparty.name", Kind::LegalPerson),
            Action::Keep
        );
        assert_eq!(
            p.action_for("counterparty.legal_rep.name", Kind::LegalPerson),
            Action::Keep
        );
        assert_eq!(
            p.action_for("counterparty.legal_rep.id_number", Kind::LegalPerson),
            Action::Remove
        );
        assert_eq!(
            p.action_for("document_no", Kind::NaturalPerson),
            Action::Keep
        );
        assert_eq!(p.action_for("facts", Kind::NaturalPerson), Action::Scan);
        assert_eq!(p.withhold.allowed_classifications, ["public"]);
        assert!(p.withhold.minors && p.withhold.major_without_legal_review);
        assert!(p.withhold.simple_warning.is_none());
        assert_eq!(p.scan.detectors, DetectorSet::all());
    }

    #[test]
    fn only_the_government_policy_allows_evidence() {
        assert!(Policy::builtin("government").unwrap().allows_evidence());
        assert!(!Policy::builtin("public").unwrap().allows_evidence());
        let custom = compile(&Source {
            origin: "p.toml",
            text: "name = \"p\"\nextends = \"public\"\n[documents]\nevidence = true\n",
        });
        assert!(custom.unwrap().allows_evidence());
    }

    #[test]
    fn government_policy_keeps_identifiers_but_not_secrets() {
        let p = Policy::builtin("government").unwrap();
        assert!(p.scan.detectors.is_empty());
        assert_eq!(
            p.action_for("counterparty.id_number", Kind::NaturalPerson),
            Action::Scan
        );
        assert_eq!(p.withhold.allowed_classifications, ["public", "internal"]);
    }

    #[test]
    fn extends_overrides_and_replaces_rules_per_path() {
        let p = compile_str(
            r#"
name = "custom"
extends = "public"
[withhold]
simple_warning_not_published = true
simple_warning_divisions = ["3715"]
[allow]
phones = ["0635-8512345"]
[[field]]
path = "counterparty.id_number"
action = "mask"
keep_front = 6
keep_back = 4
"#,
        )
        .unwrap();
        assert_eq!(p.name(), "custom");
        assert_eq!(p.withhold.simple_warning, Some(vec!["3715".to_string()]));
        assert_eq!(
            p.action_for("counterparty.id_number", Kind::NaturalPerson),
            Action::Mask {
                keep_front: 6,
                keep_back: 4
            }
        );
        // Inherited rules for other paths stay.
        assert_eq!(
            p.action_for("counterparty.name", Kind::NaturalPerson),
            Action::Pseudonymise
        );
        assert!(p.scan.allow_phones.contains(b"06358512345".as_slice()));
        assert!(p.scan.allow_phones.contains(b"8512345".as_slice()));
    }

    #[test]
    fn policy_without_extends_starts_strict() {
        let p = compile_str("name = \"bare\"\n").unwrap();
        assert!(p.withhold.minors && p.withhold.major_without_legal_review);
        assert_eq!(p.scan.detectors, DetectorSet::all());
    }

    fn error_of(text: &str) -> String {
        compile_str(text).unwrap_err().to_string()
    }

    #[test]
    fn errors_name_file_and_line() {
        assert_eq!(
            error_of("name = \"x\"\n\n[detect]\ndetectors = [\"mobile\", \"face\"]\n"),
            "test.toml:4: unknown detector `face`: use one of resident_id, mobile, landline, bank_card, bank_account, email, vehicle_plate, qq, wechat, address, person_name, passport"
        );
        assert!(error_of(
            "name = \"x\"\n[[field]]\npath = \"counterparty.id_numbr\"\naction = \"remove\"\n"
        )
        .starts_with("test.toml:3: unknown field `counterparty.id_numbr`"));
        assert!(
            error_of("name = \"x\"\n[[field]]\npath = \"facts\"\naction = \"blank\"\n")
                .starts_with("test.toml:4: unknown action `blank`")
        );
        assert!(error_of(
            "name = \"x\"\n[withhold]\nclassification_allowed = [\"public\", \"secret\"]\n"
        )
        .starts_with("test.toml:3: `secret` records never leave the hub"));
        assert!(error_of("name = \"x\"\nextends = \"province.toml\"\n")
            .starts_with("test.toml:2: `extends` must name a built-in"));
        assert!(error_of("name = \"x\"\ncolour = 1\n")
            .starts_with("test.toml:2: unknown field `colour`"));
        assert!(error_of(
            "name = \"x\"\n[[field]]\npath = \"facts\"\naction = \"keep\"\nkeep_front = 2\n"
        )
        .starts_with("test.toml:5: `keep_front` and `keep_back` only go with"));
        assert!(
            error_of("name = \"x\"\n[[field]]\npath = \"counterparty\"\naction = \"mask\"\n")
                .starts_with("test.toml:4: `counterparty` is an object")
        );
        assert!(error_of(
            "name = \"x\"\n[[field]]\npath = \"facts\"\naction = \"keep\"\nkinds = [\"robot\"]\n"
        )
        .starts_with("test.toml:5: unknown counterparty kind `robot`"));
        assert!(error_of("name = \"x\"\n[allow]\nphones = [\"12\"]\n")
            .starts_with("test.toml:3: allow-listed phone"));
        assert!(error_of("name = \"  \"\n").starts_with("test.toml:1: `name` must not be empty"));
        assert!(
            error_of("name = \"x\"\n[withhold]\nsimple_warning_divisions = [\"37\"]\n")
                .starts_with("test.toml:3: `simple_warning_divisions` needs")
        );
        assert!(error_of("name = \"x\"\n[withhold]\nsimple_warning_not_published = true\nsimple_warning_divisions = [\"3a\"]\n")
            .starts_with("test.toml:4: a division prefix"));
        // A syntax error keeps toml's location.
        assert!(error_of("name = \"x\"\n[withhold\n").starts_with("test.toml:2: "));
    }

    #[test]
    fn duplicate_rules_for_overlapping_kinds_are_errors() {
        let dup = "name = \"x\"\n[[field]]\npath = \"facts\"\naction = \"keep\"\n[[field]]\npath = \"facts\"\naction = \"remove\"\n";
        assert_eq!(
            error_of(dup),
            "test.toml:6: second rule for `facts` and the same counterparty kinds (first at line 3): merge them or set disjoint `kinds`"
        );
        let disjoint = "name = \"x\"\n[[field]]\npath = \"facts\"\naction = \"keep\"\nkinds = [\"legal_person\"]\n[[field]]\npath = \"facts\"\naction = \"remove\"\nkinds = [\"natural_person\"]\n";
        let p = compile_str(disjoint).unwrap();
        assert_eq!(p.action_for("facts", Kind::LegalPerson), Action::Keep);
        assert_eq!(p.action_for("facts", Kind::NaturalPerson), Action::Remove);
        assert_eq!(
            p.action_for("facts", Kind::IndividualBusiness),
            Action::Scan
        );
    }

    #[test]
    fn load_and_resolve() {
        let dir =
            std::env::temp_dir().join(format!("dhub-redaction-policy-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("mine.toml"),
            "name = \"mine\"\nextends = \"public\"\n",
        )
        .unwrap();
        assert_eq!(Policy::resolve("mine.toml", &dir).unwrap().name(), "mine");
        assert_eq!(
            Policy::resolve("government", &dir).unwrap().name(),
            "government"
        );
        let unknown = Policy::resolve("pubilc", &dir).unwrap_err();
        assert_eq!(unknown.path, "pubilc");
        assert!(unknown.message.starts_with("unknown policy"));
        let missing = Policy::resolve("missing.toml", &dir).unwrap_err();
        assert!(missing
            .to_string()
            .contains("missing.toml:1: cannot read the policy file"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
