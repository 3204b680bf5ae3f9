//! The search API's query: parsed from URL parameters once, validated, then handed to the view.

use base64::Engine as _;
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

/// The deepest `offset` accepted: an offset costs a walk over every record it skips, so deeper
/// pages are reached with `after` (keyset pagination), whose cost does not grow with depth.
pub const MAX_OFFSET: u64 = 10_000;

/// Matches are counted exactly up to this many; past it `total` is this number and
/// `total_exact` is false, unless the query asks for `count=exact`.
pub const COUNT_CAP: u64 = 1_000;

/// The longest value of a text parameter, in characters.
pub const MAX_TEXT_CHARS: usize = 200;

const PARAMETERS: &str =
    "q, counterparty, document_no, agency, category, from, to, limit, offset, after, count";

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
/// Results are ordered newest decision first (records without a date last), then by record_id
/// (byte order), so pages are stable. The next page is the one `after` the `next` cursor of a
/// result; `offset` skips matches and is kept for existing clients, up to [`MAX_OFFSET`].
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
    /// Only matches after this position in the result order (`after`, from a result's `next`).
    pub after: Option<Cursor>,
    /// Count every match, however many (`count=exact`); otherwise up to [`COUNT_CAP`].
    pub exact_total: bool,
}

/// A position in the result order: the sort date (`''` for an undated record) and record_id of
/// the last record of a page. Opaque to clients: URL-safe base64 of `v1|date|record_id`.
#[derive(Clone, PartialEq, Eq)]
pub struct Cursor {
    pub sort_date: String,
    pub record_id: String,
}

/// Record ids are not personal data, but a cursor has no business in a log line whole.
impl std::fmt::Debug for Cursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cursor")
            .field("sort_date", &self.sort_date)
            .finish_non_exhaustive()
    }
}

impl Cursor {
    pub fn encode(&self) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(format!("v1|{}|{}", self.sort_date, self.record_id))
    }

    /// `None` for anything [`Cursor::encode`] did not make.
    pub fn decode(text: &str) -> Option<Cursor> {
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(text)
            .ok()?;
        let text = String::from_utf8(bytes).ok()?;
        let rest = text.strip_prefix("v1|")?;
        let (sort_date, record_id) = rest.split_once('|')?;
        let date_ok = sort_date.is_empty() || parse_date(sort_date, "after").is_ok();
        let id_ok = !record_id.is_empty()
            && record_id.chars().count() <= crate::envelope::MAX_RECORD_ID_CHARS;
        (date_ok && id_ok).then(|| Cursor {
            sort_date: sort_date.to_owned(),
            record_id: record_id.to_owned(),
        })
    }
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
            after: None,
            exact_total: false,
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
            .field("after", &self.after.as_ref().map(|_| "***"))
            .field("exact_total", &self.exact_total)
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
    #[error("query parameter `offset` must be an integer from 0 to {MAX_OFFSET}; page further with `after`")]
    BadOffset,
    #[error("query parameter `after` must be the `next` value of an earlier result page")]
    BadCursor,
    #[error("query parameter `count` must be `exact` (or left out)")]
    BadCount,
    #[error("query parameter `category` must be one of licensing, penalty, coercion, levy, fee, inspection")]
    BadCategory,
    #[error("query parameter `{0}` is longer than {MAX_TEXT_CHARS} characters")]
    TooLong(&'static str),
    #[error("query parameter `{0}` contains a control character")]
    ControlCharacter(&'static str),
}

/// One page of results and how many records match in all.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SearchResult {
    /// How many records match: exact when `total_exact`, else a lower bound ([`COUNT_CAP`]).
    pub total: u64,
    pub total_exact: bool,
    pub records: Vec<Value>,
    /// The `after` value of the next page; `None` on the last page.
    pub next: Option<String>,
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
                "after" => "after",
                "count" => "count",
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
            if value.chars().count() > MAX_TEXT_CHARS {
                return Err(SearchQueryError::TooLong(name));
            }
            if value.chars().any(char::is_control) {
                return Err(SearchQueryError::ControlCharacter(name));
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
                        .filter(|o| *o <= MAX_OFFSET)
                        .ok_or(SearchQueryError::BadOffset)?
                }
                "after" => {
                    query.after = Some(Cursor::decode(value).ok_or(SearchQueryError::BadCursor)?)
                }
                "count" => {
                    if value != "exact" {
                        return Err(SearchQueryError::BadCount);
                    }
                    query.exact_total = true;
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
            (
                "after",
                &Cursor {
                    sort_date: "2026-01-02".into(),
                    record_id: "oa:1|x".into(),
                }
                .encode(),
            ),
            ("count", "exact"),
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
        let after = query.after.unwrap();
        assert_eq!(
            (after.sort_date.as_str(), after.record_id.as_str()),
            ("2026-01-02", "oa:1|x")
        );
        assert!(query.exact_total);
    }

    #[test]
    fn cursors_round_trip_and_anything_else_is_refused() {
        for cursor in [
            Cursor {
                sort_date: String::new(),
                record_id: "a".into(),
            },
            Cursor {
                sort_date: "2026-12-31".into(),
                record_id: "张|三:1".into(),
            },
        ] {
            assert_eq!(Cursor::decode(&cursor.encode()), Some(cursor));
        }
        let forged = |text: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text);
        for bad in [
            "".to_owned(),
            "!!".to_owned(),
            forged("v2|2026-01-01|a"),
            forged("v1|2026-13-01|a"),
            forged("v1|2026-01-01|"),
            forged("v1|x"),
            forged(&format!("v1||{}", "a".repeat(513))),
        ] {
            assert_eq!(Cursor::decode(&bad), None, "{bad}");
        }
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
            (&[("offset", "10001")], SearchQueryError::BadOffset),
            (
                &[("offset", "18446744073709551615")],
                SearchQueryError::BadOffset,
            ),
            (
                &[("after", "bm90IGEgY3Vyc29y")],
                SearchQueryError::BadCursor,
            ),
            (&[("count", "all")], SearchQueryError::BadCount),
            (&[("q", "a\u{0}b")], SearchQueryError::ControlCharacter("q")),
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
