//! How a [`SearchQuery`] runs against the view, fast at a province's scale (a million records).
//!
//! Every page is in one order (newest decision first, then record_id), and the `records_order`
//! index holds the view in that order together with the columns the filters test. A query with
//! only order-friendly filters (category, dates, document number) reads its page straight off
//! the right index.
//!
//! A query with a `counterparty` or `q` substring of two characters or more goes through the
//! gram index ([`grams`]): the postings of its rarest gram, read newest first, stop at a page.
//!
//! Any other substring filter (an `agency`, a one-character `q` or `counterparty`, which no gram
//! is short enough to find) runs in steps:
//!
//! 1. **agency**: an agency filter alone reads each matching agency's first entries off the
//!    agency index.
//! 2. **walk**: read the ordered index from the cursor on, testing each entry, but only the next
//!    `walk_window` ([`WALK_WINDOW`]) entries. If they hold the page, the page is exact, and
//!    common terms (most searches) end here.
//! 3. **positions**: list the matches' positions through the agency or category index, or the
//!    ordered index, up to [`COUNT_CAP`] + 1. That count is the total. When the list is complete,
//!    the page is picked from it and only its records are read.
//! 4. **long walk**: more matches than the cap and none recent: the walk goes on without a
//!    window until the page is full.
//!
//! A rare single character therefore still costs a walk of the view (platform README, Known
//! limits).
//!
//! Totals: exact for a query without filters (counters kept by triggers), else counted up to
//! [`COUNT_CAP`] unless `count=exact`.
//!
//! Every value reaches SQL as a bound parameter; the only text spliced into SQL is this module's
//! own (column names, placeholders, index names).

use serde_json::Value;
use sqlx::any::AnyRow;
use sqlx::{Any, AnyPool, Row};

use crate::envelope::fold;
use crate::error::PlatformError;
use crate::search::{Cursor, SearchQuery, SearchResult, COUNT_CAP};
use crate::view::Backend;

mod grams;

pub(crate) use grams::posted as posted_grams;

/// How many index entries a walk looks at before it gives up for the candidate path. About
/// 20 ms of reading on either database; a term in more than 1 of ~400 records fills a page of 50
/// within it.
pub const WALK_WINDOW: u32 = 20_000;

/// A statement under construction: `$N` placeholders and their values, numbered in order.
#[derive(Default)]
struct Statement {
    sql: String,
    binds: Vec<Bind>,
}

#[derive(Clone)]
enum Bind {
    Text(String),
    Int(i64),
}

impl Statement {
    fn push(&mut self, sql: &str) -> &mut Statement {
        self.sql.push_str(sql);
        self
    }

    /// Appends a placeholder for `value`. Each use gets its own number: reusing `$1` works on
    /// Postgres but relies on SQLite treating `$1` as a named parameter.
    fn bind(&mut self, value: Bind) -> &mut Statement {
        self.binds.push(value);
        self.sql.push('$');
        self.sql.push_str(&self.binds.len().to_string());
        self
    }

    fn text(&mut self, value: &str) -> &mut Statement {
        self.bind(Bind::Text(value.to_owned()))
    }

    fn query(&self) -> sqlx::query::Query<'_, Any, sqlx::any::AnyArguments<'_>> {
        let mut query = sqlx::query(&self.sql);
        for value in &self.binds {
            query = match value {
                Bind::Text(text) => query.bind(text.clone()),
                Bind::Int(int) => query.bind(*int),
            };
        }
        query
    }
}

/// The query, compiled once into what the statements need.
struct Plan<'a> {
    backend: Backend,
    walk_window: u32,
    query: &'a SearchQuery,
    /// LIKE patterns over folded text.
    text: Option<String>,
    counterparty: Option<String>,
    agency: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

impl<'a> Plan<'a> {
    fn new(backend: Backend, walk_window: u32, query: &'a SearchQuery) -> Plan<'a> {
        let pattern = |v: &Option<String>| v.as_deref().map(|t| like_pattern(&fold(t)));
        Plan {
            backend,
            walk_window,
            query,
            text: pattern(&query.text),
            counterparty: pattern(&query.counterparty),
            agency: pattern(&query.agency),
            from: query.decided_from.map(|d| d.format("%Y-%m-%d").to_string()),
            to: query.decided_to.map(|d| d.format("%Y-%m-%d").to_string()),
        }
    }

    fn has_substring_filter(&self) -> bool {
        self.text.is_some() || self.counterparty.is_some() || self.agency.is_some()
    }

    fn has_filter(&self) -> bool {
        self.has_substring_filter()
            || self.query.document_no.is_some()
            || self.query.category.is_some()
            || self.from.is_some()
            || self.to.is_some()
    }

    /// A column in the result order's collation: byte order on Postgres, whose default would
    /// be the database locale's (SQLite compares bytes already).
    fn ordered(&self, column: &str) -> String {
        match self.backend {
            Backend::Sqlite => column.to_owned(),
            Backend::Postgres => format!("{column} COLLATE \"C\""),
        }
    }

    fn order_by(&self, alias: &str) -> String {
        format!(
            " ORDER BY {} DESC, {}",
            self.ordered(&format!("{alias}sort_date")),
            self.ordered(&format!("{alias}record_id"))
        )
    }

    /// `FROM records` with the index to use on SQLite (its planner has no statistics to choose
    /// by); Postgres chooses by itself.
    fn from(&self, index: &str) -> String {
        match self.backend {
            Backend::Sqlite => format!(" FROM records INDEXED BY {index}"),
            Backend::Postgres => " FROM records".to_owned(),
        }
    }

    /// ` AND …` for the dates and, when `with_cursor`, the position after the cursor.
    fn order_filters(&self, s: &mut Statement, alias: &str, with_cursor: bool) {
        let date = self.ordered(&format!("{alias}sort_date"));
        if let Some(from) = &self.from {
            s.push(&format!(" AND {date} >= ")).text(from);
        }
        if let Some(to) = &self.to {
            // '' (no date) sorts below every date: exclude it explicitly.
            s.push(&format!(" AND {date} <= ")).text(to);
            s.push(&format!(" AND {date} > ''"));
        }
        if let (true, Some(cursor)) = (with_cursor, &self.query.after) {
            self.after(s, alias, cursor, true);
        }
    }

    /// ` AND` the position is after `cursor` (or, `strictly == false`, at or before it).
    fn after(&self, s: &mut Statement, alias: &str, cursor: &Cursor, strictly: bool) {
        let date = self.ordered(&format!("{alias}sort_date"));
        let id = self.ordered(&format!("{alias}record_id"));
        // The first bound alone is a range on the index; the OR settles ties within one date.
        let (bound, later, id_cmp) = if strictly {
            ("<=", "<", ">")
        } else {
            (">=", ">", "<=")
        };
        s.push(&format!(" AND {date} {bound} "))
            .text(&cursor.sort_date);
        s.push(&format!(" AND ({date} {later} "))
            .text(&cursor.sort_date);
        s.push(&format!(" OR ({date} = "))
            .text(&cursor.sort_date)
            .push(&format!(" AND {id} {id_cmp} "))
            .text(&cursor.record_id)
            .push("))");
    }

    /// ` AND …` for every filter that is not about the order.
    fn value_filters(&self, s: &mut Statement, alias: &str) {
        let agency_names = "SELECT name FROM agencies WHERE fold LIKE ";
        if let Some(p) = &self.text {
            s.push(&format!(" AND ({alias}counterparty_name_fold LIKE "))
                .text(p)
                .push(" ESCAPE '\\'");
            s.push(&format!(" OR {alias}document_no_fold LIKE "))
                .text(p)
                .push(" ESCAPE '\\'");
            s.push(&format!(" OR {alias}agency_name IN ({agency_names}"))
                .text(p)
                .push(" ESCAPE '\\'))");
        }
        if let Some(p) = &self.counterparty {
            s.push(&format!(" AND {alias}counterparty_name_fold LIKE "))
                .text(p)
                .push(" ESCAPE '\\'");
        }
        if let Some(p) = &self.agency {
            s.push(&format!(" AND {alias}agency_name IN ({agency_names}"))
                .text(p)
                .push(" ESCAPE '\\')");
        }
        if let Some(document_no) = &self.query.document_no {
            s.push(&format!(" AND {alias}document_no = "))
                .text(document_no);
        }
        if let Some(category) = &self.query.category {
            s.push(&format!(" AND {alias}category = ")).text(category);
        }
    }

    /// ` LIMIT page+1 OFFSET skip`: one more than the page, to know whether a next page exists.
    fn page_limit(&self, s: &mut Statement) {
        s.push(" LIMIT ")
            .bind(Bind::Int(i64::from(self.query.limit) + 1))
            .push(" OFFSET ")
            .bind(Bind::Int(
                i64::try_from(self.query.offset).unwrap_or(i64::MAX),
            ));
    }

    /// The page read straight off one index, all filters applied: exact, and fast when the
    /// index is the right one (see [`Plan::direct_index`]).
    fn direct(&self, index: &str) -> Statement {
        let mut s = Statement::default();
        s.push("SELECT record_json, sort_date, record_id")
            .push(&self.from(index))
            .push(" WHERE state = 'visible'");
        self.order_filters(&mut s, "", true);
        self.value_filters(&mut s, "");
        s.push(&self.order_by(""));
        self.page_limit(&mut s);
        s
    }

    fn direct_index(&self) -> &'static str {
        if self.query.document_no.is_some() {
            "records_document_no"
        } else if self.query.category.is_some() {
            "records_category_order"
        } else {
            "records_order"
        }
    }

    /// The position `walk_window` entries after the cursor (dates applied), if there is one.
    fn window_end(&self) -> Statement {
        let mut s = Statement::default();
        s.push("SELECT sort_date, record_id")
            .push(&self.from("records_order"))
            .push(" WHERE state = 'visible'");
        self.order_filters(&mut s, "", true);
        s.push(&self.order_by(""));
        s.push(" LIMIT 1 OFFSET ")
            .bind(Bind::Int(i64::from(self.walk_window) - 1));
        s
    }

    /// The matches among the first `walk_window` entries of the ordered index (dates applied,
    /// no cursor), in result order, up to `cap` when given: on a first page, one read of the
    /// window gives the page and, for a common term (`cap` matches found there), the capped
    /// total too, stopping as soon as it has them.
    fn window_matches(&self, cap: Option<i64>) -> Statement {
        let mut s = Statement::default();
        s.push(
            "SELECT w.sort_date, w.record_id FROM (SELECT sort_date, record_id, \
             counterparty_name_fold, document_no_fold, agency_name, category",
        );
        if self.query.document_no.is_some() {
            s.push(", document_no");
        }
        s.push(&self.from("records_order"))
            .push(" WHERE state = 'visible'");
        self.order_filters(&mut s, "", false);
        s.push(&self.order_by(""));
        s.push(" LIMIT ")
            .bind(Bind::Int(i64::from(self.walk_window)));
        // The window's own order carries through: both databases stream a subquery's rows in
        // its ORDER BY, so the outer LIMIT stops early (the caller sorts again all the same).
        s.push(") AS w WHERE 1 = 1");
        self.value_filters(&mut s, "w.");
        if let Some(cap) = cap {
            s.push(" LIMIT ").bind(Bind::Int(cap));
        }
        s
    }

    /// The first `per_name` positions (cursor and every other filter applied) of each agency in
    /// `names`, each read in order off `records_agency_order`: together they hold the page.
    fn agency_tops(&self, names: &[String], per_name: i64) -> Statement {
        let others = Plan {
            agency: None,
            text: None,
            counterparty: None,
            from: self.from.clone(),
            to: self.to.clone(),
            ..*self
        };
        let mut s = Statement::default();
        for (n, name) in names.iter().enumerate() {
            if n > 0 {
                s.push(" UNION ALL ");
            }
            s.push("SELECT sort_date, record_id FROM (SELECT sort_date, record_id")
                .push(&self.from("records_agency_order"))
                .push(" WHERE state = 'visible' AND agency_name = ")
                .text(name);
            others.order_filters(&mut s, "", true);
            others.value_filters(&mut s, "");
            s.push(&self.order_by(""));
            s.push(" LIMIT ").bind(Bind::Int(per_name));
            s.push(&format!(") AS a{n}"));
        }
        s
    }

    /// The positions of the page among the entries up to `end` (the whole rest when `None`).
    /// Positions only: the walk then reads the ordered index alone (an index-only scan on
    /// Postgres), and the page's few records are read afterwards.
    fn walk(&self, end: Option<&Cursor>) -> Statement {
        let mut s = Statement::default();
        s.push("SELECT sort_date, record_id")
            .push(&self.from("records_order"))
            .push(" WHERE state = 'visible'");
        self.order_filters(&mut s, "", true);
        if let Some(end) = end {
            self.after(&mut s, "", end, false);
        }
        self.value_filters(&mut s, "");
        s.push(&self.order_by(""));
        self.page_limit(&mut s);
        s
    }

    /// The statement that lists the position (`sort_date`, `record_id`) of every match, cursor
    /// ignored, up to `cap` rows when given, through the agency, category or ordered index (the
    /// searches left to these steps have no gram to look up).
    fn match_positions(&self, cap: Option<i64>) -> Statement {
        let index = if self.agency.is_some() {
            "records_agency_order"
        } else if self.query.category.is_some() {
            "records_category_order"
        } else {
            "records_order"
        };
        let mut s = Statement::default();
        s.push("SELECT r.sort_date, r.record_id FROM records AS r");
        if self.backend == Backend::Sqlite {
            s.push(&format!(" INDEXED BY {index}"));
        }
        s.push(" WHERE r.state = 'visible'");
        self.order_filters(&mut s, "r.", false);
        self.value_filters(&mut s, "r.");
        if let Some(cap) = cap {
            s.push(" LIMIT ").bind(Bind::Int(cap));
        }
        s
    }

    /// The plain count of a query without substring filters, up to `cap` when given.
    fn count(&self, cap: Option<i64>) -> Statement {
        let mut s = Statement::default();
        s.push("SELECT COUNT(*) AS total FROM (SELECT 1 FROM records WHERE state = 'visible'");
        self.order_filters(&mut s, "", false);
        self.value_filters(&mut s, "");
        if let Some(cap) = cap {
            s.push(" LIMIT ").bind(Bind::Int(cap));
        }
        s.push(") AS m");
        s
    }

    /// The records at `positions` (at most a page and one), for a page picked from them.
    fn records_at(&self, positions: &[Cursor]) -> Statement {
        let mut s = Statement::default();
        s.push("SELECT record_json, sort_date, record_id FROM records WHERE state = 'visible' AND record_id IN (");
        for (n, position) in positions.iter().enumerate() {
            if n > 0 {
                s.push(", ");
            }
            s.text(&position.record_id);
        }
        s.push(")");
        s.push(&self.order_by(""));
        s
    }
}

/// The result order of two positions: newest date first, then record_id in byte order.
fn result_order(a: &Cursor, b: &Cursor) -> std::cmp::Ordering {
    b.sort_date
        .cmp(&a.sort_date)
        .then_with(|| a.record_id.as_bytes().cmp(b.record_id.as_bytes()))
}

/// Every match's position, sorted, and whether that is all of them (the list stopped short of
/// `cap`).
async fn positions(
    tx: &mut sqlx::Transaction<'static, Any>,
    plan: &Plan<'_>,
    cap: Option<i64>,
) -> Result<(Vec<Cursor>, bool), PlatformError> {
    let rows = fetch(tx, &plan.match_positions(cap)).await?;
    let complete = cap.is_none_or(|cap| (rows.len() as i64) < cap);
    let mut all = rows.iter().map(cursor_of).collect::<Result<Vec<_>, _>>()?;
    all.sort_by(result_order);
    Ok((all, complete))
}

/// Runs `query`: the page, its `next` cursor and the total.
pub(crate) async fn search(
    pool: &AnyPool,
    backend: Backend,
    walk_window: u32,
    query: &SearchQuery,
) -> Result<SearchResult, PlatformError> {
    let plan = Plan::new(backend, walk_window, query);
    // One transaction, so the total and the page describe the same moment.
    let mut tx = pool
        .begin()
        .await
        .map_err(PlatformError::database("begin a search"))?;
    // Up to this many matches are counted (and listed) exactly.
    let cap = (!query.exact_total).then(|| i64::try_from(COUNT_CAP).unwrap_or(i64::MAX) + 1);
    let counted = |n: usize| -> (u64, bool) {
        let n = n as u64;
        if query.exact_total || n <= COUNT_CAP {
            (n, true)
        } else {
            (COUNT_CAP, false)
        }
    };
    let (rows, total, total_exact) = if !plan.has_substring_filter() {
        let rows = fetch(&mut tx, &plan.direct(plan.direct_index())).await?;
        let (total, exact) = if plan.has_filter() {
            let row = plan
                .count(cap)
                .query()
                .fetch_one(&mut *tx)
                .await
                .map_err(PlatformError::database("count search results"))?;
            let n = row
                .try_get::<i64, _>("total")
                .ok()
                .and_then(|n| usize::try_from(n).ok())
                .ok_or(PlatformError::CorruptRow { what: "total" })?;
            counted(n)
        } else {
            let row = sqlx::query("SELECT visible FROM view_counts WHERE id = 1")
                .fetch_one(&mut *tx)
                .await
                .map_err(PlatformError::database("count search results"))?;
            let visible = row
                .try_get::<i64, _>("visible")
                .ok()
                .and_then(|v| u64::try_from(v).ok())
                .ok_or(PlatformError::CorruptRow { what: "visible" })?;
            (visible, true)
        };
        (rows, total, exact)
    } else if let Some(found) = grams::search(&mut tx, &plan, cap).await? {
        found
    } else if let Some(found) = agency_page(&mut tx, &plan, cap).await? {
        found
    } else {
        let window = first_page_from_window(&mut tx, &plan, cap).await?;
        if let Window::Settled(found) = window {
            found
        } else {
            // A first page whose window held no page: walking that window again would find none.
            let (walked, walk_is_enough) = if let Window::NoPage = window {
                (Vec::new(), false)
            } else {
                let end = plan
                    .window_end()
                    .query()
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(PlatformError::database("read search results"))?
                    .map(|row| cursor_of(&row))
                    .transpose()?;
                let walked = fetch(&mut tx, &plan.walk(end.as_ref())).await?;
                let walk_is_enough = end.is_none() || walked.len() > query.limit as usize;
                (walked, walk_is_enough)
            };
            let walked = if walk_is_enough {
                let page = walked
                    .iter()
                    .map(cursor_of)
                    .collect::<Result<Vec<_>, _>>()?;
                records_page(&mut tx, &plan, &page).await?
            } else {
                Vec::new()
            };
            // The matches' positions through the filters' own indexes: the total, and (when they
            // are all there) the page too, without sorting whole records.
            let (matches, complete) = positions(&mut tx, &plan, cap).await?;
            let (total, exact) = counted(matches.len());
            let rows = if walk_is_enough {
                walked
            } else if complete {
                let skip = usize::try_from(query.offset).unwrap_or(usize::MAX);
                let page: Vec<Cursor> = matches
                    .into_iter()
                    .filter(|m| {
                        query
                            .after
                            .as_ref()
                            .is_none_or(|after| result_order(after, m).is_lt())
                    })
                    .skip(skip)
                    .take(query.limit as usize + 1)
                    .collect();
                records_page(&mut tx, &plan, &page).await?
            } else {
                // Many matches, none of them recent (a year in the document number, a name that
                // only appears in old decisions): walking on is cheaper than sorting them all.
                let rows = fetch(&mut tx, &plan.walk(None)).await?;
                let page = rows.iter().map(cursor_of).collect::<Result<Vec<_>, _>>()?;
                records_page(&mut tx, &plan, &page).await?
            };
            (rows, total, exact)
        }
    };
    tx.commit()
        .await
        .map_err(PlatformError::database("finish a search"))?;

    let limit = query.limit as usize;
    let next = if rows.len() > limit {
        Some(cursor_of(&rows[limit - 1])?.encode())
    } else {
        None
    };
    let records = rows
        .iter()
        .take(limit)
        .map(|row| {
            let text: String =
                row.try_get("record_json")
                    .map_err(|_| PlatformError::CorruptRow {
                        what: "record_json",
                    })?;
            serde_json::from_str::<Value>(&text).map_err(|_| PlatformError::CorruptRow {
                what: "record_json",
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(SearchResult {
        total,
        total_exact,
        records,
        next,
    })
}

/// Agencies a query may name before [`agency_page`] leaves it to the walk: a substring in that
/// many names ("局") is common, and the walk finds its page at once.
const AGENCY_NAMES_MERGED: usize = 64;

/// The page of a query whose only substring filter is the agency: the agency names it matches
/// (a small table), the first positions of each read in order off the agency index, merged;
/// the total through the same index, capped. `None` when the query has other substrings or
/// matches too many names.
async fn agency_page(
    tx: &mut sqlx::Transaction<'static, Any>,
    plan: &Plan<'_>,
    cap: Option<i64>,
) -> Result<Option<(Vec<AnyRow>, u64, bool)>, PlatformError> {
    let (Some(pattern), None, None) = (&plan.agency, &plan.text, &plan.counterparty) else {
        return Ok(None);
    };
    let names = agency_names(tx, pattern).await?;
    if names.len() > AGENCY_NAMES_MERGED {
        return Ok(None);
    }
    let query = plan.query;
    let per_name = i64::try_from(query.offset)
        .unwrap_or(i64::MAX)
        .saturating_add(i64::from(query.limit) + 1);
    let mut tops = Vec::new();
    if !names.is_empty() {
        for row in fetch(tx, &plan.agency_tops(&names, per_name)).await? {
            tops.push(cursor_of(&row)?);
        }
    }
    tops.sort_by(result_order);
    let skip = usize::try_from(query.offset).unwrap_or(usize::MAX);
    let page: Vec<Cursor> = tops
        .into_iter()
        .skip(skip)
        .take(query.limit as usize + 1)
        .collect();
    let (matches, _) = positions(tx, plan, cap).await?;
    let (total, exact) = total_of(query, matches.len() as u64, false);
    let rows = records_page(tx, plan, &page).await?;
    Ok(Some((rows, total, exact)))
}

/// The agencies whose folded name is LIKE `pattern`, by name.
async fn agency_names(
    tx: &mut sqlx::Transaction<'static, Any>,
    pattern: &str,
) -> Result<Vec<String>, PlatformError> {
    sqlx::query("SELECT name FROM agencies WHERE fold LIKE $1 ESCAPE '\\' ORDER BY name")
        .bind(pattern.to_owned())
        .fetch_all(&mut **tx)
        .await
        .map_err(PlatformError::database("read search results"))?
        .iter()
        .map(|row| {
            row.try_get::<String, _>("name")
                .map_err(|_| PlatformError::CorruptRow { what: "name" })
        })
        .collect()
}

/// The total and whether it is exact, for `n` matches counted (`capped`: the count stopped at
/// the cap, so there may be more): exact when asked for or under [`COUNT_CAP`].
fn total_of(query: &SearchQuery, n: u64, capped: bool) -> (u64, bool) {
    if query.exact_total || (!capped && n <= COUNT_CAP) {
        (n, true)
    } else {
        (COUNT_CAP, false)
    }
}

/// A first page (no cursor, no offset, capped total) of a substring search read off the window
/// of newest entries, when that settles it: a common term has its page and `COUNT_CAP` + 1
/// matches there (one read that stops as soon as it has them), and a view no larger than the
/// window has every match there. A term with its page there but fewer matches than that counts
/// them through the filters' indexes. Otherwise the steps of [`search`] take over.
async fn first_page_from_window(
    tx: &mut sqlx::Transaction<'static, Any>,
    plan: &Plan<'_>,
    cap: Option<i64>,
) -> Result<Window, PlatformError> {
    let query = plan.query;
    let Some(cap) = cap else {
        return Ok(Window::NotRead);
    };
    if query.after.is_some() || query.offset != 0 {
        return Ok(Window::NotRead);
    }
    let rows = fetch(tx, &plan.window_matches(Some(cap))).await?;
    let mut found = rows.iter().map(cursor_of).collect::<Result<Vec<_>, _>>()?;
    found.sort_by(result_order);
    let page_size = query.limit as usize + 1;
    let capped = found.len() as i64 >= cap;
    let visible = sqlx::query("SELECT visible FROM view_counts WHERE id = 1")
        .fetch_one(&mut **tx)
        .await
        .map_err(PlatformError::database("count search results"))?
        .try_get::<i64, _>("visible")
        .map_err(|_| PlatformError::CorruptRow { what: "visible" })?;
    let whole_view = visible <= i64::from(plan.walk_window);
    let (total, exact) = if capped || whole_view {
        let n = found.len() as u64;
        if n > COUNT_CAP {
            (COUNT_CAP, false)
        } else {
            (n, true)
        }
    } else if found.len() >= page_size {
        // The page is here, the total is not: count through the filters' own indexes.
        let (matches, _) = positions(tx, plan, Some(cap)).await?;
        let n = matches.len() as u64;
        if n > COUNT_CAP {
            (COUNT_CAP, false)
        } else {
            (n, true)
        }
    } else {
        return Ok(Window::NoPage);
    };
    found.truncate(page_size);
    let rows = records_page(tx, plan, &found).await?;
    Ok(Window::Settled((rows, total, exact)))
}

/// What [`first_page_from_window`] found.
enum Window {
    /// The page and the total.
    Settled((Vec<AnyRow>, u64, bool)),
    /// The window was read and holds less than a page.
    NoPage,
    /// Not a first page with a capped total: the window was not read.
    NotRead,
}

/// The records at `page` (positions in result order), in result order.
async fn records_page(
    tx: &mut sqlx::Transaction<'static, Any>,
    plan: &Plan<'_>,
    page: &[Cursor],
) -> Result<Vec<AnyRow>, PlatformError> {
    if page.is_empty() {
        return Ok(Vec::new());
    }
    fetch(tx, &plan.records_at(page)).await
}

async fn fetch(
    tx: &mut sqlx::Transaction<'static, Any>,
    statement: &Statement,
) -> Result<Vec<AnyRow>, PlatformError> {
    statement
        .query()
        .fetch_all(&mut **tx)
        .await
        .map_err(PlatformError::database("read search results"))
}

fn cursor_of(row: &AnyRow) -> Result<Cursor, PlatformError> {
    Ok(Cursor {
        sort_date: row
            .try_get("sort_date")
            .map_err(|_| PlatformError::CorruptRow { what: "sort_date" })?,
        record_id: row
            .try_get("record_id")
            .map_err(|_| PlatformError::CorruptRow { what: "record_id" })?,
    })
}

/// `%text%` with LIKE's wildcards in `text` escaped (the queries say `ESCAPE '\'`).
pub(crate) fn like_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(like_pattern("a%b_c\\"), "%a\\%b\\_c\\\\%");
        assert_eq!(like_pattern("罚"), "%罚%");
    }
}
