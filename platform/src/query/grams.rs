//! Substring search through the gram index (`search_grams`, migration `20260401000002_grams`).
//!
//! Every visible record posts each distinct bigram and trigram of its folded counterparty name
//! (prefix `c`) and document number (prefix `d`) under the key (month, gram, sort_date, record).
//! A substring of two characters or more occurs only in texts that hold every one of its trigrams
//! (or, for two characters, the bigram itself), so the postings of its rarest gram are a
//! superset of its matches, and they are read newest first off the key, month by month
//! (`search_months`, newest first).
//!
//! A search with such a substring (`counterparty`, else `q`) reads candidates from *streams*,
//! each newest first, with every filter checked on the record itself (LIKE, category, agency,
//! dates, cursor):
//!
//! - the rarest gram's postings in each column the filter covers, kept only where the second
//!   rarest gram is posted too (a seek per posting, no record read);
//! - the bare prefix, under which a text too long to cut into grams is posted (SQLite);
//! - for `q`, its agency alternative: the agencies whose name holds it (a small table), read off
//!   the agency index.
//!
//! A stream stops after `offset + limit + 1` matches, however old; a common term stops at once,
//! a rare one after its few postings, and a common term whose matches are all old (a year inside
//! document numbers) after a page of them, not after a walk over every newer record. Within one
//! date a stream's order is by key, not by record_id: when a stream stops, the rest of the last
//! date it reached is read too, so every match down to that date is known and the page is cut
//! from them in result order.
//!
//! The total is counted the same way, through the same streams, up to [`crate::search::COUNT_CAP`] + 1.

use std::collections::{BTreeMap, HashSet};

use super::{fetch, records_page, result_order, Bind, Plan, Statement};
use crate::envelope::fold;
use crate::error::PlatformError;
use crate::search::Cursor;
use crate::view::Backend;
use sqlx::any::AnyRow;
use sqlx::{Any, Row};

/// Postings counted per gram, newest first, to find the rarest (see [`rank`]); a gram with that
/// many in the newest three months is common there, and the walk finds its page at once.
const PROBE_POSTINGS: i64 = 5_000;

/// Agencies a `q` may name before its agency alternative is read off the ordered index instead
/// of each agency's own: a string in that many names ("管理") is common, and found at once.
const AGENCY_NAMES_MERGED: usize = 64;

/// A column whose grams are posted.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Column {
    Counterparty,
    DocumentNo,
}

impl Column {
    fn prefix(self) -> &'static str {
        match self {
            Column::Counterparty => "c",
            Column::DocumentNo => "d",
        }
    }
}

/// Where candidates come from, newest first.
enum Stream {
    /// The postings of `gram`, only those that `also` has too when given.
    /// `bare`: a posting alone proves a match (Postgres, see [`bare_postings`]).
    Grams {
        gram: String,
        also: Option<String>,
        bare: bool,
    },
    /// The records of these agencies, each read off `records_agency_order`.
    Agencies(Vec<String>),
    /// The records of the agencies whose folded name is LIKE this pattern, in result order off
    /// `records_order`: for a pattern in more than [`AGENCY_NAMES_MERGED`] names.
    AgencyWalk(String),
}

/// What a stream's statement is for.
enum Mode<'m> {
    /// Matches after the cursor, newest first, at most this many per part.
    Page(i64),
    /// Every match after the cursor on this date.
    Day(&'m str),
    /// Record ids of matches, cursor ignored, up to the cap when given.
    Count(Option<i64>),
}

/// The grams every text holding `needle` (folded) holds: its trigrams, or the needle itself
/// when it is two characters; none for a single character (no gram is that short).
pub(super) fn needle_grams(needle: &str) -> Vec<String> {
    let chars: Vec<char> = needle.chars().collect();
    let mut grams: Vec<String> = match chars.len() {
        0 | 1 => Vec::new(),
        2 => vec![needle.to_owned()],
        _ => chars.windows(3).map(|w| w.iter().collect()).collect(),
    };
    grams.sort_unstable();
    grams.dedup();
    grams
}

/// The grams a record is posted under, as the JSON array `records.grams` holds: every distinct
/// bigram and trigram of its folded counterparty name (prefixed `c`) and document number (`d`).
/// Each is one of the [`needle_grams`] of any substring of the text, so a posting is found.
pub(crate) fn posted(counterparty: Option<&str>, document_no: Option<&str>) -> String {
    let mut grams: Vec<String> = Vec::new();
    for (prefix, text) in [("c", counterparty), ("d", document_no)] {
        let chars: Vec<char> = text.unwrap_or_default().chars().collect();
        for n in [2, 3] {
            for window in chars.windows(n) {
                let mut gram = String::with_capacity(1 + 4 * n);
                gram.push_str(prefix);
                gram.extend(window);
                grams.push(gram);
            }
        }
    }
    grams.sort_unstable();
    grams.dedup();
    serde_json::to_string(&grams).expect("a list of strings serializes")
}

/// The substring that drives a search through the grams, the columns it is looked for in, and
/// whether it is `q` (which also matches agency names): `counterparty` when it has two
/// characters or more, else `q`; `None` when neither has.
fn driving(plan: &Plan<'_>) -> Option<(String, &'static [Column], bool)> {
    let long = |v: &Option<String>| v.as_deref().map(fold).filter(|t| t.chars().count() >= 2);
    if let Some(needle) = long(&plan.query.counterparty) {
        return Some((needle, &[Column::Counterparty], false));
    }
    long(&plan.query.text).map(|needle| {
        (
            needle,
            &[Column::Counterparty, Column::DocumentNo] as &'static [Column],
            true,
        )
    })
}

/// The page, total and whether the total is exact, of a search with a substring of two
/// characters or more; `None` for any other search.
pub(super) async fn search(
    tx: &mut sqlx::Transaction<'static, Any>,
    plan: &Plan<'_>,
    cap: Option<i64>,
) -> Result<Option<(Vec<AnyRow>, u64, bool)>, PlatformError> {
    let Some((needle, columns, is_text)) = driving(plan) else {
        return Ok(None);
    };
    let bare = bare_postings(plan, &needle, is_text);
    let (mut streams, common) = gram_streams(tx, plan.backend, &needle, columns, bare).await?;
    if common {
        if let Some(found) = common_first_page(tx, plan, cap).await? {
            return Ok(Some(found));
        }
    }
    if let (true, Some(pattern)) = (is_text, &plan.text) {
        streams.extend(agency_stream(tx, pattern).await?);
    }

    let query = plan.query;
    let wanted = i64::try_from(query.offset)
        .unwrap_or(i64::MAX)
        .saturating_add(i64::from(query.limit) + 1);
    let mut found: Vec<Cursor> = Vec::new();
    // Every match on or after this date (in result order: dates at or above it) is in `found`.
    let mut complete_from: Option<String> = None;
    for stream in &streams {
        let rows = fetch(tx, &statement(plan, stream, Mode::Page(wanted))).await?;
        let mut parts: BTreeMap<String, (i64, String)> = BTreeMap::new();
        for row in &rows {
            let cursor = super::cursor_of(row)?;
            let part: String = row
                .try_get("part")
                .map_err(|_| PlatformError::CorruptRow { what: "part" })?;
            let entry = parts.entry(part).or_insert((0, cursor.sort_date.clone()));
            entry.0 += 1;
            if cursor.sort_date < entry.1 {
                entry.1 = cursor.sort_date.clone();
            }
            found.push(cursor);
        }
        // A part that stopped at `wanted` may have more matches on its last date: read them all.
        let mut days: Vec<String> = parts
            .into_values()
            .filter(|(n, _)| *n >= wanted)
            .map(|(_, day)| day)
            .collect();
        days.sort_unstable();
        days.dedup();
        for day in days {
            for row in fetch(tx, &statement(plan, stream, Mode::Day(&day))).await? {
                found.push(super::cursor_of(&row)?);
            }
            if complete_from.as_ref().is_none_or(|from| day > *from) {
                complete_from = Some(day);
            }
        }
    }
    if let Some(from) = &complete_from {
        found.retain(|c| c.sort_date >= *from);
    }
    found.sort_by(result_order);
    found.dedup_by(|a, b| a.record_id == b.record_id);
    let skip = usize::try_from(query.offset).unwrap_or(usize::MAX);
    let page: Vec<Cursor> = found
        .into_iter()
        .skip(skip)
        .take(query.limit as usize + 1)
        .collect();

    // The total, through the same streams.
    let mut matched: HashSet<String> = HashSet::new();
    let mut capped = false;
    for stream in &streams {
        let rows = fetch(tx, &statement(plan, stream, Mode::Count(cap))).await?;
        if cap.is_some_and(|cap| rows.len() as i64 >= cap) {
            capped = true;
        }
        for row in &rows {
            matched.insert(
                row.try_get("record_id")
                    .map_err(|_| PlatformError::CorruptRow { what: "record_id" })?,
            );
        }
    }
    let (total, exact) = super::total_of(query, matched.len() as u64, capped);
    let rows = records_page(tx, plan, &page).await?;
    Ok(Some((rows, total, exact)))
}

/// The first page of a term common in the newest records, with its capped total, read off the
/// newest [`super::WALK_WINDOW`] entries of the ordered index in one sequential read that stops
/// at the cap: cheaper than reading a record per posting to count a thousand matches. `None`
/// when the query is not a first page with a capped total, or the window holds fewer matches.
async fn common_first_page(
    tx: &mut sqlx::Transaction<'static, Any>,
    plan: &Plan<'_>,
    cap: Option<i64>,
) -> Result<Option<(Vec<AnyRow>, u64, bool)>, PlatformError> {
    let query = plan.query;
    let Some(cap) = cap else {
        return Ok(None);
    };
    if query.after.is_some() || query.offset != 0 {
        return Ok(None);
    }
    let rows = fetch(tx, &plan.window_matches(Some(cap))).await?;
    if (rows.len() as i64) < cap {
        return Ok(None);
    }
    let mut found = rows
        .iter()
        .map(super::cursor_of)
        .collect::<Result<Vec<_>, _>>()?;
    found.sort_by(result_order);
    found.truncate(query.limit as usize + 1);
    let (total, exact) = super::total_of(query, rows.len() as u64, true);
    let rows = records_page(tx, plan, &found).await?;
    Ok(Some((rows, total, exact)))
}

/// Whether a posting of the needle's gram proves a match without reading the record: on
/// Postgres, where a posting holds the record_id, for a needle that is its own gram (two or
/// three characters: any text posted under it holds it) and a query with no other filter to check
/// on the record (dates and cursor are on the posting's key). Postings exist only for visible
/// records.
fn bare_postings(plan: &Plan<'_>, needle: &str, is_text: bool) -> bool {
    let other_substring = if is_text {
        plan.counterparty.is_some()
    } else {
        plan.text.is_some()
    };
    plan.backend == Backend::Postgres
        && needle_grams(needle) == [needle]
        && !other_substring
        && plan.agency.is_none()
        && plan.query.category.is_none()
        && plan.query.document_no.is_none()
}

/// For each column: the postings of the needle's rarest gram there, with the second rarest as a
/// check; and whether even the rarest is common in the newest months. One statement counts them
/// all.
async fn gram_streams(
    tx: &mut sqlx::Transaction<'static, Any>,
    backend: Backend,
    needle: &str,
    columns: &[Column],
    bare: bool,
) -> Result<(Vec<Stream>, bool), PlatformError> {
    let grams = needle_grams(needle);
    let posted = |c: usize, g: usize| format!("{}{}", columns[c].prefix(), grams[g]);
    let mut s = Statement::default();
    let mut probed: Vec<(usize, usize)> = Vec::new();
    for c in 0..columns.len() {
        for g in 0..grams.len() {
            if !probed.is_empty() {
                s.push(" UNION ALL ");
            }
            probe(&mut s, backend, &posted(c, g), probed.len());
            probed.push((c, g));
        }
    }
    let mut counted: Vec<Vec<Counted>> = vec![Vec::with_capacity(grams.len()); columns.len()];
    for row in &fetch(tx, &s).await? {
        let n: i64 = row
            .try_get("n")
            .map_err(|_| PlatformError::CorruptRow { what: "probe" })?;
        let (column, gram) = usize::try_from(n)
            .ok()
            .and_then(|n| probed.get(n))
            .copied()
            .ok_or(PlatformError::CorruptRow { what: "probe" })?;
        let oldest: Option<String> = row
            .try_get("oldest")
            .map_err(|_| PlatformError::CorruptRow { what: "oldest" })?;
        counted[column].push(Counted {
            rank: rank(count(row, "postings")?, oldest.as_deref()),
            recent: count(row, "recent")?,
            column,
            gram,
        });
    }
    for column in &mut counted {
        column.sort();
    }
    // Even the rarest gram is common in the newest months, in some column.
    let common = counted.iter().any(|column| {
        column
            .first()
            .is_some_and(|first| first.recent >= PROBE_POSTINGS)
    });
    let mut streams = Vec::new();
    for column in &counted {
        // A gram with no postings: no text in this column holds the needle.
        if let Some(first) = column.first().filter(|first| first.rank > 0) {
            streams.push(Stream::Grams {
                gram: posted(first.column, first.gram),
                also: column
                    .get(1)
                    .map(|second| posted(second.column, second.gram)),
                bare,
            });
        }
    }
    Ok((streams, common))
}

/// How rare one of a needle's grams is in one column where a walk reads, newest first. Ordered
/// rarest first: by [`rank`], then by postings in the newest three months (up to
/// [`PROBE_POSTINGS`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Counted {
    rank: i64,
    recent: i64,
    column: usize,
    gram: usize,
}

/// How rare a gram is where a walk reads, newest month first, from its newest `postings` (up to
/// [`PROBE_POSTINGS`]) and the oldest month they reach: the count when it has fewer than that;
/// else ranked behind those by that month, the older the rarer. A walk reads the driving gram's
/// postings newest first until the page is full, so what it costs is how thick the gram is at
/// the newest end, not how many postings it has in all: of `有限公` and `物流有` (in
/// `物流有限公司`), both in tens of thousands of records, `有限公` fills the newest month and
/// `物流有` reaches back a year, and read through `有限公` the page took 41,000 postings for
/// 1,001 matches; of `25〕` and `5〕1` (in `25〕1`), both in none of this year's records,
/// `5〕1` is thin in the last months of 2025 (numbers count up through a year: 1xx is issued
/// early) and `25〕` is in every record of them.
fn rank(postings: i64, oldest: Option<&str>) -> i64 {
    if postings < PROBE_POSTINGS {
        return postings;
    }
    // `YYYY-MM` as YYYYMM; the undated month '' (read last) as 0.
    let month: i64 = oldest
        .unwrap_or_default()
        .chars()
        .filter(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .unwrap_or(0);
    PROBE_POSTINGS + month
}

/// `SELECT n, postings, oldest, recent` for `gram`: its newest postings, newest month first, up
/// to [`PROBE_POSTINGS`], the oldest month they reach, and how many of them are in the newest
/// three months. One read: the walk takes the newest months first, so it holds all of their
/// postings unless it stops inside them, and then they are common.
fn probe(s: &mut Statement, backend: Backend, gram: &str, n: usize) {
    // The third newest month ('' holds no date and sorts first, so with fewer months, all).
    s.push(&format!(
        "SELECT CAST({n} AS BIGINT) AS n, COUNT(*) AS postings, MIN(month) AS oldest, \
         COUNT(CASE WHEN month >= COALESCE((SELECT month FROM search_months \
         ORDER BY month DESC LIMIT 1 OFFSET 2), '') THEN 1 END) AS recent FROM ("
    ));
    match backend {
        Backend::Sqlite => {
            s.push(
                "SELECT month FROM search_grams WHERE month IN (SELECT month FROM search_months) \
                 AND gram = ",
            )
            .text(gram)
            .push(" ORDER BY month DESC LIMIT ");
        }
        Backend::Postgres => {
            // Postgres 15 reads `month IN (…)` in no order: a lateral walk per month, newest
            // month first, each stopping at the limit.
            s.push(
                "SELECT m.month FROM (SELECT month FROM search_months ORDER BY month DESC) AS m \
                 CROSS JOIN LATERAL (SELECT 1 FROM search_grams AS g WHERE g.month = m.month \
                 AND g.gram = ",
            )
            .text(gram)
            .push(" LIMIT ")
            .bind(Bind::Int(PROBE_POSTINGS))
            .push(") AS x LIMIT ");
        }
    }
    s.bind(Bind::Int(PROBE_POSTINGS)).push(") AS newest");
}

fn count(row: &AnyRow, name: &str) -> Result<i64, PlatformError> {
    row.try_get::<i64, _>(name)
        .map_err(|_| PlatformError::CorruptRow { what: "count" })
}

/// `q`'s agency alternative: the agencies whose name holds it, if any.
async fn agency_stream(
    tx: &mut sqlx::Transaction<'static, Any>,
    pattern: &str,
) -> Result<Option<Stream>, PlatformError> {
    let names = super::agency_names(tx, pattern).await?;
    Ok(if names.is_empty() {
        None
    } else if names.len() > AGENCY_NAMES_MERGED {
        Some(Stream::AgencyWalk(pattern.to_owned()))
    } else {
        Some(Stream::Agencies(names))
    })
}

/// The statement that reads `stream` for `mode`, every filter of the query checked on the record.
/// Page and day statements select `sort_date`, `record_id` and `part` (which of the stream's
/// separately ordered parts a row comes from); count statements select `record_id`.
fn statement(plan: &Plan<'_>, stream: &Stream, mode: Mode<'_>) -> Statement {
    let mut s = Statement::default();
    match stream {
        Stream::Grams { gram, also, bare } => {
            postings(plan, &mut s, gram, also.as_deref(), *bare, &mode)
        }
        Stream::Agencies(names) => match mode {
            Mode::Count(_) => {
                s.push("SELECT record_id")
                    .push(&plan.from("records_agency_order"))
                    .push(" WHERE state = 'visible' AND agency_name IN (");
                for (n, name) in names.iter().enumerate() {
                    if n > 0 {
                        s.push(", ");
                    }
                    s.text(name);
                }
                s.push(")");
                plan.order_filters(&mut s, "", false);
                plan.value_filters(&mut s, "");
            }
            _ => {
                for (n, name) in names.iter().enumerate() {
                    if n > 0 {
                        s.push(" UNION ALL ");
                    }
                    s.push("SELECT sort_date, record_id, part FROM (SELECT sort_date, record_id, agency_name AS part")
                        .push(&plan.from("records_agency_order"))
                        .push(" WHERE state = 'visible' AND agency_name = ")
                        .text(name);
                    plan.order_filters(&mut s, "", false);
                    mode_filters(plan, &mut s, "", &mode);
                    plan.value_filters(&mut s, "");
                    page_order(plan, &mut s, &mode);
                    s.push(&format!(") AS a{n}"));
                }
            }
        },
        Stream::AgencyWalk(pattern) => {
            match mode {
                Mode::Count(_) => s.push("SELECT record_id"),
                _ => s.push("SELECT sort_date, record_id, '' AS part"),
            };
            s.push(&plan.from("records_order"))
                .push(" WHERE state = 'visible' AND agency_name IN (SELECT name FROM agencies WHERE fold LIKE ")
                .text(pattern)
                .push(" ESCAPE '\\')");
            plan.order_filters(&mut s, "", false);
            mode_filters(plan, &mut s, "", &mode);
            plan.value_filters(&mut s, "");
            page_order(plan, &mut s, &mode);
        }
    }
    if let Mode::Count(Some(cap)) = mode {
        s.push(" LIMIT ").bind(Bind::Int(cap));
    }
    s
}

/// A gram stream's statement: the postings of `gram` (and `also`), month by month newest first,
/// each joined to its record for the checks.
fn postings(
    plan: &Plan<'_>,
    s: &mut Statement,
    gram: &str,
    also: Option<&str>,
    bare: bool,
    mode: &Mode<'_>,
) {
    let columns = match mode {
        Mode::Count(_) => "r.record_id",
        _ => "r.sort_date, r.record_id, '' AS part",
    };
    // On the postings' key: the gram, and the dates and cursor, where they bound the range read
    // (the cursor's tie-break by record_id is on the record).
    let key_checks = |s: &mut Statement| {
        s.push(" AND g.gram = ").text(gram);
        plan.order_filters(s, "g.", false);
        mode_filters(plan, s, "g.", mode);
    };
    // On each posting's record (on SQLite also its second gram; Postgres joins it, below).
    let record_checks = |s: &mut Statement| {
        if let (Some(also), Backend::Sqlite) = (also, plan.backend) {
            s.push(" AND EXISTS (SELECT 1 FROM search_grams AS a WHERE a.month = g.month")
                .push(" AND a.gram = ")
                .text(also)
                .push(" AND a.sort_date = g.sort_date AND a.record = g.record)");
        }
        s.push(" AND r.state = 'visible'");
        plan.value_filters(s, "r.");
    };
    let months = |s: &mut Statement| {
        s.push("SELECT month FROM search_months WHERE 1 = 1");
        let month = plan.ordered("month");
        if let Some(from) = &plan.from {
            s.push(&format!(" AND {month} >= ")).text(&month_of(from));
        }
        if let Some(to) = &plan.to {
            s.push(&format!(" AND {month} <= ")).text(&month_of(to));
        }
        if let (false, Some(cursor)) = (matches!(mode, Mode::Count(_)), &plan.query.after) {
            s.push(&format!(" AND {month} <= "))
                .text(&month_of(&cursor.sort_date));
        }
    };
    let newest_first = format!(
        "{} DESC, {} DESC",
        plan.ordered("g.sort_date"),
        plan.ordered("g.record")
    );
    match plan.backend {
        Backend::Sqlite => {
            // CROSS JOIN keeps the postings as the outer loop; `month IN (…)` is read in the
            // ORDER BY's order, one month after the other, and the LIMIT stops the walk.
            s.push(&format!(
                "SELECT {columns} FROM search_grams AS g CROSS JOIN records AS r ON r.id = g.record"
            ));
            if let Mode::Day(day) = mode {
                s.push(" WHERE g.month = ").text(&month_of(day));
            } else {
                s.push(" WHERE g.month IN (");
                months(s);
                s.push(")");
            }
            key_checks(s);
            record_checks(s);
            if let Mode::Page(limit) = mode {
                s.push(&format!(" ORDER BY g.month DESC, {newest_first}"))
                    .push(" LIMIT ")
                    .bind(Bind::Int(*limit));
            }
        }
        Backend::Postgres => {
            // Postgres 15 reads `month IN (…)` in no order: a lateral walk per month, newest
            // month first, each a backward scan of the key that stops at the limit. Each
            // posting's record is looked up behind an optimization fence (OFFSET 0): joined
            // freely, the planner hashed a month's postings and scanned the view for them. The
            // record_id comparison is in the records table's collation, so its key is used.
            let posting = |s: &mut Statement| {
                if bare {
                    s.push(&format!(
                        "SELECT {columns} FROM search_grams AS g CROSS JOIN LATERAL \
                         (SELECT g.sort_date AS sort_date, g.record AS record_id) AS r \
                         WHERE g.month = "
                    ));
                    return;
                }
                s.push(&format!("SELECT {columns} FROM search_grams AS g"));
                // The second gram as a join, not a probe per posting: both lists are read in key
                // order and merged (for `1〕11` a count went from 25,000 probes in 70 ms to 10 ms).
                if let Some(also) = also {
                    s.push(" JOIN search_grams AS a ON a.month = g.month AND a.gram = ")
                        .text(also)
                        .push(" AND a.sort_date = g.sort_date AND a.record = g.record");
                }
                s.push(
                    " CROSS JOIN LATERAL (SELECT r.sort_date, r.record_id FROM records AS r \
                     WHERE r.record_id = g.record COLLATE \"default\"",
                );
                record_checks(s);
                s.push(" OFFSET 0) AS r WHERE g.month = ");
            };
            if let Mode::Day(day) = mode {
                posting(s);
                s.text(&month_of(day));
                key_checks(s);
                return;
            }
            s.push("SELECT x.* FROM (");
            months(s);
            s.push(" ORDER BY month DESC) AS m CROSS JOIN LATERAL (");
            posting(s);
            s.push("m.month");
            key_checks(s);
            match mode {
                Mode::Page(limit) => {
                    s.push(&format!(" ORDER BY {newest_first}"))
                        .push(" LIMIT ")
                        .bind(Bind::Int(*limit))
                        .push(") AS x LIMIT ")
                        .bind(Bind::Int(*limit));
                }
                Mode::Count(Some(cap)) => {
                    s.push(" LIMIT ").bind(Bind::Int(*cap)).push(") AS x");
                }
                _ => {
                    s.push(") AS x");
                }
            }
        }
    }
}

/// The month of a sort date as `search_grams` keys it: `YYYY-MM`, or `''` for no date.
fn month_of(date: &str) -> String {
    date.chars().take(7).collect()
}

/// ` ORDER BY … LIMIT` in result order, for a page.
fn page_order(plan: &Plan<'_>, s: &mut Statement, mode: &Mode<'_>) {
    if let Mode::Page(limit) = mode {
        s.push(&plan.order_by(""));
        s.push(" LIMIT ").bind(Bind::Int(*limit));
    }
}

/// ` AND …` for the cursor (page and day) and the date (day): the date on `alias`'s sort_date,
/// the cursor's record_id on the record (`r.` for postings, else `alias`).
fn mode_filters(plan: &Plan<'_>, s: &mut Statement, alias: &str, mode: &Mode<'_>) {
    if let Mode::Count(_) = mode {
        return;
    }
    if let Some(cursor) = &plan.query.after {
        let date = plan.ordered(&format!("{alias}sort_date"));
        let record_alias = if alias == "g." { "r." } else { alias };
        let id = plan.ordered(&format!("{record_alias}record_id"));
        s.push(&format!(" AND {date} <= ")).text(&cursor.sort_date);
        s.push(&format!(" AND ({date} < "))
            .text(&cursor.sort_date)
            .push(&format!(" OR {id} > "))
            .text(&cursor.record_id)
            .push(")");
    }
    if let Mode::Day(day) = mode {
        let date = plan.ordered(&format!("{alias}sort_date"));
        s.push(&format!(" AND {date} = ")).text(day);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counted(gram: usize, postings: i64, oldest: &str, recent: i64) -> Counted {
        Counted {
            rank: rank(postings, Some(oldest)),
            recent,
            column: 0,
            gram,
        }
    }

    fn rarest_first(mut column: Vec<Counted>) -> Vec<usize> {
        column.sort();
        column.iter().map(|c| c.gram).collect()
    }

    #[test]
    fn the_gram_thin_at_the_newest_end_drives_the_walk() {
        let all = PROBE_POSTINGS;
        // 物流有限公司: 有限公 (0) and 限公司 (3) fill the newest month; 物流有 (1) and 流有限 (2)
        // reach back a year.
        let order = rarest_first(vec![
            counted(0, all, "2026-06", all),
            counted(1, all, "2025-07", 763),
            counted(2, all, "2025-07", 763),
            counted(3, all, "2026-06", all),
        ]);
        assert_eq!(order, vec![1, 2, 0, 3]);
        // 25〕1: in none of the newest months; 25〕 (0) fills the last months of 2025, 5〕1 (1)
        // reaches back to its first ones.
        assert_eq!(
            rarest_first(vec![
                counted(0, all, "2025-09", 0),
                counted(1, all, "2025-02", 0)
            ]),
            vec![1, 0]
        );
        // Fewer postings than the limit: rarer than any that has the limit, however old.
        assert_eq!(
            rarest_first(vec![
                counted(0, all, "", 0),
                counted(1, all - 1, "2026-06", 9)
            ]),
            vec![1, 0]
        );
        // Alike where the walk reads: the fewer in the newest months.
        assert_eq!(
            rarest_first(vec![
                counted(0, all, "2024-01", 30),
                counted(1, all, "2024-01", 20)
            ]),
            vec![1, 0]
        );
    }

    #[test]
    fn a_rank_is_the_count_below_the_limit_and_the_month_reached_above_it() {
        assert_eq!(rank(0, None), 0, "no postings: nothing holds the needle");
        assert_eq!(rank(17, Some("2021-01")), 17);
        assert_eq!(
            rank(PROBE_POSTINGS, Some("2025-09")),
            PROBE_POSTINGS + 202_509
        );
        assert_eq!(
            rank(PROBE_POSTINGS, Some("")),
            PROBE_POSTINGS,
            "undated: last"
        );
    }

    #[test]
    fn needles_are_cut_into_the_grams_every_match_holds() {
        assert!(needle_grams("鑫").is_empty());
        assert_eq!(needle_grams("张某"), vec!["张某"]);
        assert_eq!(needle_grams("鑫源商贸"), vec!["源商贸", "鑫源商"]);
        assert_eq!(needle_grams("aaaa"), vec!["aaa"]);
    }

    #[test]
    fn records_are_posted_under_every_gram_of_every_substring() {
        assert_eq!(posted(None, None), "[]");
        assert_eq!(posted(Some("张"), None), "[]");
        assert_eq!(
            posted(Some("张某"), Some("a\"b\"a\"")),
            r#"["c张某","d\"a","d\"a\"","d\"b","d\"b\"","da\"","da\"b","db\"","db\"a"]"#
        );
        for needle in ["鑫源", "源商贸", "鑫源商贸有"] {
            let posted: Vec<String> =
                serde_json::from_str(&posted(Some("某鑫源商贸有限公司"), None)).unwrap();
            for gram in needle_grams(needle) {
                assert!(posted.contains(&format!("c{gram}")), "{needle}: {gram}");
            }
        }
    }
}
