//! The public's page (`GET /`, `GET /record/{id}`): served over a real listener and opened in
//! headless Chromium (Debian's `chromium`; `bash tests/deps.sh` installs it), plus the HTML
//! checks that need no browser. The screenshot is kept under `target/test-artifacts/`.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::{record, Feed, TestDb};
use dhub_platform::{router, View};
use dhub_testkit::browser::{artifact_path, Chromium};
use tower::ServiceExt;

/// Six records in force, one withdrawn, and one whose name is markup.
async fn seeded() -> (TestDb, View) {
    let db = TestDb::sqlite();
    let view = db.view().await;
    let mut feed = Feed::new(0);
    let mut batch = vec![
        feed.upsert(&record(
            "pg:1",
            1,
            "茌平县鑫源商贸有限公司",
            "茌市监罚〔2026〕101号",
            "茌平区市场监督管理局",
            "2026-03-10",
            "penalty",
        )),
        feed.upsert(&record(
            "pg:2",
            1,
            "张某",
            "茌财罚〔2026〕7号",
            "茌平区财政局",
            "2026-02-20",
            "penalty",
        )),
        feed.upsert(&record(
            "pg:3",
            1,
            "东阿县恒泰建材厂",
            "东市监许〔2026〕33号",
            "东阿县市场监督管理局",
            "2026-01-05",
            "licensing",
        )),
        feed.upsert(&record(
            "pg:4",
            1,
            "<img src=x onerror=alert(1)>有限公司",
            "茌市监罚〔2026〕104号",
            "茌平区市场监督管理局",
            "2026-01-02",
            "penalty",
        )),
        // Withdrawn: must appear nowhere.
        feed.upsert(&record(
            "pg:5",
            1,
            "茌平县已撤销食品店",
            "茌市监罚〔2026〕105号",
            "茌平区市场监督管理局",
            "2026-03-01",
            "penalty",
        )),
    ];
    batch.push(feed.retract("pg:5", 2));
    for n in 6..=8 {
        batch.push(feed.upsert(&record(
            &format!("pg:{n}"),
            1,
            &format!("聊城第{n}建筑公司"),
            &format!("聊建罚〔2025〕{n}号"),
            "聊城市住房和城乡建设局",
            &format!("2025-12-0{n}"),
            "penalty",
        )));
    }
    view.apply(&batch).await.unwrap();
    (db, view)
}

async fn get_html(view: &View, uri: &str) -> (StatusCode, String) {
    let response = router(view.clone())
        .oneshot(Request::get(uri).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(
        content_type.starts_with("text/html"),
        "{uri}: {content_type}"
    );
    let body = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    (status, String::from_utf8(body.to_vec()).unwrap())
}

fn encoded(text: &str) -> String {
    dhub_platform::page::encode_component(text)
}

#[tokio::test]
async fn the_page_lists_records_in_force_escapes_values_and_pages_by_cursor() {
    let (_db, view) = seeded().await;
    let (status, html) = get_html(&view, "/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("行政执法信息公示"));
    assert!(html.contains("共 7 条"), "{html}");
    assert!(html.contains("茌市监罚〔2026〕101号") && html.contains("东阿县恒泰建材厂"));
    assert!(!html.contains("pg:5") && !html.contains("已撤销食品店"));
    // Markup in a record is text, never markup; no asset comes from elsewhere.
    assert!(!html.contains("<img"));
    assert!(html.contains("&lt;img src=x onerror=alert(1)&gt;"));
    assert!(!html.contains("src=\"http") && !html.contains("<script"));

    // A page of two, then the next one through the link the page gives.
    let (_, first) = get_html(&view, "/?limit=2").await;
    let link = first
        .split("id=\"next-page\" href=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a next-page link")
        .replace("&amp;", "&");
    let (status, second) = get_html(&view, &link).await;
    assert_eq!(status, StatusCode::OK);
    assert!(first.contains("pg:1") && first.contains("pg:2"));
    assert!(second.contains("pg:3") && second.contains("pg:4"));
    assert!(!second.contains("data-record-id=\"pg:1\""));

    // A bad parameter is a page saying so, with the form kept.
    let (status, html) = get_html(&view, "/?from=2026-13-01").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(html.contains("查询条件有误") && html.contains("`from`"));
    assert!(html.contains("name=\"q\""));
}

#[tokio::test]
async fn the_record_page_shows_public_fields_and_a_withdrawn_record_is_gone() {
    let (_db, view) = seeded().await;
    let (status, html) = get_html(&view, &format!("/record/{}", encoded("pg:2"))).await;
    assert_eq!(status, StatusCode::OK);
    for text in [
        "茌财罚〔2026〕7号",
        "张某",
        "行政处罚",
        "茌平区财政局",
        "2026-02-20",
    ] {
        assert!(html.contains(text), "{text}");
    }
    let (status, html) = get_html(&view, &format!("/record/{}", encoded("pg:5"))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(html.contains("已依法撤销"));
}

/// The page as a person sees it: headless Chromium on a real listener.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_shows_the_search_page_and_a_search_from_its_form() {
    let chromium = Chromium::find().unwrap_or_else(|error| panic!("{error}"));
    let (_db, view) = seeded().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(std::future::IntoFuture::into_future(axum::serve(
        listener,
        router(view.clone()),
    )));

    let base = format!("http://{addr}");
    let dom = {
        let chromium = chromium.clone();
        let url = format!("{base}/");
        tokio::task::spawn_blocking(move || chromium.dump_dom(&url))
            .await
            .unwrap()
            .unwrap()
    };
    // Not blank, not an error page: the header, the form and a row per record in force.
    assert!(dom.contains("<h1>行政执法信息公示</h1>"), "{dom}");
    assert!(dom.contains("name=\"counterparty\"") && dom.contains("name=\"document_no\""));
    assert_eq!(dom.matches("<tr data-record-id=").count(), 7, "{dom}");
    assert!(dom.contains("茌平县鑫源商贸有限公司") && dom.contains("聊城市住房和城乡建设局"));
    assert!(!dom.contains("已撤销食品店"));
    assert!(!dom.contains("<img"), "markup in a record must stay text");

    // A search as the form submits it: every field, the empty ones included.
    let search = format!(
        "{base}/?q={}&counterparty=&document_no=&agency={}&category=penalty&from=2026-01-01&to=",
        encoded("鑫源"),
        encoded("市场监督")
    );
    let found = {
        let chromium = chromium.clone();
        let search = search.clone();
        tokio::task::spawn_blocking(move || chromium.dump_dom(&search))
            .await
            .unwrap()
            .unwrap()
    };
    assert_eq!(found.matches("<tr data-record-id=").count(), 1, "{found}");
    assert!(found.contains("茌市监罚〔2026〕101号") && found.contains("共 1 条"));
    // The form keeps what was searched for.
    assert!(found.contains("value=\"鑫源\""));

    let shot = artifact_path("platform-search-page.png");
    {
        let chromium = chromium.clone();
        let shot = shot.clone();
        let url = format!("{base}/");
        tokio::task::spawn_blocking(move || chromium.screenshot(&url, &shot, 1280, 900))
            .await
            .unwrap()
            .unwrap();
    }
    let size = std::fs::metadata(&shot).unwrap().len();
    // A blank page compresses to a few kilobytes; a page of Chinese text does not.
    assert!(
        size > 20_000,
        "screenshot {} is {size} bytes: blank?",
        shot.display()
    );
    // Straight to stderr: libtest captures println!, and this line is for the person running it.
    let _ = std::io::Write::write_all(
        &mut std::io::stderr(),
        format!("screenshot of the public page: {}\n", shot.display()).as_bytes(),
    );

    server.abort();
    view.close().await;
}
