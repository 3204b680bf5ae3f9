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
    // Without a residence label only the house number goes: the road and the compound stay.
    masks(
        "在聊城市茌平区振兴路123号4栋2单元301室。",
        &format!("在聊城市茌平区振兴路{}。", stars(13)),
        "address",
    );
    masks(
        "在幸福小区5号楼3单元201。",
        &format!("在幸福小区{}。", stars(9)),
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
        ..TextContext::default()
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
            "当事人（身份证号{}，电话{}）驾驶{}号车辆，家住{}。",
            stars(18),
            stars(11),
            stars(7),
            stars(7)
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

/// The text with `*` for each masked character and names as surname + 某, and the rules fired.
#[track_caller]
fn redacts(text: &str, expected: &str, fired_expected: &[(&str, u32)]) {
    let (out, fired) = run(&config(), &TextContext::default(), text);
    assert_eq!(out, expected, "input: {text}");
    let expected_fired: Vec<(&str, u32)> = fired_expected
        .iter()
        .map(|(r, n)| (rule_static(r), *n))
        .collect();
    assert_eq!(fired, expected_fired, "input: {text}");
}

#[track_caller]
fn names(text: &str, expected: &str, count: u32) {
    redacts(text, expected, &[("person_name", count)]);
}

#[test]
fn other_persons_after_a_role_word() {
    names(
        "证人王小明称，当晚其在店内。",
        "证人王某称，当晚其在店内。",
        1,
    );
    names("其妻李秀英到场。", "其妻李某到场。", 1);
    names(
        "委托代理人赵刚出具了授权委托书。",
        "委托代理人赵某出具了授权委托书。",
        1,
    );
    names("当事人之子刘洋驾驶车辆。", "当事人之子刘某驾驶车辆。", 1);
    names("店员王芳称不知情。", "店员王某称不知情。", 1);
    names("姓名：欧阳娜娜，", "姓名：欧阳某，", 1);
    names("举报人孙丽丽反映", "举报人孙某反映", 1);
    names("负责人周建国签字确认。", "负责人周某签字确认。", 1);
    names("证人司马光到场", "证人司马某到场", 1);
    names("员工肖红在场", "员工肖某在场", 1);
    // A list after one role word.
    names(
        "证人王小明、李秀英和赵刚到场。",
        "证人王某、李某和赵某到场。",
        3,
    );
    // Without a word to stop at, two given-name characters are taken (a character of the text
    // may go with them; none of the name stays).
    names("员工王芳整理货架", "员工王某理货架", 1);
}

#[test]
fn other_persons_before_a_statement_or_a_description() {
    names("据王小明称，", "据王某称，", 1);
    names("经查王明称", "经查王某称", 1);
    names("，李四供述其", "，李某供述其", 1);
    names(
        "经询问张小明（男，1980年生），",
        "经询问张某（男，1980年生），",
        1,
    );
    names("另查明，李秀英（女，35岁）", "另查明，李某（女，35岁）", 1);
    names("，李秀英，女，汉族，", "，李某，女，汉族，", 1);
    names("、赵六（旧身份证号", "、赵某（旧身份证号", 1);
    names("王五证件号码：", "王某证件号码：", 1);
    names("证人司马光称", "证人司马某称", 1);
    names("，欧阳娜娜签字。", "，欧阳某签字。", 1);
    names("刘洋（系该店员工）", "刘某（系该店员工）", 1);
}

#[test]
fn a_found_name_is_replaced_wherever_it_recurs_in_the_string() {
    names(
        "证人王小明称其当晚在店内，王小明还表示不认识当事人。",
        "证人王某称其当晚在店内，王某还表示不认识当事人。",
        2,
    );
}

#[test]
fn recurrences_of_many_names_are_found_too() {
    // More different surnames than are searched one by one: the single pass finds them.
    let surnames = ["王", "李", "赵", "钱", "孙", "周", "吴", "郑", "冯", "陈"];
    let mut text = String::new();
    let mut expected = String::new();
    for s in surnames {
        text.push_str(&format!("证人{s}建华称，"));
        expected.push_str(&format!("证人{s}某称，"));
    }
    for s in surnames {
        text.push_str(&format!("{s}建华到场。"));
        expected.push_str(&format!("{s}某到场。"));
    }
    names(&text, &expected, 20);
}

#[test]
fn pseudonyms_and_kept_names_are_left() {
    leaves("经询问张某某（男，1980年生），");
    leaves("证人王某称，其妻李某到场，王氏在场。");
    let ctx = TextContext {
        kept_names: vec!["张三".into()],
        ..TextContext::default()
    };
    let text = "法定代表人张三称，证人李四称。";
    let (out, fired) = run(&config(), &ctx, text);
    assert_eq!(out, "法定代表人张三称，证人李某称。");
    assert_eq!(fired, [("person_name", 1)]);
}

#[test]
fn the_counterpartys_pseudonym_wins_over_a_detected_name() {
    let ctx = TextContext {
        names: vec![NameNeedle {
            finder: Finder::new("王小明".as_bytes()).into_owned(),
            pseudonym: "王某".into(),
        }],
        ..TextContext::default()
    };
    let (out, fired) = run(&config(), &ctx, "当事人王小明称，其妻李秀英到场。");
    assert_eq!(out, "当事人王某称，其妻李某到场。");
    assert_eq!(fired, [("person_name", 1), ("counterparty_name", 1)]);
    // A detected name longer than the counterparty's (`王明` inside `王明华`) replaces it whole.
    let ctx = TextContext {
        names: vec![NameNeedle {
            finder: Finder::new("王明".as_bytes()).into_owned(),
            pseudonym: "王某".into(),
        }],
        ..TextContext::default()
    };
    let (out, fired) = run(&config(), &ctx, "证人王明华称");
    assert_eq!(out, "证人王某称");
    assert_eq!(fired, [("person_name", 1)]);
}

/// Places and companies (the list, in the contexts they come in), with and without a
/// role word before them.
#[test]
fn place_and_company_names_are_not_persons() {
    for place in [
        "张家口市",
        "王府井大街",
        "王府井百货大楼",
        "李宁体育用品有限公司",
        "马鞍山市",
        "马鞍山钢铁股份有限公司",
        "黄山风景区",
        "高新区",
        "周村区",
        "文化路",
        "石家庄市",
        "金华市",
        "常州市",
        "白银市",
        "张店区",
        "山东省",
        "东营市",
        "宁夏回族自治区",
    ] {
        for before in ["位于", "，", "当事人", "经营者", "负责人：", "举报人"] {
            for after in [
                "。",
                "的",
                "于2017年",
                "开设",
                "人民政府",
                "（统一社会信用代码）",
            ] {
                leaves(&format!("{before}{place}{after}"));
            }
        }
    }
}

#[test]
fn case_text_without_other_persons_is_left() {
    for text in [
        "经查，当事人于2017年3月至2017年9月期间，在代理记账业务中未按照《中华人民共和国会计法》第四十二条的规定填制会计凭证。",
        "上述事实有现场检查笔录、询问笔录、会计凭证复印件等证据证实，当事人对违法事实无异议。",
        "本机关于2017年10月10日向当事人送达了行政处罚事先告知书，告知其拟作出行政处罚的事实、理由、依据及依法享有的陈述、申辩权利。",
        "当事人在法定期限内未提出陈述、申辩意见，也未要求举行听证。",
        "如不服本处罚决定，可在收到本决定书之日起六十日内向茌平县人民政府申请行政复议。",
        "当事人应当在收到本决定书之日起十五日内缴纳罚款。",
        "当事人向本机关提交了陈述申辩材料。",
        "当事人向茌平县人民政府申请行政复议。",
        "当事人经营的商品不符合标准。",
        "当事人同年5月再次违法，当事人时任该公司经理。",
        "执法人员向当事人出示了执法证件，当事人签字确认。",
        "企业名称：聊城市鑫源会计服务有限公司，简称鑫源会计，其声称不知情。",
        "据说当事人已整改，说明如下。",
        "依据《会计法》有关规定，会计法有关条款，会计师事务所出具报告。",
        "违反《中华人民共和国消费者权益保护法》第五十六条。",
        "经查证实，当事人持居民身份证、有效身份证件办理。",
        "负责人签字、当事人签名、经办人签字。",
        "当事人陈述申辩，当事人承认违法事实。",
        "会计年度内，会计从业人员未取得资格。",
        "员工宿舍内存放，业主委员会同意。",
        "当事人和证人到场，当事人及其委托代理人到场。",
        "当事人全部承认，当事人明知。",
        "该单位名称变更，单位名称为某某。",
        "当事人常年经营，其家庭住址不详。",
        // Found by the property tests: surname characters that are words (于, 查) before
        // words that are not given names, a document number after a role word, and a bracket
        // after a noun.
        "于联系913715230000000005",
        "当事人于联系，于决定身份证，于电话身份证",
        "当事人于决定书送达之日起十五日内缴纳罚款。",
        "当事人鲁政办发〔2000〕1号，当事人鲁政办发（2000）1号",
        "经查电话（身份证号",
        "当事人于银行卡号",
    ] {
        leaves(text);
    }
}

#[test]
fn labelled_residences_hide_everything_below_the_township() {
    redacts(
        "住址：山东省聊城市茌平区振兴街道幸福路十二号。",
        &format!("住址：山东省聊城市茌平区振兴街道{}。", stars(6)),
        &[("address", 1)],
    );
    redacts(
        "其妻李秀英家住茌平县贾寨镇张庄村，",
        &format!("其妻李某家住茌平县贾寨镇{}，", stars(3)),
        &[("address", 1), ("person_name", 1)],
    );
    redacts(
        "户籍地：茌平县贾寨镇张庄村2组15号。",
        &format!("户籍地：茌平县贾寨镇{}。", stars(8)),
        &[("address", 1)],
    );
    redacts(
        "证人王小明现住石家庄市长安区和平路5号院3单元。",
        &format!("证人王某现住石家庄市长安区{}。", stars(9)),
        &[("address", 1), ("person_name", 1)],
    );
    // The house number alone, without a label, as before.
    masks(
        "证人在振兴路88号。",
        &format!("证人在振兴路{}。", stars(3)),
        "address",
    );
}

#[test]
fn residence_label_decoys() {
    leaves("当事人现住院治疗。");
    leaves("住址不详，户籍地不明。");
    leaves("家住茌平县。");
}

#[test]
fn business_premises_of_a_legal_person_are_public() {
    let text = "经营场所：茌平县振兴路88号，员工王芳家住幸福路12号。";
    let ctx = TextContext {
        business_addresses_public: true,
        ..TextContext::default()
    };
    let (out, fired) = run(&config(), &ctx, text);
    assert_eq!(
        out,
        format!("经营场所：茌平县振兴路88号，员工王某家住{}。", stars(6))
    );
    assert_eq!(fired, [("address", 1), ("person_name", 1)]);
    // Not a legal person (a natural person, an individual business): premises are someone's.
    let (out, _) = run(&config(), &TextContext::default(), text);
    assert_eq!(
        out,
        format!(
            "经营场所：茌平县振兴路{}，员工王某家住{}。",
            stars(3),
            stars(6)
        )
    );
}

#[test]
fn house_numbers_in_chinese_numerals() {
    masks("幸福路十二号", &format!("幸福路{}", stars(3)), "address");
    masks("在三单元五〇二室", &format!("在{}", stars(7)), "address");
    masks("住在二十三号楼", &format!("住在{}", stars(5)), "address");
    masks("张庄村七组", &format!("张庄村{}", stars(2)), "address");
    masks("在三栋二单元", &format!("在{}", stars(5)), "address");
    masks("在5号楼三单元502室", &format!("在{}", stars(10)), "address");
    masks(
        "南锣鼓巷胡同十二号",
        &format!("南锣鼓巷胡同{}", stars(3)),
        "address",
    );
}

#[test]
fn chinese_numerals_that_count_or_date_are_left() {
    leaves("第七组");
    leaves("在第三单元");
    leaves("租住一套三室一厅的房屋，另一套3室2厅");
    leaves("违法建设三栋厂房");
    leaves("于十月十二号作出");
    leaves("依据中央一号文件");
    leaves("属于同一组");
    leaves("该楼共十二层，该店在三楼");
    leaves("第四十二条第一款");
}

#[test]
fn passports_and_travel_permits() {
    masks(
        "护照号码：E12345678。",
        &format!("护照号码：{}。", stars(9)),
        "passport",
    );
    masks(
        "持EA1234567号护照",
        &format!("持{}号护照", stars(9)),
        "passport",
    );
    masks("G12345678", &stars(9), "passport");
    masks(
        "持护照（P12345678）",
        &format!("持护照（{}）", stars(9)),
        "passport",
    );
    masks(
        "Passport No. 123456789",
        &format!("Passport No. {}", stars(9)),
        "passport",
    );
    masks(
        "港澳通行证C12345678，",
        &format!("港澳通行证{}，", stars(9)),
        "passport",
    );
    masks(
        "回乡证号码：H1234567890",
        &format!("回乡证号码：{}", stars(11)),
        "passport",
    );
    masks(
        "护照Ｅ１２３４５６７８",
        &format!("护照{}", stars(9)),
        "passport",
    );
}

#[test]
fn a_passport_shaped_organisation_code_is_left_only_when_labelled_or_own() {
    let code = "E60400008";
    assert!(crate::ids::is_valid_org_code(code.as_bytes()));
    masks(
        &format!("编号{code}。"),
        &format!("编号{}。", stars(9)),
        "passport",
    );
    leaves(&format!("组织机构代码{code}。"));
    leaves("组织机构代码E6040000-8。");
    let ctx = TextContext {
        codes: [code.as_bytes().to_vec()].into_iter().collect(),
        ..TextContext::default()
    };
    let (out, fired) = run(&config(), &ctx, &format!("编号{code}。"));
    assert_eq!(out, format!("编号{code}。"));
    assert!(fired.is_empty());
    // A passport label wins over everything.
    masks(
        &format!("护照{code}。"),
        &format!("护照{}。", stars(9)),
        "passport",
    );
}

#[test]
fn passport_decoys() {
    leaves("代理记账许可证书DLJZ37152320170001，许可证编号JY13715240001234。");
    leaves("依据GB 11643-1999、GB/T 2260标准。");
    leaves("编号C12345678，型号E1234567。");
    leaves("案件编号CZCF-2017-0001，茌财罚〔2017〕12号，鲁政办发[2017]32号。");
    leaves("E12345678A，A-E12345678");
    leaves("护照复印件，护照：无。");
    masks(
        "驾驶鲁E12345号车辆",
        &format!("驾驶{}号车辆", stars(7)),
        "vehicle_plate",
    );
}
