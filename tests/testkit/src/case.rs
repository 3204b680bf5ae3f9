//! The synthetic case: one enforcement decision as a department system holds it, plus the outcome
//! the hub is expected to reach for it.
//!
//! A `Case` is system-neutral; the writers in `export` render it in the finance OA's Chinese/GBK
//! format or the market-supervision system's coded UTF-8 format (mappings/README.md).

use std::fmt;

use chrono::{Datelike, NaiveDate};

/// The two department systems of the demo; the names are the hub's source names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum System {
    FinanceOa,
    MarketSupervision,
}

impl System {
    /// The source name the hub's config gives this system; the first half of every `record_id`.
    pub fn source_name(self) -> &'static str {
        match self {
            System::FinanceOa => "finance-oa",
            System::MarketSupervision => "market-supervision",
        }
    }
}

/// A deciding agency. The USCCs are invented, with valid GB 32100 check characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agency {
    pub name: &'static str,
    pub uscc: &'static str,
    pub division: &'static str,
    pub system: System,
    /// The abbreviation in document numbers: 茌财罚〔2026〕12号.
    pub doc_prefix: &'static str,
    /// The prefix of the system's case key (`CZ` + category letters for finance, `DESC` / `LCSC`).
    pub key_prefix: &'static str,
    /// The county (or city district) the agency's counterparties mostly live in.
    pub home_county: &'static str,
}

pub const CHIPING_FINANCE: Agency = Agency {
    name: "茌平县财政局",
    uscc: "113715230042112358",
    division: "371523",
    system: System::FinanceOa,
    doc_prefix: "茌财",
    key_prefix: "CZ",
    home_county: "371523",
};

pub const DONGE_MARKET: Agency = Agency {
    name: "东阿县市场监督管理局",
    uscc: "113715240043076592",
    division: "371524",
    system: System::MarketSupervision,
    doc_prefix: "东市监",
    key_prefix: "DESC",
    home_county: "371524",
};

pub const LIAOCHENG_MARKET: Agency = Agency {
    name: "聊城市市场监督管理局",
    uscc: "11371500004152095C",
    division: "371500",
    system: System::MarketSupervision,
    doc_prefix: "聊市监",
    key_prefix: "LCSC",
    home_county: "371502",
};

/// Every agency the generator uses.
pub const AGENCIES: [&Agency; 3] = [&CHIPING_FINANCE, &DONGE_MARKET, &LIAOCHENG_MARKET];

/// Defines an enum with its `disclosure.v1` name and the two systems' spellings.
macro_rules! coded_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $contract:literal, $finance:literal, $market:expr;)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($variant),* }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),*];

            /// The `disclosure.v1` spelling (CONTRACT §3).
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $contract),* }
            }

            /// The finance OA export's spelling.
            pub fn finance_label(self) -> &'static str {
                match self { $($name::$variant => $finance),* }
            }

            /// The market-supervision export's code; `None` where its code list has no entry.
            pub fn market_code(self) -> Option<&'static str> {
                match self { $($name::$variant => $market),* }
            }
        }
    };
}

coded_enum!(
    /// 执法类别.
    Category {
        Licensing => "licensing", "行政许可", Some("XK");
        Penalty => "penalty", "行政处罚", Some("CF");
        Inspection => "inspection", "行政检查", Some("JC");
        Coercion => "coercion", "行政强制", Some("QZ");
        Levy => "levy", "行政征收", None;
        Fee => "fee", "行政收费", None;
    }
);

coded_enum!(
    /// 程序.
    Procedure {
        Simple => "simple", "简易程序", Some("1");
        Ordinary => "ordinary", "普通程序", Some("2");
    }
);

coded_enum!(
    /// 当前状态.
    Status {
        InForce => "in_force", "有效", Some("0");
        Changed => "changed", "变更", Some("5");
        Revoked => "revoked", "已撤销", Some("1");
        ConfirmedIllegal => "confirmed_illegal", "确认违法", Some("2");
        ConfirmedVoid => "confirmed_void", "确认无效", Some("3");
        Redecided => "redecided", "重新作出", Some("4");
    }
);

coded_enum!(
    /// 处罚种类.
    PenaltyKind {
        Warning => "warning", "警告", Some("01");
        PublicCriticism => "public_criticism", "通报批评", Some("02");
        Fine => "fine", "罚款", Some("03");
        ConfiscateGains => "confiscate_gains", "没收违法所得", Some("04");
        ConfiscateProperty => "confiscate_property", "没收非法财物", Some("05");
        SuspendLicense => "suspend_license", "暂扣许可证件", Some("06");
        LowerQualification => "lower_qualification", "降低资质等级", Some("07");
        RevokeLicense => "revoke_license", "吊销许可证件", Some("08");
        RestrictOperations => "restrict_operations", "限制开展生产经营活动", Some("09");
        SuspendBusiness => "suspend_business", "责令停产停业", Some("10");
        Close => "close", "责令关闭", Some("11");
        RestrictPractice => "restrict_practice", "限制从业", Some("12");
        Detention => "detention", "行政拘留", Some("13");
        Other => "other", "其他", Some("99");
    }
);

coded_enum!(
    /// 密级.
    Classification {
        Public => "public", "公开", Some("0");
        Internal => "internal", "内部", Some("1");
        Secret => "secret", "秘密", Some("2");
    }
);

coded_enum!(
    /// 行政相对人类别.
    CounterpartyKind {
        LegalPerson => "legal_person", "法人", Some("1");
        NaturalPerson => "natural_person", "自然人", Some("2");
        IndividualBusiness => "individual_business", "个体工商户", Some("3");
    }
);

/// An invented natural person. `Debug` prints no personal field (STYLE.md), even though every
/// value is made up: test failures get pasted into issues and logs.
#[derive(Clone, PartialEq, Eq)]
pub struct Person {
    pub name: String,
    /// Kept separately because compound surnames (欧阳, 司马) are what redaction must keep whole.
    pub surname: String,
    pub id_number: String,
    pub birth_date: NaiveDate,
    pub male: bool,
    pub address: String,
    pub phone: String,
}

impl Person {
    /// Whole years of age on `date`.
    pub fn age_on(&self, date: NaiveDate) -> i32 {
        let mut age = date.year() - self.birth_date.year();
        if (date.month(), date.day()) < (self.birth_date.month(), self.birth_date.day()) {
            age -= 1;
        }
        age
    }

    /// What the `public` policy turns the name into: surname + 某 (张三 → 张某, 欧阳娜娜 → 欧阳某).
    pub fn pseudonym(&self) -> String {
        format!("{}某", self.surname)
    }
}

impl fmt::Debug for Person {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Person")
            .field("name", &"***")
            .field("id_number", &"***")
            .finish_non_exhaustive()
    }
}

/// The counterparty (行政相对人) in one of its three shapes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Counterparty {
    LegalPerson {
        name: String,
        uscc: String,
        legal_rep: Person,
    },
    NaturalPerson(Person),
    /// A 个体工商户: `uscc` may be the placeholder `00000000000000000X`, then `registration_no` is set.
    IndividualBusiness {
        name: String,
        uscc: String,
        registration_no: Option<String>,
        operator: Person,
    },
}

impl Counterparty {
    pub fn kind(&self) -> CounterpartyKind {
        match self {
            Counterparty::LegalPerson { .. } => CounterpartyKind::LegalPerson,
            Counterparty::NaturalPerson(_) => CounterpartyKind::NaturalPerson,
            Counterparty::IndividualBusiness { .. } => CounterpartyKind::IndividualBusiness,
        }
    }

    /// The name as the export carries it (a natural person's full name).
    pub fn name(&self) -> &str {
        match self {
            Counterparty::LegalPerson { name, .. }
            | Counterparty::IndividualBusiness { name, .. } => name,
            Counterparty::NaturalPerson(person) => &person.name,
        }
    }

    pub fn uscc(&self) -> Option<&str> {
        match self {
            Counterparty::LegalPerson { uscc, .. }
            | Counterparty::IndividualBusiness { uscc, .. } => Some(uscc),
            Counterparty::NaturalPerson(_) => None,
        }
    }

    /// The organisation code embedded in positions 9–17 of the USCC (none for the placeholder).
    pub fn org_code(&self) -> Option<&str> {
        let uscc = self.uscc()?;
        if uscc == crate::ids::USCC_PLACEHOLDER {
            return None;
        }
        uscc.get(8..17)
    }

    /// The natural person behind the counterparty: the person, the legal representative or the operator.
    pub fn person(&self) -> &Person {
        match self {
            Counterparty::LegalPerson { legal_rep, .. } => legal_rep,
            Counterparty::NaturalPerson(person) => person,
            Counterparty::IndividualBusiness { operator, .. } => operator,
        }
    }
}

/// A licence granted (licensing cases only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct License {
    /// 许可类别: 普通 | 特许 | 认可 | 核准 | 登记 | 其他.
    pub kind: String,
    pub certificate: String,
    pub number: String,
    pub valid_from: NaiveDate,
    pub valid_to: NaiveDate,
}

/// 法制审核.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegalReview {
    pub passed: bool,
    /// The reviewing office (法制科 / 法规科), never a person.
    pub reviewer: String,
    pub reviewed_on: NaiveDate,
}

/// Which piece of personal data a free-text field mentions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MentionKind {
    /// The natural-person counterparty's full name (to become the pseudonym).
    Name,
    IdNumber,
    Phone,
    Address,
}

/// A piece of personal data written into `facts`, so tests can check the redacted text lacks it.
/// `Debug` hides the text.
#[derive(Clone, PartialEq, Eq)]
pub struct Mention {
    pub kind: MentionKind,
    pub text: String,
}

impl fmt::Debug for Mention {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mention")
            .field("kind", &self.kind)
            .field("chars", &self.text.chars().count())
            .finish()
    }
}

/// Why the `public` policy holds a record back (CONTRACT §5); the codes are the hub's reasons.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum WithholdReason {
    Classified,
    Minor,
    MajorWithoutLegalReview,
}

impl WithholdReason {
    pub fn as_str(self) -> &'static str {
        match self {
            WithholdReason::Classified => "classified",
            WithholdReason::Minor => "minor",
            WithholdReason::MajorWithoutLegalReview => "major_without_legal_review",
        }
    }
}

/// Why a once-published record leaves the platforms (CONTRACT §4 retract reasons).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RetractReason {
    Revoked,
    ConfirmedIllegal,
    ConfirmedVoid,
    Redecided,
    PublicityExpired,
}

impl RetractReason {
    pub fn as_str(self) -> &'static str {
        match self {
            RetractReason::Revoked => "revoked",
            RetractReason::ConfirmedIllegal => "confirmed_illegal",
            RetractReason::ConfirmedVoid => "confirmed_void",
            RetractReason::Redecided => "redecided",
            RetractReason::PublicityExpired => "publicity_expired",
        }
    }
}

/// What the hub should do with the case's current version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Outcome {
    /// In force and not withheld: on every platform whose area contains the agency's division.
    Published,
    /// Quarantined with this reason; never on any platform.
    Withheld(WithholdReason),
    /// No longer in force: retracted from the platforms (or never shown).
    Retracted(RetractReason),
}

impl Outcome {
    pub fn is_published(self) -> bool {
        self == Outcome::Published
    }

    /// `published`, `withheld:<reason>` or `retracted:<reason>`, for summaries.
    pub fn label(self) -> String {
        match self {
            Outcome::Published => "published".to_owned(),
            Outcome::Withheld(reason) => format!("withheld:{}", reason.as_str()),
            Outcome::Retracted(reason) => format!("retracted:{}", reason.as_str()),
        }
    }
}

/// One enforcement decision as a department system exports it.
#[derive(Clone, PartialEq, Eq)]
pub struct Case {
    pub system: System,
    /// The system's own case number (`编号` / `Case@id`): the hub's source key.
    pub key: String,
    pub agency: &'static Agency,
    pub category: Category,
    pub procedure: Procedure,
    pub status: Status,
    pub document_no: String,
    pub document_title: String,
    pub counterparty: Counterparty,
    /// 违法行为 (empty outside penalties).
    pub violation: String,
    /// 违法事实 / 事由: free text that may carry personal data, listed in `facts_mentions`.
    pub facts: String,
    pub facts_mentions: Vec<Mention>,
    pub legal_basis: String,
    pub penalty_kinds: Vec<PenaltyKind>,
    pub content: String,
    /// Whole yuan; the finance export writes 万元, the market export 元.
    pub fine_yuan: Option<u64>,
    pub confiscated_yuan: Option<u64>,
    pub license: Option<License>,
    /// Inspections only.
    pub random_check: Option<bool>,
    pub decided_on: NaiveDate,
    pub publicity_until: NaiveDate,
    pub major: bool,
    pub legal_review: Option<LegalReview>,
    pub classification: Classification,
    pub remarks: String,
    /// When `status` last changed (revocation exports); `None` while the first version is in force.
    pub status_changed_on: Option<NaiveDate>,
}

impl Case {
    /// The hub's record id: `"<source name>:<key>"`.
    pub fn record_id(&self) -> String {
        format!("{}:{}", self.system.source_name(), self.key)
    }

    /// The deciding agency's GB/T 2260 division.
    pub fn division_code(&self) -> &'static str {
        self.agency.division
    }

    /// The natural-person counterparty, if the counterparty is one.
    pub fn natural_person(&self) -> Option<&Person> {
        match &self.counterparty {
            Counterparty::NaturalPerson(person) => Some(person),
            _ => None,
        }
    }

    /// The outcome under the `public` policy, before `publicity_until` has passed.
    ///
    /// The withholding checks come first: a withheld record was never published, so a later
    /// revocation retracts nothing from the platforms. Among them the order is CONTRACT §5's
    /// (classification, minor, review); the generator gives each bad case one reason only.
    pub fn expected_outcome(&self) -> Outcome {
        if self.classification != Classification::Public {
            return Outcome::Withheld(WithholdReason::Classified);
        }
        if self
            .natural_person()
            .is_some_and(|person| person.age_on(self.decided_on) < 18)
        {
            return Outcome::Withheld(WithholdReason::Minor);
        }
        if self.major
            && !self
                .legal_review
                .as_ref()
                .is_some_and(|review| review.passed)
        {
            return Outcome::Withheld(WithholdReason::MajorWithoutLegalReview);
        }
        match self.status {
            Status::InForce | Status::Changed => Outcome::Published,
            Status::Revoked => Outcome::Retracted(RetractReason::Revoked),
            Status::ConfirmedIllegal => Outcome::Retracted(RetractReason::ConfirmedIllegal),
            Status::ConfirmedVoid => Outcome::Retracted(RetractReason::ConfirmedVoid),
            Status::Redecided => Outcome::Retracted(RetractReason::Redecided),
        }
    }

    /// The outcome as of `today`: a published record past `publicity_until` is withdrawn.
    pub fn expected_outcome_on(&self, today: NaiveDate) -> Outcome {
        match self.expected_outcome() {
            Outcome::Published if today > self.publicity_until => {
                Outcome::Retracted(RetractReason::PublicityExpired)
            }
            other => other,
        }
    }

    /// `fine_amount` as `disclosure.v1` writes it: yuan with two decimals (`"5000.00"`).
    pub fn expected_fine_amount(&self) -> Option<String> {
        self.fine_yuan.map(|yuan| format!("{yuan}.00"))
    }

    /// `confiscated_amount` as `disclosure.v1` writes it.
    pub fn expected_confiscated_amount(&self) -> Option<String> {
        self.confiscated_yuan.map(|yuan| format!("{yuan}.00"))
    }
}

impl fmt::Debug for Case {
    /// Only the non-personal fields: the counterparty and the free text stay out.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Case")
            .field("record_id", &self.record_id())
            .field("category", &self.category)
            .field("status", &self.status)
            .field("counterparty_kind", &self.counterparty.kind())
            .field("decided_on", &self.decided_on)
            .field("outcome", &self.expected_outcome())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids;

    #[test]
    fn agency_usccs_have_valid_check_characters() {
        for agency in AGENCIES {
            assert!(ids::is_valid_uscc(agency.uscc), "{}", agency.name);
            assert_eq!(&agency.uscc[2..8], agency.division, "{}", agency.name);
            assert!(
                ids::is_valid_org_code(&agency.uscc[8..17]),
                "{}",
                agency.name
            );
        }
    }

    #[test]
    fn code_lists_follow_the_readme() {
        assert_eq!(Status::Revoked.finance_label(), "已撤销");
        assert_eq!(Status::Revoked.market_code(), Some("1"));
        assert_eq!(Status::Changed.market_code(), Some("5"));
        assert_eq!(Category::Levy.market_code(), None);
        assert_eq!(PenaltyKind::Other.market_code(), Some("99"));
        assert_eq!(PenaltyKind::Detention.market_code(), Some("13"));
        assert_eq!(
            CounterpartyKind::IndividualBusiness.finance_label(),
            "个体工商户"
        );
        assert_eq!(Classification::Secret.market_code(), Some("2"));
        assert_eq!(PenaltyKind::ALL.len(), 14);
    }

    fn person(birth: NaiveDate) -> Person {
        Person {
            name: "欧阳娜娜".to_owned(),
            surname: "欧阳".to_owned(),
            id_number: ids::resident_id("371524", birth, 2),
            birth_date: birth,
            male: false,
            address: "东阿县铜城街道阿胶街1号".to_owned(),
            phone: "13800000000".to_owned(),
        }
    }

    #[test]
    fn age_counts_whole_years_around_the_birthday() {
        let p = person(NaiveDate::from_ymd_opt(2008, 6, 15).unwrap_or_default());
        assert_eq!(
            p.age_on(NaiveDate::from_ymd_opt(2026, 6, 14).unwrap_or_default()),
            17
        );
        assert_eq!(
            p.age_on(NaiveDate::from_ymd_opt(2026, 6, 15).unwrap_or_default()),
            18
        );
        assert_eq!(p.pseudonym(), "欧阳某");
    }

    #[test]
    fn person_and_mention_debug_hide_personal_data() {
        let p = person(NaiveDate::from_ymd_opt(1980, 1, 1).unwrap_or_default());
        let shown = format!("{p:?}");
        assert!(
            !shown.contains("欧阳") && !shown.contains(&p.id_number) && !shown.contains("1380"),
            "{shown}"
        );
        let m = Mention {
            kind: MentionKind::Phone,
            text: p.phone.clone(),
        };
        assert!(!format!("{m:?}").contains("1380"));
    }
}
