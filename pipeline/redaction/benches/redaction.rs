//! Redaction throughput, single thread: `cargo bench -p dhub-redaction`.
//!
//! Prints MB/s on Chinese case text (realistic density of identifiers, a dense variant, and text
//! without any), records/s on full records, and the share of `dhub redact`'s time spent redacting
//! (the rest is JSON parsing and writing). The text is generated deterministically from sentences
//! shaped like real penalty decisions, with dates, amounts, document numbers and statute citations
//! (the decoys) and identifiers mixed in.

use std::hint::black_box;
use std::time::{Duration, Instant};

use dhub_redaction::{run_redact_command, Outcome, Policy};
use serde_json::{json, Value};

/// Deterministic pseudo-random numbers (no dependency needed for a benchmark corpus).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn digits(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| char::from(b'0' + self.below(10) as u8))
            .collect()
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

const PLAIN: [&str; 10] = [
    "经查，当事人于2017年3月至2017年9月期间，在代理记账业务中未按照《中华人民共和国会计法》第四十二条的规定填制会计凭证，涉及凭证共计126张，金额合计人民币358,600.00元。",
    "上述事实有现场检查笔录、询问笔录、会计凭证复印件等证据证实，当事人对违法事实无异议。",
    "根据《中华人民共和国行政处罚法》第二十八条的规定，本机关责令当事人立即改正违法行为。",
    "本机关于2017年10月10日向当事人送达了茌财罚告〔2017〕12号行政处罚事先告知书，告知其拟作出行政处罚的事实、理由、依据及依法享有的陈述、申辩权利。",
    "当事人在法定期限内未提出陈述、申辩意见，也未要求举行听证。",
    "如不服本处罚决定，可在收到本决定书之日起六十日内向茌平县人民政府申请行政复议，或者在六个月内依法向人民法院提起行政诉讼。",
    "罚款应于收到本决定书之日起十五日内缴至指定银行，逾期不缴纳的，每日按罚款数额的百分之三加处罚款。",
    "依据鲁政办发[2017]32号文件及《山东省行政执法监督条例》第十五条，案件编号CZCF-2017-0001，许可证编号JY13715240001234。",
    "经集体讨论，决定给予当事人警告并处罚款人民币5000元（0.5万元）的行政处罚，没收违法所得2,350.00元。",
    "本决定书自送达之日起生效，公示期限自2017年10月12日至2018年10月12日。",
];

fn resident_id(rng: &mut Lcg) -> String {
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let first17 = format!(
        "3715{}19{:02}{:02}{:02}{}",
        rng.digits(2),
        40 + rng.below(50), // born 1940–1989: adults on the 2017 decisions
        1 + rng.below(12),
        1 + rng.below(28),
        rng.digits(3)
    );
    let sum: u32 = first17
        .bytes()
        .zip(W)
        .map(|(c, w)| u32::from(c - b'0') * w)
        .sum();
    let check = b"10X98765432"[(sum % 11) as usize] as char;
    format!("{first17}{check}")
}

fn card(rng: &mut Lcg) -> String {
    let body = format!("622202{}", rng.digits(12));
    (0..10u8)
        .map(|d| format!("{body}{d}"))
        .find(|s| {
            let sum: u32 = s
                .bytes()
                .rev()
                .enumerate()
                .map(|(i, c)| {
                    let d = u32::from(c - b'0');
                    if i % 2 == 1 {
                        if d * 2 > 9 {
                            d * 2 - 9
                        } else {
                            d * 2
                        }
                    } else {
                        d
                    }
                })
                .sum();
            sum.is_multiple_of(10)
        })
        .unwrap_or_default()
}

fn identifier_sentence(rng: &mut Lcg) -> String {
    let name = format!(
        "{}{}",
        rng.pick(&["张", "王", "李", "赵", "欧阳", "刘"]),
        rng.pick(&["明", "华", "建国", "秀英", "伟"])
    );
    match rng.below(6) {
        0 => format!(
            "当事人{name}（身份证号{}，联系电话1{}{}）到场接受询问。",
            resident_id(rng),
            3 + rng.below(7),
            rng.digits(9)
        ),
        1 => format!(
            "{name}住茌平区振兴路{}号{}栋{}单元{}室，系该公司实际控制人。",
            1 + rng.below(300),
            1 + rng.below(20),
            1 + rng.below(6),
            rng.digits(3)
        ),
        2 => format!("当事人通过其个人银行卡{}收取代理费用。", card(rng)),
        3 => format!("{name}驾驶鲁P{}号车辆运送账簿。", rng.digits(5)),
        4 => format!(
            "{name}的联系邮箱为zh{}@163.com，固定电话0635-8{}。",
            rng.digits(4),
            rng.digits(6)
        ),
        _ => format!(
            "证人{name}手机号码+86 138-{}-{}。",
            rng.digits(4),
            rng.digits(4)
        ),
    }
}

/// Chinese case text of about `bytes` bytes; one identifier sentence in `every` sentences (0: none).
fn corpus(rng: &mut Lcg, bytes: usize, every: u64) -> (String, usize) {
    let mut text = String::with_capacity(bytes + 512);
    let mut identifiers = 0;
    while text.len() < bytes {
        if every > 0 && rng.below(every) == 0 {
            text.push_str(&identifier_sentence(rng));
            identifiers += 1;
        } else {
            text.push_str(rng.pick(&PLAIN));
        }
    }
    (text, identifiers)
}

fn record(facts: String, natural: bool, rng: &mut Lcg) -> Value {
    let counterparty = if natural {
        json!({"name": "欧阳明", "kind": "natural_person", "id_type": "resident_id",
               "id_number": resident_id(rng), "address": "聊城市茌平区振兴路123号4栋2单元301室",
               "phone": "13812345678"})
    } else {
        json!({"name": "聊城市鑫源会计服务有限公司", "kind": "legal_person", "uscc": "91371523MA3C8QW1XY",
               "legal_rep": {"name": "张三", "id_type": "resident_id", "id_number": resident_id(rng)}})
    };
    json!({
        "record_id": format!("finance-bureau-oa:CZCF-2017-{}", rng.digits(4)),
        "version": 1, "category": "penalty", "status": "in_force", "procedure": "ordinary",
        "division_code": "371523",
        "agency": {"name": "茌平县财政局", "uscc": "113715230042112358"},
        "source_unit": {"name": "茌平县财政局", "uscc": "113715230042112358"},
        "document_no": "茌财罚〔2017〕12号", "document_title": "行政处罚决定书",
        "counterparty": counterparty,
        "violation_type": "未按规定填制会计凭证",
        "facts": facts,
        "legal_basis": "《中华人民共和国会计法》第四十二条",
        "penalty_kinds": ["warning", "fine"], "content": "警告并处罚款5000元",
        "fine_amount": "5000.00", "decided_on": "2017-10-12", "publicity_until": "2018-10-12",
        "major": false,
        "legal_review": {"passed": true, "reviewer": "法制科", "reviewed_on": "2017-10-10"},
        "classification": "public", "remarks": "罚款已缴清。",
        "source": {"name": "finance-bureau-oa", "key": "CZCF-2017-0001", "fetched_at": "2017-10-20T09:00:00Z"}
    })
}

/// Runs `f` repeatedly for at least `min` and returns the best time per call over three rounds.
fn time_per_call(min: Duration, mut f: impl FnMut()) -> Duration {
    let mut best = Duration::MAX;
    for _ in 0..3 {
        let start = Instant::now();
        let mut calls = 0u32;
        while start.elapsed() < min {
            f();
            calls += 1;
        }
        best = best.min(start.elapsed() / calls);
    }
    best
}

fn mb_per_s(bytes: usize, per_call: Duration) -> f64 {
    bytes as f64 / per_call.as_secs_f64() / 1e6
}

fn main() {
    let policy = Policy::builtin("public").expect("builtin public policy");
    let min = Duration::from_millis(700);
    let mut rng = Lcg(2017);
    println!("dhub-redaction benchmark: single thread, policy `public`");

    // 1. Free text: one 256 KiB `facts` field per record, so scanning dominates.
    for (label, every) in [
        ("realistic density", 8),
        ("dense", 2),
        ("no identifiers", 0),
    ] {
        let (text, identifiers) = corpus(&mut rng, 256 * 1024, every);
        let bytes = text.len();
        let rec = record(text, false, &mut rng);
        let per_call = time_per_call(min, || {
            black_box(policy.redact(black_box(&rec)));
        });
        println!(
            "free text, {label:<18} {:>7.1} MB/s   ({} KiB, one identifier per {} bytes)",
            mb_per_s(bytes, per_call),
            bytes / 1024,
            bytes
                .checked_div(identifiers)
                .map_or("∞".to_string(), |b| b.to_string())
        );
    }

    // Adversarial text: every character a digit, separator or the counterparty's name.
    let mut hostile = String::new();
    while hostile.len() < 256 * 1024 {
        hostile.push_str(&format!(
            "{} {}-欧阳明欧阳明{} ",
            rng.digits(3),
            rng.digits(4),
            rng.digits(1)
        ));
    }
    let bytes = hostile.len();
    let rec = record(hostile, true, &mut rng);
    let per_call = time_per_call(min, || {
        black_box(policy.redact(black_box(&rec)));
    });
    println!(
        "free text, adversarial        {:>7.1} MB/s   (digit groups, separators and the name only)",
        mb_per_s(bytes, per_call)
    );

    // 2. Full records, half natural persons, a realistic 1–2 KB of facts each.
    let records: Vec<Value> = (0..2000)
        .map(|i| {
            let (facts, _) = corpus(&mut rng, 600 + (i % 5) * 300, 8);
            record(facts, i % 2 == 0, &mut rng)
        })
        .collect();
    let json_bytes: usize = records
        .iter()
        .map(|r| serde_json::to_string(r).map_or(0, |s| s.len()))
        .sum();
    let per_batch = time_per_call(min, || {
        for r in &records {
            match black_box(policy.redact(r)) {
                Outcome::Publish { .. } => {}
                Outcome::Withhold { reason, .. } => panic!("bench record withheld: {reason}"),
            }
        }
    });
    let per_record = per_batch / records.len() as u32;
    println!(
        "full records       {:>9.0} records/s  {:>7.1} MB/s of JSON  ({:.1} µs per record, {} bytes average)",
        1.0 / per_record.as_secs_f64(),
        mb_per_s(json_bytes, per_batch),
        per_record.as_secs_f64() * 1e6,
        json_bytes / records.len()
    );

    // 3. `dhub redact` end to end: parse JSONL, redact, write JSONL; and where the time goes.
    let jsonl: String = records
        .iter()
        .map(|r| serde_json::to_string(r).unwrap_or_default() + "\n")
        .collect();
    let per_run = time_per_call(min, || {
        let mut out = Vec::with_capacity(jsonl.len() + 1024);
        black_box(run_redact_command(&policy, jsonl.as_bytes(), &mut out, true).is_ok());
    });
    let parse = time_per_call(min, || {
        for line in jsonl.lines() {
            black_box(serde_json::from_str::<Value>(line).is_ok());
        }
    });
    let write = time_per_call(min, || {
        let mut out = Vec::with_capacity(jsonl.len() + 1024);
        for r in &records {
            black_box(serde_json::to_writer(&mut out, &json!({ "record": r })).is_ok());
            out.push(b'\n');
        }
    });
    let share = per_batch.as_secs_f64() / (parse + per_batch + write).as_secs_f64();
    println!(
        "dhub redact        {:>9.0} records/s  {:>7.1} MB/s of JSONL; redaction {:.0}% of the time (parse {:.0}%, write {:.0}%)",
        records.len() as f64 / per_run.as_secs_f64(),
        mb_per_s(jsonl.len(), per_run),
        share * 100.0,
        parse.as_secs_f64() / (parse + per_batch + write).as_secs_f64() * 100.0,
        write.as_secs_f64() / (parse + per_batch + write).as_secs_f64() * 100.0,
    );
}
