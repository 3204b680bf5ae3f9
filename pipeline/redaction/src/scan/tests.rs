//! Detector-by-detector tests of the scanner: each shows what a detector catches and the decoys
//! it deliberately leaves. Valid identifiers here were computed with an independent script.

use super::*;

fn config() -> ScanConfig {
    ScanConfig {
        detectors: DetectorSet::all(),
        ..ScanConfig::default()
    }
}

fn run(cfg: &ScanConfig, ctx: &TextContext, text: &str) -> (String, Vec<(&'static str, u32)>) {
    let mut s = Scratch::default();
    let out = cfg
        .scan(text, ctx, &mut s)
        .unwrap_or_else(|| text.to_string());
    let fired = s.fired().map(|(r, n)| (r.as_str(), n)).collect();
    (out, fired)
}

/// `expected` writes each masked character as `*`.
#[track_caller]
fn masks(text: &str, expected: &str, rule: &str) {
    let (out, fired) = run(&config(), &TextContext::default(), text);
    assert_eq!(out, expected, "input: {text}");
    assert_eq!(fired, [(rule_static(rule), 1)], "input: {text}");
}

#[track_caller]
fn leaves(text: &str) {
    let (out, fired) = run(&config(), &TextContext::default(), text);
    assert_eq!(out, text, "must be left: {text}");
    assert!(fired.is_empty(), "{fired:?} for {text}");
}

fn rule_static(name: &str) -> &'static str {
    Rule::ALL
        .iter()
        .map(|r| r.as_str())
        .find(|r| *r == name)
        .expect("known rule")
}

fn stars(n: usize) -> String {
    "*".repeat(n)
}

#[test]
fn resident_id_18_in_every_spelling() {
    masks(
        "身份证号码371523198001011231，",
        &format!("身份证号码{}，", stars(18)),
        "resident_id",
    );
    masks(
        "证件号11010519491231002X。",
        &format!("证件号{}。", stars(18)),
        "resident_id",
    );
    masks(
        "证件号11010519491231002x。",
        &format!("证件号{}。", stars(18)),
        "resident_id",
    );
    masks(
        "证件号１１０１０５１９４９１２３１００２Ｘ。",
        &format!("证件号{}。", stars(18)),
        "resident_id",
    );
    masks(
        "张三371523198001011231李四",
        &format!("张三{}李四", stars(18)),
        "resident_id",
    );
    masks(
        "ID371523198001011231",
        &format!("ID{}", stars(18)),
        "resident_id",
    );
    masks(
        "证件11010519491231002XQQ号",
        &format!("证件{}QQ号", stars(18)),
        "resident_id",
    );
    masks(
        "证件１１０１０５１９４９１２３１００２Ｘｑｑ",
        &format!("证件{}ｑｑ", stars(18)),
        "resident_id",
    );
    masks(
        "号码371523 19800101 1231止",
        &format!("号码{}止", stars(20)),
        "resident_id",
    );
}

#[test]
fn resident_id_15_legacy() {
    masks(
        "旧身份证371523800101123。",
        &format!("旧身份证{}。", stars(15)),
        "resident_id",
    );
}

#[test]
fn resident_id_decoys() {
    // Case serial shaped like an ID whose check digit fails (and which is not a Luhn number).
    leaves("案件编号371523201710120001。");
    leaves("证号371523198001011234，校验位错误。");
    // 18 digits whose date is impossible.
    leaves("流水号371523198013011231。");
}

#[test]
fn mobile_in_every_spelling() {
    for (text, masked) in [
        ("手机13812345678。", 11),
        ("手机+8613812345678。", 14),
        ("手机+86 138 1234 5678。", 17),
        ("手机86-138-1234-5678。", 16),
        ("手机138-1234-5678。", 13),
        ("手机138 12345678。", 12),
        ("手机１３８１２３４５６７８。", 11),
        ("手机0086 13812345678。", 16),
        ("手机013812345678。", 12),
        ("手机＋８６１３８１２３４５６７８。", 14),
    ] {
        masks(text, &format!("手机{}。", stars(masked)), "mobile");
    }
}

#[test]
fn mobile_is_found_next_to_other_numbers() {
    masks(
        "罚款5000 13812345678元",
        &format!("罚款5000 {}元", stars(11)),
        "mobile",
    );
    masks(
        "2017-10-12 13812345678",
        &format!("2017-10-12 {}", stars(11)),
        "mobile",
    );
}

#[test]
fn mobile_decoys() {
    leaves("编号12812345678。"); // 12x is no mobile prefix
    leaves("编号1381234567。"); // ten digits
    leaves("编号138123456789。"); // twelve digits
    leaves("罚款人民币13000元，没收违法所得2500.00元。");
}

#[test]
fn landlines() {
    masks(
        "电话0635-8512345。",
        &format!("电话{}。", stars(12)),
        "landline",
    );
    masks(
        "电话(0635)8512345。",
        &format!("电话{}。", stars(13)),
        "landline",
    );
    masks(
        "电话（0635）8512345。",
        &format!("电话{}。", stars(13)),
        "landline",
    );
    masks(
        "电话010-87654321。",
        &format!("电话{}。", stars(12)),
        "landline",
    );
    masks(
        "座机063585123456。",
        &format!("座机{}。", stars(12)),
        "landline",
    );
    masks(
        "联系电话：8512345。",
        &format!("联系电话：{}。", stars(7)),
        "landline",
    );
    masks("Tel: 85123456", &format!("Tel: {}", stars(8)), "landline");
    // Service numbers and hotlines are not a person's.
    leaves("客服电话：400-123-4567，投诉请拨12345或12315。");
    // Without a phone label a bare 7–8 digit number is not a phone.
    leaves("编号8512345。");
    leaves("日期20171012。");
}

#[test]
fn allow_listed_agency_numbers_are_left() {
    let mut cfg = config();
    for key in phone_allow_keys("0635-8512345")
        .into_iter()
        .chain(phone_allow_keys("+86 138 0635 0000"))
    {
        cfg.allow_phones.insert(key);
    }
    let ctx = TextContext::default();
    for text in [
        "咨询电话：0635-8512345。",
        "咨询电话：8512345。",
        "咨询电话：（0635）8512345。",
        "值班手机13806350000。",
    ] {
        let (out, fired) = run(&cfg, &ctx, text);
        assert_eq!(out, text);
        assert!(fired.is_empty());
    }
    // Another number next to it is still masked.
    let (out, _) = run(&cfg, &ctx, "电话0635-8512345，当事人电话0635-8512346。");
    assert_eq!(out, format!("电话0635-8512345，当事人电话{}。", stars(12)));
}

#[test]
fn bank_cards() {
    masks(
        "卡6222021234567894。",
        &format!("卡{}。", stars(16)),
        "bank_card",
    );
    masks(
        "转入6222 0212 3456 7894。",
        &format!("转入{}。", stars(19)),
        "bank_card",
    );
    masks(
        "转入6222021234567890128。",
        &format!("转入{}。", stars(19)),
        "bank_card",
    );
    masks(
        "转入６２２２０２１２３４５６７８９４。",
        &format!("转入{}。", stars(16)),
        "bank_card",
    );
    // Not Luhn-valid: a serial, left.
    leaves("序号6222021234567891。");
    // Groups that are not fours are not a card (a row of figures).
    leaves("数据62220 21234 56789 4。");
}

#[test]
fn labelled_accounts() {
    masks(
        "银行卡号：6222021234567891。",
        &format!("银行卡号：{}。", stars(16)),
        "bank_account",
    );
    masks(
        "账号 37001234567890123456",
        &format!("账号 {}", stars(20)),
        "bank_account",
    );
}

#[test]
fn emails() {
    masks(
        "邮箱zhang.san@163.com。",
        &format!("邮箱{}。", stars(17)),
        "email",
    );
    masks("邮箱12345@qq.com", &format!("邮箱{}", stars(12)), "email");
    masks(
        "邮箱abc＠example.com，",
        &format!("邮箱{}，", stars(15)),
        "email",
    );
    leaves("见附件@第3页");
    leaves("a@b");
}

#[test]
fn allow_listed_emails_are_left() {
    let mut cfg = config();
    cfg.allow_emails.insert("czj@chiping.gov.cn".to_string());
    let (out, _) = run(
        &cfg,
        &TextContext::default(),
        "来信请寄CZJ@chiping.gov.cn。",
    );
    assert_eq!(out, "来信请寄CZJ@chiping.gov.cn。");
}

#[test]
fn vehicle_plates() {
    masks(
        "驾驶鲁P12345号车辆",
        &format!("驾驶{}号车辆", stars(7)),
        "vehicle_plate",
    );
    masks(
        "车牌鲁P·12345。",
        &format!("车牌{}。", stars(8)),
        "vehicle_plate",
    );
    masks(
        "车牌粤BD12345。",
        &format!("车牌{}。", stars(8)),
        "vehicle_plate",
    );
    masks(
        "车牌粤B12345F。",
        &format!("车牌{}。", stars(8)),
        "vehicle_plate",
    );
    masks(
        "挂车鲁P1234挂。",
        &format!("挂车{}。", stars(7)),
        "vehicle_plate",
    );
    masks(
        "车牌鲁ｐ１２３４５。",
        &format!("车牌{}。", stars(7)),
        "vehicle_plate",
    );
}

#[test]
fn vehicle_plate_decoys() {
    leaves("茌财罚〔2017〕12号");
    leaves("鲁政办发[2017]32号");
    leaves("京ICP备12345678号");
    leaves("新A类企业");
}

#[test]
fn qq_and_wechat_given_as_such() {
    masks("QQ号：12345678。", &format!("QQ号：{}。", stars(8)), "qq");
    masks("QQ12345678。", &format!("QQ{}。", stars(8)), "qq");
    masks("qq 123456，", &format!("qq {}，", stars(6)), "qq");
    masks(
        "微信号：zhang_san88。",
        &format!("微信号：{}。", stars(11)),
        "wechat",
    );
    masks(
        "微信：13812345678。",
        &format!("微信：{}。", stars(11)),
        "wechat",
    );
    masks(
        "WeChat:abc-123_x",
        &format!("WeChat:{}", stars(9)),
        "wechat",
    );
    leaves("编号12345678。");
    leaves("关注微信公众号。");
}

#[test]
fn residential_addresses() {
    masks(
        "住所：聊城市茌平区振兴路123号4栋2单元301室。",
        &format!("住所：聊城市茌平区振兴路{}。", stars(13)),
        "address",
    );
    masks(
        "家住幸福小区5号楼3单元201。",
        &format!("家住幸福小区{}。", stars(9)),
        "address",
    );
    masks("住3-2-301室", &format!("住{}", stars(8)), "address");
    masks("张庄村2组15号", &format!("张庄村{}", stars(5)), "address");
    masks("A座1203室", &stars(7), "address");
    masks("振兴路12号", &format!("振兴路{}", stars(3)), "address");
}

#[test]
fn address_decoys() {
    leaves("茌财罚〔2017〕12号");
    leaves("东市监罚〔2019〕17号");
    leaves("于2017年10月12号作出");
    leaves("第3组第12号");
    leaves("该店3楼经营");
    leaves("《中华人民共和国会计法》第四十二条");
}

#[test]
fn enterprise_codes_are_never_numbers() {
    // Well-formed USCC with letters, with digits only, and one that is Luhn-valid too.
    leaves("统一社会信用代码91371523MA3C8QW1XY。");
    leaves("代码113715230042112358。");
    leaves("代码913715235231925233。");
    // Organisation codes, with and without hyphen.
    leaves("组织机构代码MA3C8QW1-X，");
    leaves("组织机构代码MA3C8QW1X，");
    // A registration number that reads like a legacy ID is left when labelled.
    leaves("注册号：371523600123454。");
}

#[test]
fn unlabelled_registration_number_that_reads_like_an_id_is_masked() {
    // Privacy wins when nothing says it is a registration number.
    masks(
        "号码371523600123454。",
        &format!("号码{}。", stars(15)),
        "resident_id",
    );
}

#[test]
fn an_id_that_is_also_a_wellformed_uscc_is_masked_unless_labelled_or_own() {
    let both = "113715208011062199";
    assert!(crate::ids::is_wellformed_uscc(both.as_bytes()));
    assert!(crate::ids::is_valid_resident_id18(both.as_bytes()));
    masks(
        &format!("号码{both}。"),
        &format!("号码{}。", stars(18)),
        "resident_id",
    );
    leaves(&format!("统一社会信用代码：{both}。"));
    let mut ctx = TextContext::default();
    ctx.codes.insert(both.as_bytes().to_vec());
    let (out, _) = run(&config(), &ctx, &format!("号码{both}。"));
    assert_eq!(out, format!("号码{both}。"));
}

#[test]
fn dates_amounts_statutes_documents_are_left() {
    leaves("2017年10月12日，依据《中华人民共和国会计法》第四十二条第一款，作出茌财罚〔2017〕12号决定，罚款5000元（0.5万元），没收违法所得12,345.67元。");
    leaves("决定日期2017-10-12，公示截止2018-10-12，文号鲁政办发[2017]32号。");
    leaves("许可证编号JY13715240001234，代理记账许可证书DLJZ37152320170001。");
    leaves("案件编号CZCF-2017-0001。");
}

#[test]
fn needles_replace_names_and_mask_removed_values() {
    let ctx = TextContext {
        names: vec![
            NameNeedle {
                finder: Finder::new("欧阳娜娜".as_bytes()).into_owned(),
                pseudonym: "欧阳某".into(),
            },
            NameNeedle {
                finder: Finder::new("欧阳".as_bytes()).into_owned(),
                pseudonym: "欧某".into(),
            },
        ],
        values: vec![Finder::new("东方花园小区".as_bytes()).into_owned()],
        codes: HashSet::new(),
        public_addresses: Vec::new(),
    };
    let cfg = ScanConfig::default(); // no detectors: needles still apply
    let (out, fired) = run(&cfg, &ctx, "当事人欧阳娜娜住东方花园小区，欧阳娜娜承认");
    assert_eq!(out, format!("当事人欧阳某住{}，欧阳某承认", stars(6)));
    assert_eq!(fired, [("counterparty_name", 2), ("removed_value", 1)]);
}

#[test]
fn several_detections_in_one_text() {
    let text = "当事人（身份证号371523198001011231，电话13812345678）驾驶鲁P12345号车辆，家住振兴路123号。";
    let (out, fired) = run(&config(), &TextContext::default(), text);
    assert_eq!(
        out,
        format!(
            "当事人（身份证号{}，电话{}）驾驶{}号车辆，家住振兴路{}。",
            stars(18),
            stars(11),
            stars(7),
            stars(4)
        )
    );
    assert_eq!(
        fired,
        [
            ("resident_id", 1),
            ("mobile", 1),
            ("vehicle_plate", 1),
            ("address", 1)
        ]
    );
}

#[test]
fn one_secret_seen_by_two_rules_counts_once() {
    let ctx = TextContext {
        values: vec![Finder::new("371523198001011231".as_bytes()).into_owned()],
        ..TextContext::default()
    };
    let (out, fired) = run(&config(), &ctx, "身份证号371523198001011231。");
    assert_eq!(out, format!("身份证号{}。", stars(18)));
    // Same span: the detector is credited, not the recurrence.
    assert_eq!(fired, [("resident_id", 1)]);
    let ctx = TextContext {
        values: vec![Finder::new("振兴路123号4栋".as_bytes()).into_owned()],
        ..TextContext::default()
    };
    let (out, fired) = run(&config(), &ctx, "住振兴路123号4栋。");
    assert_eq!(out, format!("住{}。", stars(9)));
    // The recurrence covers more than the address detector: it is credited.
    assert_eq!(fired, [("removed_value", 1)]);
}

#[test]
fn a_legal_persons_own_address_is_left() {
    let ctx = TextContext {
        public_addresses: vec![Finder::new("柳园路100号".as_bytes()).into_owned()],
        ..TextContext::default()
    };
    let (out, fired) = run(&config(), &ctx, "住所柳园路100号，员工住振兴路12号。");
    assert_eq!(out, format!("住所柳园路100号，员工住振兴路{}。", stars(3)));
    assert_eq!(fired, [("address", 1)]);
}

#[test]
fn organisation_code_with_letters_and_hyphen_shields_its_digits() {
    // Without the code check, `电话` + `2345678` would read as a landline.
    let body = "2345678A";
    let check = {
        let w = [3u32, 7, 9, 10, 5, 8, 4, 2];
        let sum: u32 = body
            .chars()
            .zip(w)
            .map(|(c, w)| c.to_digit(36).unwrap() * w)
            .sum();
        match 11 - sum % 11 {
            10 => 'X',
            11 => '0',
            n => char::from_digit(n, 10).unwrap(),
        }
    };
    leaves(&format!("电话{body}-{check}。"));
}
