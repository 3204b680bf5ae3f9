//! `dept-api`: a department's case API, simulated for the demo and tests of `http_pull`.
//!
//! Serves the JSON pages of a folder (`mappings/samples/dept-api` by default): one sub-folder per
//! stage (`first/`, `second/`, taken in name order), each with `page-1.json`, `page-2.json`, … of
//! the shape `{"items": [ … ], "next_cursor": …}`. The stages form one change log: at stage `first`
//! the API serves the pages of `first/`; after `POST /stage/second` it serves those of `first/`
//! and then those of `second/`, so a client that stopped at the end of `first` is handed what
//! changed since (the revocations), and a client starting afresh gets everything.
//!
//! - `GET /cases?cursor=C` (`Authorization: Bearer <token>`, else 401): the page at cursor `C`
//!   (empty or absent: the first page). Its `next_cursor` is the cursor of the following page, or
//!   `null` on the last page; a cursor the API never gave is 400.
//! - `POST /stage/<name>`: switch to stage `<name>` (404 for an unknown one); `GET /stage`: the
//!   current stage and the number of pages served now.
//!
//! Cursors: a page's own `next_cursor` from its file when it has one, else `<stage>~end` after the
//! last page of a stage, so that the next stage can follow it.
//!
//! ```sh
//! cargo run -p dhub-testkit --bin dept-api -- --port 9480 --token "$DEPT_API_TOKEN"
//! curl -X POST http://127.0.0.1:9480/stage/second
//! ```

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use anyhow::{bail, Context};
use axum::extract::{Path as UrlPath, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use clap::Parser;
use serde_json::{json, Value};

#[derive(Parser)]
#[command(about = "A department case API serving pages with cursors, for the dhub demo and tests")]
struct Args {
    /// Port to listen on (on 127.0.0.1 unless --bind says otherwise).
    #[arg(long)]
    port: u16,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    bind: String,
    /// The bearer token clients must send.
    #[arg(long)]
    token: String,
    /// Folder with one sub-folder of page-N.json per stage.
    #[arg(long, default_value = "mappings/samples/dept-api")]
    pages: PathBuf,
    /// The stage to start at (default: the first in name order).
    #[arg(long)]
    stage: Option<String>,
}

/// One page as served: its items and the cursor that fetches it.
struct Page {
    stage: String,
    cursor: String,
    items: Value,
}

struct Api {
    token: String,
    /// Every stage's pages, in order; `stages[i]` ends at `ends[i]` (exclusive) in `pages`.
    stages: Vec<String>,
    ends: Vec<usize>,
    pages: Vec<Page>,
    current: RwLock<usize>,
}

impl Api {
    fn load(folder: &Path, token: String) -> anyhow::Result<Api> {
        let mut stages: Vec<String> = std::fs::read_dir(folder)
            .with_context(|| format!("cannot read {}", folder.display()))?
            .flatten()
            .filter(|entry| entry.file_type().is_ok_and(|t| t.is_dir()))
            .map(|entry| entry.file_name().to_string_lossy().into_owned())
            .collect();
        stages.sort();
        if stages.is_empty() {
            bail!(
                "{} has no stage folders (first/, second/, …)",
                folder.display()
            );
        }
        let mut pages: Vec<Page> = Vec::new();
        let mut ends = Vec::new();
        let mut next_cursor = String::new();
        for stage in &stages {
            let mut numbered: Vec<(u32, PathBuf)> = std::fs::read_dir(folder.join(stage))?
                .flatten()
                .filter_map(|entry| {
                    let name = entry.file_name().to_string_lossy().into_owned();
                    let n = name
                        .strip_prefix("page-")?
                        .strip_suffix(".json")?
                        .parse()
                        .ok()?;
                    Some((n, entry.path()))
                })
                .collect();
            numbered.sort();
            for (_, path) in numbered {
                let page: Value = serde_json::from_slice(&std::fs::read(&path)?)
                    .with_context(|| format!("{} is not JSON", path.display()))?;
                let items = page
                    .get("items")
                    .filter(|items| items.is_array())
                    .cloned()
                    .with_context(|| format!("{} has no `items` array", path.display()))?;
                pages.push(Page {
                    stage: stage.clone(),
                    cursor: std::mem::take(&mut next_cursor),
                    items,
                });
                next_cursor = page["next_cursor"].as_str().unwrap_or_default().to_string();
            }
            if next_cursor.is_empty() {
                next_cursor = format!("{stage}~end");
            }
            ends.push(pages.len());
        }
        Ok(Api {
            token,
            stages,
            ends,
            pages,
            current: RwLock::new(0),
        })
    }

    /// How many pages are served at the current stage.
    fn served(&self) -> usize {
        let current = *self.current.read().unwrap_or_else(|e| e.into_inner());
        self.ends[current]
    }
}

async fn cases(
    State(api): State<Arc<Api>>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let authorized = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|token| token == api.token);
    if !authorized {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": "send Authorization: Bearer <token>"})),
        )
            .into_response();
    }
    let cursor = query.get("cursor").map(String::as_str).unwrap_or("");
    let served = api.served();
    let Some(index) = api.pages[..served].iter().position(|p| p.cursor == cursor) else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "unknown cursor"})),
        )
            .into_response();
    };
    let next = api.pages[..served].get(index + 1).map(|p| p.cursor.clone());
    Json(json!({"items": api.pages[index].items, "next_cursor": next})).into_response()
}

async fn set_stage(State(api): State<Arc<Api>>, UrlPath(stage): UrlPath<String>) -> Response {
    let Some(index) = api.stages.iter().position(|s| *s == stage) else {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({"error": format!("no stage `{stage}`"), "stages": api.stages})),
        )
            .into_response();
    };
    *api.current.write().unwrap_or_else(|e| e.into_inner()) = index;
    eprintln!("dept-api: stage {stage}, {} pages", api.served());
    stage_answer(&api)
}

async fn get_stage(State(api): State<Arc<Api>>) -> Response {
    stage_answer(&api)
}

fn stage_answer(api: &Api) -> Response {
    let current = *api.current.read().unwrap_or_else(|e| e.into_inner());
    let served = api.served();
    Json(json!({
        "stage": api.stages[current],
        "pages": served,
        "stages": api.stages,
        "last_page_stage": api.pages[..served].last().map(|p| p.stage.clone()),
    }))
    .into_response()
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let api = Api::load(&args.pages, args.token)?;
    if let Some(stage) = &args.stage {
        let index = api
            .stages
            .iter()
            .position(|s| s == stage)
            .with_context(|| format!("no stage `{stage}` in {}", args.pages.display()))?;
        *api.current.write().unwrap_or_else(|e| e.into_inner()) = index;
    }
    let address = format!("{}:{}", args.bind, args.port);
    let listener = tokio::net::TcpListener::bind(&address)
        .await
        .with_context(|| format!("cannot listen on {address}"))?;
    eprintln!(
        "dept-api: serving {} on http://{address}/cases?cursor=… (stages {})",
        args.pages.display(),
        api.stages.join(", ")
    );
    let app = Router::new()
        .route("/cases", get(cases))
        .route("/stage", get(get_stage))
        .route("/stage/{name}", post(set_stage))
        .with_state(Arc::new(api));
    axum::serve(listener, app).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../mappings/samples/dept-api")
    }

    #[test]
    fn the_stages_form_one_change_log() {
        let api = Api::load(&samples(), "t".into()).unwrap();
        assert_eq!(api.stages, ["first", "second"]);
        assert_eq!(api.ends, [3, 4]);
        let cursors: Vec<&str> = api.pages.iter().map(|p| p.cursor.as_str()).collect();
        assert_eq!(
            cursors,
            [
                "",
                "2026-11-12T00:00:00Z~LCHB-2026-0110",
                "2026-11-12T00:00:00Z~LCHB-2026-0121",
                "first~end"
            ]
        );
        assert_eq!(api.served(), 3);
        *api.current.write().unwrap() = 1;
        assert_eq!(api.served(), 4);
    }
}
