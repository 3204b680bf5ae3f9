//! The demo's sample exports (`mappings/samples/<mapping>/…`) must map completely with the shipped
//! demo mappings: every record, every element the exports carry.

use std::fs;
use std::path::{Path, PathBuf};

use dhub_mapping::{MapContext, Mapping};

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|ext| ext == "xml") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

#[test]
fn every_sample_export_maps_with_its_demo_mapping() {
    let mappings = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../mappings");
    for name in ["finance-oa", "market-supervision"] {
        let mapping = Mapping::load(&mappings.join(format!("{name}.toml")))
            .unwrap_or_else(|errors| panic!("{errors}"));
        let context = MapContext {
            source_name: name.to_string(),
            fetched_at: "2026-01-01T00:00:00Z".to_string(),
        };
        let files = files_under(&mappings.join("samples").join(name));
        assert!(!files.is_empty(), "no sample exports for {name}");
        let mut mapped = 0;
        for file in files {
            let bytes = fs::read(&file).expect("sample readable");
            let origin = file.display().to_string();
            let results = mapping
                .map_document(&bytes, &origin, &context)
                .unwrap_or_else(|error| panic!("{error}"));
            for result in results {
                let record = result.unwrap_or_else(|error| panic!("{error}"));
                assert!(record["record_id"]
                    .as_str()
                    .is_some_and(|id| id.starts_with(name)));
                assert!(record.get("category").is_some() && record.get("agency").is_some());
                mapped += 1;
            }
        }
        assert!(mapped > 0, "{name}: no records");
    }
}
