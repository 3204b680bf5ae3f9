//! Validation's CPU per record (issue 7, the "validate" stage): a mapped penalty of the demo's
//! shape validated into a typed record, then its content hash, each `DHUB_BENCH_RECORDS` times
//! (default 200,000) on one thread. Prints µs per record for each step.
//!
//!   cargo bench -p dhub-schema --bench validate

use std::hint::black_box;
use std::time::Instant;

use chrono::NaiveDate;
use dhub_schema::validate::{content_hash, validate_on};
use serde_json::json;

fn main() {
    let records: u32 = std::env::var("DHUB_BENCH_RECORDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(200_000);
    let today = NaiveDate::from_ymd_opt(2026, 11, 21).expect("a date");
    let mapped = json!({
        "record_id": "finance-oa:CZCF-2026-0001",
        "category": "penalty",
        "status": "in_force",
        "procedure": "ordinary",
        "division_code": "371523",
        "agency": {"name": "茌平县财政局", "uscc": "11371523004325067H"},
        "document_no": "茌财罚〔2026〕12号",
        "document_title": "行政处罚决定书",
        "counterparty": {
            "name": "茌平县顺达商贸有限公司",
            "kind": "legal_person",
            "uscc": "91371523MA3C4X5Y6K",
            "legal_rep": {"name": "张三"},
            "address": "山东省聊城市茌平区振兴路18号"
        },
        "violation_type": "违反政府采购规定",
        "facts": "经查，当事人在2025年度政府采购项目中提供虚假材料谋取中标，违反了《中华人民共和国政府采购法》第七十七条的规定。证人李四证实，当事人于2025年3月12日提交的业绩证明材料系伪造。",
        "legal_basis": "《中华人民共和国政府采购法》第七十七条第一款第（一）项",
        "penalty_kinds": ["warning", "fine"],
        "content": "警告，罚款人民币伍仟元整",
        "fine_amount": "5000.00",
        "decided_on": "2026-10-12",
        "publicity_until": "2029-10-12",
        "major": false,
        "source": {"name": "finance-oa", "key": "CZCF-2026-0001", "fetched_at": "2026-11-01T00:00:00Z"}
    });
    let record = validate_on(&mapped, today)
        .expect("the sample validates")
        .record;

    let started = Instant::now();
    for _ in 0..records {
        black_box(validate_on(black_box(&mapped), today).is_ok());
    }
    let validate_us = started.elapsed().as_secs_f64() * 1e6 / f64::from(records);

    let started = Instant::now();
    for _ in 0..records {
        black_box(content_hash(black_box(&record)).is_ok());
    }
    let hash_us = started.elapsed().as_secs_f64() * 1e6 / f64::from(records);

    println!("validate: {records} records, {validate_us:.2} µs per record");
    println!("content hash: {records} records, {hash_us:.2} µs per record");
}
