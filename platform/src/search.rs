//! The search API's query: parsed from URL parameters once, validated, then handed to the view.

use chrono::NaiveDate;
use serde::Serialize;
use serde_json::Value;

/// Results per page when `limit` is not given.
pub const DEFAULT_LIMIT: u32 = 50;
/// The largest page; bigger pages would let one request read the whole view.
pub const MAX_LIMIT: u32 = 500;

/// The categories of CONTRACT §3, the only values `category=` accepts.
pub const CATEGORIES: [&str; 6] = [
    "licensing",
    "penalty",
    "coercion",
    "levy",
    "fee",
    "inspection",
];

const PARAMETERS: &str = "q, counterparty, document_no, agency, category, from, to, limit, offset";

/// A search over the records in force. Every filter given must match (AND).
///
/// - `text` (`q`): a case-insensitive substring of the counterparty name, the document number
///   or the agency name (any of them);
/// - `counterparty`, `agency`: case-insensitive substrings of that field;
/// - `document_no`: the exact document number;
/// - `category`: exact, one of [`CATEGORIES`];
/// - `decided_from` / `decided_to` (`from`/`to`): inclusive bounds on `decided_on`; a record with
///   no valid `decided_on` never matches a date bound.
///
/// Results are ordered newest decision first (records without a date last), then by record_id,
/// so pages are stable.
#[derive(Clone, PartialEq, Eq)]
pub struct SearchQuery {
    pub text: Option<String>,
    pub counterparty: Option<String>,
    pub document_no: Option<String>,
    pub agency: Option<String>,
    pub category: Option<String>,
    pub decided_from: Option<NaiveDate>,
    pub decided_to: Option<NaiveDate>,
    pub limit: u32,
    pub offset: u64,
}

impl Default for SearchQuery {
    fn default() -> SearchQuery {
        SearchQuery {
            text: None,
            counterparty: None,
            document_no: None,
            agency: None,
            category: None,
            decided_from: None,
            decided_to: None,
            limit: DEFAULT_LIMIT,
            offset: 0,
        }
    }
}

/// Someone may search for a person's full name: Debug tells which filters are set, not their text.
impl std::fmt::Debug for SearchQuery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let set = |v: &Option<String>| v.as_ref().map(|_| "***");
        f.debug_struct("SearchQuery")
            .field("text", &set(&self.text))
            .field("counterparty", &set(&self.counterparty))
            .field("document_no", &set(&self.document_no))
            .field("agency", &set(&self.agency))
            .field("category", &self.category)
            .field("decided_from", &self.decided_from)
            .field("decided_to", &self.decided_to)
            .field("limit", &self.limit)
            .field("offset", &self.offset)
            .finish()
    }
}

/// A search parameter that cannot be used. Names the parameter, never echoes its value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SearchQueryError {
    #[error("unknown query parameter `{0}`; the parameters are {PARAMETERS}")]
    UnknownParameter(String),
    #[error("query parameter `{0}` is given more than once; give it once")]
    Repeated(&'static str),
    #[error("query parameter `{0}` must be a date as YYYY-MM-DD")]
    BadDate(&'static str),
    #[error("query parameter `from` is after `to`; swap them")]
    EmptyDateRange,
    #[error("query parameter `limit` must be an integer from 1 to {MAX_LIMIT}")]
    BadLimit,
    #[error("query parameter `offset` must be a non-negative integer")]
    BadOffset,
    #[error("query parameter `category` must be one of licensing, penalty, coercion, levy, fee, inspection")]
    BadCategory,
    #[error("query parameter `{0}` is longer than 200 characters")]
    TooLong(&'static str),
}

/// One page of results and how many records match in all.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SearchResult {
    pub total: u64,
    pub records: Vec<Value>,
}

impl SearchQuery {
    /// Builds a query from URL parameters. Empty values count as absent, so a form that submits
    /// every field still works.
    pub fn from_params(params: &[(String, String)]) -> Result<SearchQuery, SearchQueryError> {
        let mut query = SearchQuery::default();
        let mut seen: Vec<&'static str> = Vec::new();
        for (name, value) in params {
            let name: &'static str = match name.as_str() {
                "q" => "q",
                "counterparty" => "counterparty",
                "document_no" => "document_no",
                "agency" => "agency",
                "category" => "category",
                "from" => "from",
                "to" => "to",
                "limit" => "limit",
                "offset" => "offset",
                other => {
                    // The name is shown back, so cap it: a URL is not a place to dump data.
                    let shown: String = other.chars().take(40).collect();
                    return Err(SearchQueryError::UnknownParameter(shown));
                }
            };
            if seen.contains(&name) {
                return Err(SearchQueryError::Repeated(name));
            }
            seen.push(name);
            let value = value.trim();
            if value.is_empty() {
                continue;
            }
            if value.chars().count() > 200 {
                return Err(SearchQueryError::TooLong(name));
            }
            match name {
                "q" => query.text = Some(value.to_owned()),
                "counterparty" => query.counterparty = Some(value.to_owned()),
                "document_no" => query.document_no = Some(value.to_owned()),
                "agency" => query.agency = Some(value.to_owned()),
                "category" => {
                    if !CATEGORIES.contains(&value) {
                        return Err(SearchQueryError::BadCategory);
                    }
                    query.category = Some(value.to_owned());
                }
                "from" => query.decided_from = Some(parse_date(value, "from")?),
                "to" => query.decided_to = Some(parse_date(value, "to")?),
                "limit" => {
                    query.limit = value
                        .parse::<u32>()
                        .ok()
                        .filter(|l| (1..=MAX_LIMIT).contains(l))
                        .ok_or(SearchQueryError::BadLimit)?
                }
                "offset" => {
                    query.offset = value
                        .parse::<u64>()
                        .ok()
                        // Both databases take a signed 64-bit offset.
                        .filter(|o| i64::try_from(*o).is_ok())
                        .ok_or(SearchQueryError::BadOffset)?
                }
                _ => unreachable!("every accepted name is matched above"),
            }
        }
        if let (Some(from), Some(to)) = (query.decided_from, query.decided_to) {
            if from > to {
                return Err(SearchQueryError::EmptyDateRange);
            }
        }
        Ok(query)
    }
}

fn parse_date(value: &str, name: &'static str) -> Result<NaiveDate, SearchQueryError> {
    // Exactly YYYY-MM-DD: chrono alone would also take "2026-3-1".
    let well_formed = value.len() == 10
        && value.bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        });
    if !well_formed {
        return Err(SearchQueryError::BadDate(name));
    }
    NaiveDate::parse_from_str(value, "%Y-%m-%d").map_err(|_| SearchQueryError::BadDate(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn every_parameter_is_read() {
        let query = SearchQuery::from_params(&params(&[
            ("q", "财政"),
            ("counterparty", "某公司"),
            ("document_no", "罚〔2026〕1号"),
            ("agency", "财政局"),
            ("category", "penalty"),
            ("from", "2026-01-01"),
            ("to", "2026-12-31"),
            ("limit", "10"),
            ("offset", "20"),
        ]))
        .unwrap();
        assert_eq!(query.text.as_deref(), Some("财政"));
        assert_eq!(query.counterparty.as_deref(), Some("某公司"));
        assert_eq!(query.document_no.as_deref(), Some("罚〔2026〕1号"));
        assert_eq!(query.agency.as_deref(), Some("财政局"));
        assert_eq!(query.category.as_deref(), Some("penalty"));
        assert_eq!(query.decided_from, NaiveDate::from_ymd_opt(2026, 1, 1));
        assert_eq!(query.decided_to, NaiveDate::from_ymd_opt(2026, 12, 31));
        assert_eq!(query.limit, 10);
        assert_eq!(query.offset, 20);
    }

    #[test]
    fn no_parameters_means_the_first_page_of_everything() {
        assert_eq!(
            SearchQuery::from_params(&[]).unwrap(),
            SearchQuery::default()
        );
        let blank = SearchQuery::from_params(&params(&[("q", " "), ("from", "")])).unwrap();
        assert_eq!(blank, SearchQuery::default());
    }

    #[test]
    fn bad_parameters_are_named() {
        let cases: &[(&[(&str, &str)], SearchQueryError)] = &[
            (
                &[("name", "x")],
                SearchQueryError::UnknownParameter("name".into()),
            ),
            (&[("q", "a"), ("q", "b")], SearchQueryError::Repeated("q")),
            (&[("from", "2026-3-1")], SearchQueryError::BadDate("from")),
            (&[("to", "2026-02-30")], SearchQueryError::BadDate("to")),
            (
                &[("from", "2026-02-01"), ("to", "2026-01-01")],
                SearchQueryError::EmptyDateRange,
            ),
            (&[("limit", "0")], SearchQueryError::BadLimit),
            (&[("limit", "501")], SearchQueryError::BadLimit),
            (&[("limit", "ten")], SearchQueryError::BadLimit),
            (&[("offset", "-1")], SearchQueryError::BadOffset),
            (
                &[("offset", "18446744073709551615")],
                SearchQueryError::BadOffset,
            ),
            (&[("category", "parking")], SearchQueryError::BadCategory),
        ];
        for (given, expected) in cases {
            assert_eq!(
                &SearchQuery::from_params(&params(given)).unwrap_err(),
                expected
            );
        }
        let long = "张".repeat(201);
        assert_eq!(
            SearchQuery::from_params(&params(&[("counterparty", &long)])).unwrap_err(),
            SearchQueryError::TooLong("counterparty")
        );
    }

    #[test]
    fn errors_and_debug_do_not_echo_values() {
        let err = SearchQuery::from_params(&params(&[("from", "张三")])).unwrap_err();
        assert!(!err.to_string().contains("张三"));
        let query = SearchQuery::from_params(&params(&[("counterparty", "张三")])).unwrap();
        assert!(!format!("{query:?}").contains("张三"));
    }
}
