-- The case table of the 聊城市综合行政执法 case system (made up), as the demo's `sql` source reads it.
-- Runs unchanged on SQLite, PostgreSQL and MariaDB (create a MariaDB database with
-- CHARACTER SET utf8mb4). Written by mappings/samples/make_samples.py.
--
-- The sql source reads rows in the order of (updated_at, case_no) and remembers the last pair;
-- every change of a row must raise updated_at.

CREATE TABLE enforcement_cases (
    case_no           VARCHAR(40) NOT NULL PRIMARY KEY,  -- 案件编号
    case_type         VARCHAR(4) NOT NULL,  -- CF 处罚, JC 检查, QZ 强制, XK 许可
    proc_type         VARCHAR(4),  -- JY 简易程序, PT 普通程序
    status            VARCHAR(8) NOT NULL,  -- 有效, 变更, 撤销, 确认违法, 确认无效, 重新作出
    status_changed_on DATE,  -- 状态变更日期
    org_name          VARCHAR(100) NOT NULL,  -- 执法机关
    org_uscc          VARCHAR(18),  -- 执法机关统一社会信用代码
    org_division      VARCHAR(6) NOT NULL,  -- 执法机关行政区划代码
    doc_no            VARCHAR(60),  -- 决定文书号
    doc_title         VARCHAR(60),  -- 决定文书名称
    party_kind        VARCHAR(8) NOT NULL,  -- ORG 法人及非法人组织, PERSON 自然人, INDIV 个体工商户
    party_name        VARCHAR(200) NOT NULL,  -- 当事人名称
    party_uscc        VARCHAR(18),  -- 当事人统一社会信用代码
    party_id_type     VARCHAR(4),  -- 自然人证件类型: SFZ 身份证, HZ 护照, GA 港澳通行证, TW 台湾通行证, QT 其他
    party_id_no       VARCHAR(30),  -- 自然人证件号码
    party_address     VARCHAR(200),  -- 自然人住址
    party_phone       VARCHAR(30),  -- 自然人联系电话
    legal_rep         VARCHAR(50),  -- 法定代表人
    legal_rep_id_type VARCHAR(4),  -- 法定代表人证件类型
    legal_rep_id_no   VARCHAR(30),  -- 法定代表人证件号码
    violation         VARCHAR(200),  -- 违法行为
    facts             TEXT,  -- 违法事实
    basis             VARCHAR(500),  -- 依据
    penalty_kinds     VARCHAR(200),  -- 处罚种类, 逗号分隔
    content           TEXT,  -- 处罚内容 / 决定内容
    fine_yuan         DECIMAL(14,2),  -- 罚款金额（元）
    confiscated_yuan  DECIMAL(14,2),  -- 没收金额（元）
    random_check      SMALLINT,  -- 双随机抽查 1/0, 检查类
    decided_on        DATE,  -- 决定日期
    publicity_until   DATE,  -- 公示截止日期
    major             SMALLINT NOT NULL,  -- 重大执法决定 1/0
    review_passed     SMALLINT,  -- 法制审核通过 1/0, 未审核为 NULL
    reviewer          VARCHAR(50),  -- 法制审核机构
    reviewed_on       DATE,  -- 法制审核日期
    secrecy           VARCHAR(4) NOT NULL,  -- 公开, 内部, 秘密
    remarks           TEXT,  -- 备注
    updated_at        TIMESTAMP NOT NULL  -- 最后修改时间: 每次修改都变大
);

CREATE INDEX enforcement_cases_cursor ON enforcement_cases (updated_at, case_no);
