//! Word lists and sentence templates the generator draws from. Every name made from them is
//! invented; the places are real towns of 茌平, 东阿 and 东昌府区 so the addresses read naturally.

use crate::case::PenaltyKind;

/// Common modern surnames, most frequent first (the 百家姓 list in shared/data is not a frequency list).
pub const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙", "胡", "朱", "高", "林",
    "何", "郭", "马", "罗", "梁", "宋", "郑", "谢", "韩", "唐", "冯", "于", "董", "程", "曹", "袁",
    "邓", "许", "傅", "沈", "曾", "彭", "吕", "苏", "卢", "蒋", "蔡", "贾", "丁", "魏", "薛", "叶",
    "阎", "潘", "杜", "戴", "夏", "田", "任", "姜", "范", "方", "石", "姚", "孔", "崔", "毛", "秦",
    "史", "侯", "孟", "段", "武", "乔", "贺", "尹",
];

/// Compound surnames from 百家姓 (shared/data/surnames), the ones redaction must keep whole.
pub const COMPOUND_SURNAMES: &[&str] = &[
    "欧阳", "司马", "上官", "诸葛", "司徒", "皇甫", "东方", "慕容", "令狐", "夏侯",
];

pub const GIVEN_MALE: &[&str] = &[
    "伟", "强", "磊", "军", "勇", "杰", "涛", "明", "超", "刚", "平", "辉", "鹏", "华", "飞", "斌",
    "波", "建国", "建华", "志强", "志刚", "海涛", "晓东", "永亮", "国庆", "立新", "文博", "振华",
    "红军", "庆军",
];

pub const GIVEN_FEMALE: &[&str] = &[
    "芳", "娜", "敏", "静", "丽", "艳", "娟", "霞", "燕", "玲", "萍", "红", "梅", "琳", "秀英",
    "桂英", "玉兰", "春梅", "丽华", "晓燕", "淑珍", "秀兰", "凤英", "海燕", "雪梅", "丽娟",
];

/// Given names of people born after about 1995.
pub const GIVEN_YOUNG_MALE: &[&str] = &[
    "子豪", "浩然", "宇轩", "俊杰", "梓豪", "一鸣", "博文", "嘉豪", "天宇", "皓轩",
];
pub const GIVEN_YOUNG_FEMALE: &[&str] = &[
    "欣怡", "梓涵", "雨萱", "诗琪", "一诺", "子涵", "思彤", "佳怡", "可馨", "雨桐",
];

/// A county (or district) whose residents the generator invents.
pub struct County {
    pub code: &'static str,
    /// The division code that was in use before 1997 (聊城地区 → 聊城市), still valid inside older IDs.
    pub code_before_1997: &'static str,
    /// As written in addresses after 山东省聊城市.
    pub name: &'static str,
    /// As written at the start of a business name.
    pub business_prefix: &'static str,
    pub towns: &'static [&'static str],
}

pub const COUNTIES: &[County] = &[
    County {
        code: "371523",
        code_before_1997: "372524",
        name: "茌平县",
        business_prefix: "茌平县",
        towns: &[
            "振兴街道",
            "信发街道",
            "温陈街道",
            "乐平铺镇",
            "冯官屯镇",
            "菜屯镇",
            "博平镇",
            "杜郎口镇",
            "韩屯镇",
            "胡屯镇",
            "肖家庄镇",
            "贾寨镇",
            "洪官屯镇",
        ],
    },
    County {
        code: "371524",
        code_before_1997: "372525",
        name: "东阿县",
        business_prefix: "东阿县",
        towns: &[
            "铜城街道",
            "新城街道",
            "刘集镇",
            "牛角店镇",
            "大桥镇",
            "高集镇",
            "姜楼镇",
            "姚寨镇",
            "鱼山镇",
            "陈店镇",
        ],
    },
    County {
        code: "371502",
        code_before_1997: "372501",
        name: "东昌府区",
        business_prefix: "聊城市东昌府区",
        towns: &[
            "古楼街道",
            "柳园街道",
            "新区街道",
            "湖西街道",
            "道口铺街道",
            "闫寺街道",
            "凤凰街道",
            "北城街道",
        ],
    },
];

pub fn county(code: &str) -> &'static County {
    COUNTIES
        .iter()
        .find(|c| c.code == code)
        .unwrap_or(&COUNTIES[0])
}

pub const ROADS: &[&str] = &[
    "文化路",
    "建设路",
    "人民路",
    "振兴路",
    "新华路",
    "光明路",
    "胜利路",
    "育新街",
    "府前街",
    "向阳路",
    "黄河路",
    "花园路",
];
pub const COMMUNITIES: &[&str] = &[
    "阳光", "锦绣", "幸福", "和谐", "翰林", "御景", "东方", "泰和", "书香", "金色",
];
pub const VILLAGES: &[&str] = &[
    "王庄", "李楼", "前屯", "后屯", "张集", "刘庄", "东关", "西关", "马庄", "大宋", "高庄", "孙楼",
];

/// Mobile prefixes of the three carriers.
pub const MOBILE_PREFIXES: &[&str] = &[
    "130", "131", "132", "133", "134", "135", "136", "137", "138", "139", "150", "151", "152",
    "153", "155", "156", "157", "158", "159", "166", "176", "177", "178", "180", "181", "182",
    "183", "185", "186", "187", "188", "189", "191", "198", "199",
];

/// 字号 (trade names) for invented companies and shops.
pub const TRADE_NAMES: &[&str] = &[
    "鑫源", "恒丰", "瑞祥", "华泰", "宏达", "金诚", "佳和", "汇通", "润德", "鼎盛", "信诚", "福顺",
    "祥瑞", "众诚", "兴隆", "永昌", "嘉禾", "康源", "聚福", "德润", "天诚", "泰和", "益民", "东升",
    "明远", "盛世", "广源", "荣华",
];

pub const FINANCE_INDUSTRIES: &[&str] = &[
    "建筑工程有限公司",
    "商贸有限公司",
    "机械制造有限公司",
    "农业科技有限公司",
    "物业管理有限公司",
    "纺织有限公司",
    "铝业有限公司",
    "化工有限公司",
    "建材有限公司",
    "医疗器械有限公司",
    "物流有限公司",
    "热电有限公司",
];
pub const BOOKKEEPING_INDUSTRIES: &[&str] =
    &["会计服务有限公司", "财务咨询有限公司", "财税咨询有限公司"];
pub const MARKET_INDUSTRIES: &[&str] = &[
    "食品有限公司",
    "阿胶制品有限公司",
    "超市有限公司",
    "餐饮管理有限公司",
    "商贸有限公司",
    "农产品有限公司",
    "酒业有限公司",
    "乳业有限公司",
    "医药连锁有限公司",
    "粮油有限公司",
    "烘焙食品有限公司",
];
pub const SHOP_TYPES: &[&str] = &[
    "副食店",
    "便利店",
    "超市",
    "小吃部",
    "熟食店",
    "烧饼铺",
    "水果店",
    "粮油店",
    "饭店",
    "蛋糕店",
];

/// Packaged foods with their counting unit.
pub const FOODS: &[(&str, &str)] = &[
    ("纯牛奶", "箱"),
    ("酸奶", "箱"),
    ("面包", "袋"),
    ("火腿肠", "袋"),
    ("果汁饮料", "瓶"),
    ("饼干", "盒"),
    ("速冻水饺", "袋"),
    ("方便面", "箱"),
    ("酱油", "瓶"),
    ("阿胶糕", "盒"),
    ("熟肉制品", "袋"),
    ("月饼", "盒"),
];
pub const PRODUCTS: &[(&str, &str)] = &[
    ("电线", "卷"),
    ("插座", "个"),
    ("儿童服装", "件"),
    ("塑料拖鞋", "双"),
    ("电动车头盔", "个"),
    ("保温杯", "个"),
];
/// Goods a seller might advertise with medical claims.
pub const ADVERTISED_GOODS: &[(&str, &str)] = &[
    ("阿胶糕", "盒"),
    ("保健酒", "瓶"),
    ("蜂蜜", "瓶"),
    ("固体饮料", "盒"),
    ("阿胶口服液", "盒"),
];
pub const PROCUREMENT_PROJECTS: &[&str] = &[
    "茌平县第一中学多媒体设备采购",
    "茌平县乡镇卫生院医疗设备采购",
    "茌平县行政服务中心物业服务采购",
    "茌平县农村道路养护工程",
    "茌平县学校食堂食材配送服务采购",
];
pub const STALL_PLACES: &[&str] = &["农贸市场", "夜市", "集市", "学校门口", "汽车站广场"];
pub const STALL_BUSINESSES: &[&str] = &["烤肠", "炸串", "凉皮", "水果", "小商品", "煎饼"];

/// One kind of violation: its text, legal basis and the fine ranges the statute allows (yuan).
pub struct ViolationSpec {
    pub name: &'static str,
    pub basis: &'static str,
    /// For units (legal persons, individual businesses).
    pub unit_fine: (u64, u64),
    /// For natural persons; `None` when the statute does not reach individuals in this form.
    pub person_fine: Option<(u64, u64)>,
    /// Whether units can commit it (无照经营 is by definition a person without a licence).
    pub for_units: bool,
    /// Whether illegal gains are confiscated alongside.
    pub gains: bool,
    /// Whether a warning alone (simple procedure) is a lawful outcome.
    pub warning_alone: bool,
    /// When the statute sets the fine as a multiple of a value (货值金额, 广告费用): the range of
    /// that multiple, so the value quoted in the facts agrees with the fine.
    pub value_multiple: Option<(u64, u64)>,
    /// What the {goods} placeholder draws from.
    pub goods: &'static [(&'static str, &'static str)],
    /// Kinds added when the decision is major.
    pub major_kinds: &'static [PenaltyKind],
    /// The body of 违法事实 after the party clause. Placeholders: {date} {year} {n} {amount}
    /// {goods} {qty} {value} {gains} {place} {business} {project}.
    pub body: &'static str,
}

pub const FINANCE_VIOLATIONS: &[ViolationSpec] = &[
    ViolationSpec {
        name: "未按照规定填制、取得原始凭证",
        basis: "《中华人民共和国会计法》第四十二条第一款第（三）项",
        unit_fine: (3000, 50000),
        person_fine: Some((2000, 20000)),
        for_units: true,
        gains: false,
        warning_alone: false,
        value_multiple: None,
        goods: &[],
        major_kinds: &[],
        body: "{year}年度会计核算中有{n}笔费用支出未取得合法有效的原始凭证，以收据、白条入账，涉及金额{amount}元。",
    },
    ViolationSpec {
        name: "不依法设置会计账簿",
        basis: "《中华人民共和国会计法》第四十二条第一款第（一）项",
        unit_fine: (3000, 50000),
        person_fine: Some((2000, 20000)),
        for_units: true,
        gains: false,
        warning_alone: false,
        value_multiple: None,
        goods: &[],
        major_kinds: &[],
        body: "未按照规定设置总账、明细账，以流水账代替会计账簿进行核算，{year}年度收支{amount}元未纳入统一账簿核算。",
    },
    ViolationSpec {
        name: "私设会计账簿",
        basis: "《中华人民共和国会计法》第四十二条第一款第（二）项",
        unit_fine: (3000, 50000),
        person_fine: Some((2000, 20000)),
        for_units: true,
        gains: false,
        warning_alone: false,
        value_multiple: None,
        goods: &[],
        major_kinds: &[],
        body: "在依法设置的会计账簿之外另设账簿，{year}年度有{amount}元收入未在法定会计账簿中反映。",
    },
    ViolationSpec {
        name: "随意变更会计处理方法",
        basis: "《中华人民共和国会计法》第四十二条第一款第（五）项",
        unit_fine: (3000, 50000),
        person_fine: None,
        for_units: true,
        gains: false,
        warning_alone: false,
        value_multiple: None,
        goods: &[],
        major_kinds: &[],
        body: "{year}年度未经批准随意变更固定资产折旧方法，导致当年利润虚增{amount}元。",
    },
    ViolationSpec {
        name: "伪造、变造会计凭证",
        basis: "《中华人民共和国会计法》第四十三条",
        unit_fine: (5000, 100000),
        person_fine: Some((3000, 50000)),
        for_units: true,
        gains: false,
        warning_alone: false,
        value_multiple: None,
        goods: &[],
        major_kinds: &[PenaltyKind::PublicCriticism],
        body: "于{date}前后通过变造报销单据、虚开收款收据等方式伪造会计凭证{n}份，虚列支出{amount}元。",
    },
    ViolationSpec {
        name: "隐匿、故意销毁依法应当保存的会计凭证",
        basis: "《中华人民共和国会计法》第四十四条",
        unit_fine: (5000, 100000),
        person_fine: Some((3000, 50000)),
        for_units: true,
        gains: false,
        warning_alone: false,
        value_multiple: None,
        goods: &[],
        major_kinds: &[PenaltyKind::PublicCriticism],
        body: "在财政部门检查期间拒不提供{year}年度部分会计凭证，并于{date}将其中{n}份予以销毁，涉及金额{amount}元。",
    },
    ViolationSpec {
        name: "提供虚假材料谋取中标",
        basis: "《中华人民共和国政府采购法》第七十七条第一款第（一）项",
        unit_fine: (5000, 30000),
        person_fine: None,
        for_units: true,
        gains: true,
        warning_alone: false,
        value_multiple: None,
        goods: &[],
        major_kinds: &[PenaltyKind::Other],
        body: "在参加{project}项目投标时，提供虚假的业绩证明材料谋取中标，中标金额{amount}元，违法所得{gains}元。",
    },
];

pub const MARKET_VIOLATIONS: &[ViolationSpec] = &[
    ViolationSpec {
        name: "经营超过保质期的食品",
        basis: "《中华人民共和国食品安全法》第一百二十四条第一款第（五）项",
        unit_fine: (50000, 100000),
        person_fine: None,
        for_units: true,
        gains: true,
        warning_alone: false,
        value_multiple: None,
        goods: FOODS,
        major_kinds: &[PenaltyKind::RevokeLicense],
        body: "于{date}在其经营场所销售超过保质期的{goods}{qty}，货值金额{value}元，违法所得{gains}元。",
    },
    ViolationSpec {
        name: "经营标签不符合规定的预包装食品",
        basis: "《中华人民共和国食品安全法》第一百二十五条第一款第（二）项",
        unit_fine: (5000, 50000),
        person_fine: None,
        for_units: true,
        gains: true,
        warning_alone: false,
        value_multiple: None,
        goods: FOODS,
        major_kinds: &[PenaltyKind::SuspendBusiness],
        body: "经营的{goods}标签未标明生产日期和保质期，共{qty}，货值金额{value}元，违法所得{gains}元。",
    },
    ViolationSpec {
        name: "未按规定建立并遵守进货查验记录制度",
        basis: "《中华人民共和国食品安全法》第一百二十六条第一款第（三）项",
        unit_fine: (5000, 50000),
        person_fine: None,
        for_units: true,
        gains: false,
        warning_alone: true,
        value_multiple: None,
        goods: FOODS,
        major_kinds: &[],
        body: "未按规定查验供货者的许可证和食品出厂检验合格证，未建立进货查验记录，涉及{goods}等{n}个品种。",
    },
    ViolationSpec {
        name: "安排未取得健康证明的人员从事接触直接入口食品的工作",
        basis: "《中华人民共和国食品安全法》第一百二十六条第一款第（六）项",
        unit_fine: (5000, 50000),
        person_fine: None,
        for_units: true,
        gains: false,
        warning_alone: true,
        value_multiple: None,
        goods: FOODS,
        major_kinds: &[],
        body: "于{date}安排{n}名未取得健康证明的人员从事接触直接入口食品的工作。",
    },
    ViolationSpec {
        name: "销售不合格产品",
        basis: "《中华人民共和国产品质量法》第四十九条",
        unit_fine: (1000, 30000),
        person_fine: Some((200, 5000)),
        for_units: true,
        gains: true,
        warning_alone: false,
        value_multiple: Some((1, 3)),
        goods: PRODUCTS,
        major_kinds: &[],
        body: "于{date}销售经监督抽查检验不合格的{goods}{qty}，货值金额{value}元，违法所得{gains}元。",
    },
    ViolationSpec {
        name: "不按规定明码标价",
        basis: "《中华人民共和国价格法》第四十二条",
        unit_fine: (500, 5000),
        person_fine: Some((100, 2000)),
        for_units: true,
        gains: false,
        warning_alone: true,
        value_multiple: None,
        goods: FOODS,
        major_kinds: &[],
        body: "于{date}在其经营场所销售的{goods}等{n}种商品未按规定明码标价。",
    },
    ViolationSpec {
        name: "发布虚假广告",
        basis: "《中华人民共和国广告法》第五十五条第一款",
        unit_fine: (20000, 300000),
        person_fine: None,
        for_units: true,
        gains: false,
        warning_alone: false,
        value_multiple: Some((3, 5)),
        goods: ADVERTISED_GOODS,
        major_kinds: &[PenaltyKind::Other],
        body: "自{date}起通过微信公众号发布宣称其{goods}具有治疗疾病功效的虚假广告，广告费用{value}元。",
    },
    ViolationSpec {
        name: "无照经营",
        basis: "《无证无照经营查处办法》第十三条",
        unit_fine: (1000, 10000),
        person_fine: Some((200, 10000)),
        for_units: false,
        gains: true,
        warning_alone: false,
        value_multiple: None,
        goods: &[],
        major_kinds: &[],
        body: "未依法取得营业执照，自{date}起在{place}从事{business}经营活动，违法所得{gains}元。",
    },
];

pub const FINANCE_EVIDENCE: &[&str] = &[
    "以上事实有检查工作底稿、会计凭证复印件及询问笔录等证据证实。",
    "以上事实有会计账簿、原始凭证复印件和当事人陈述等证据证实。",
    "当事人对上述事实无异议。",
];
pub const MARKET_EVIDENCE: &[&str] = &[
    "以上事实有现场检查笔录、询问笔录及相关票据复印件等证据证实。",
    "以上事实有当事人陈述、现场照片和抽样检验报告等证据证实。",
    "当事人对上述事实无异议。",
];
