//! `divisions::load_extra` changes the process-wide table, so it is tested in its own test binary
//! (a process of its own) rather than beside the unit tests that read the embedded table.

use std::io::Write;

use dhub_schema::divisions::{self, Level};

#[test]
fn load_extra_extends_the_process_wide_table() {
    assert!(!divisions::is_known("371599"));
    let mut file = temp_csv();
    writeln!(
        file.1,
        "代码,一级行政区,二级行政区,名称,级别,状态,启用时间,变更/弃用时间,新代码\n\
         371524,山东省,聊城市,东阿县,县级,弃用,1997,2025,371599\n\
         371599,山东省,聊城市,东阿区,县级,在用,2025,,"
    )
    .unwrap();
    drop(file.1);
    divisions::load_extra(&file.0).unwrap();
    assert!(divisions::is_known("371599"));
    assert_eq!(divisions::name("371599"), Some("东阿区"));
    assert_eq!(divisions::canonical("371524"), "371599");
    assert!(divisions::contains("371599", Level::County, "371524"));
    // The embedded rows are still there.
    assert_eq!(divisions::canonical("371523"), "371503");
    std::fs::remove_file(&file.0).unwrap();
}

fn temp_csv() -> (std::path::PathBuf, std::fs::File) {
    let path =
        std::env::temp_dir().join(format!("dhub-divisions-extra-{}.csv", std::process::id()));
    let file = std::fs::File::create(&path).unwrap();
    (path, file)
}
