//! What ships in `deploy/` and cannot run here is checked statically: the alert rules with
//! Prometheus' `promtool` (syntax and the rule unit tests), every metric the alerts and the Grafana
//! dashboard query is one the hub exports, the compose file and Kubernetes manifests parse and
//! pass only config keys the hub's own loader accepts, the Dockerfile builds in stages and runs as
//! a non-root user, and the systemd unit passes `systemd-analyze verify` with its hardening scored.

mod ops_common;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use dhub::telemetry::Telemetry;
use ops_common::promtool;
use serde_norway::Value as Yaml;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &str) -> String {
    std::fs::read_to_string(repo().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn yaml(path: &str) -> Yaml {
    serde_norway::from_str(&read(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn output_text(output: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn alert_rules_pass_promtool_check_rules_and_their_unit_tests() {
    let dir = repo().join("deploy/prometheus");
    let checked = promtool(
        &[
            "check",
            "rules",
            &dir.join("dhub-alerts.yml").display().to_string(),
        ],
        None,
    );
    assert!(checked.status.success(), "{}", output_text(&checked));
    let tested = promtool(
        &[
            "test",
            "rules",
            &dir.join("dhub-alerts.test.yml").display().to_string(),
        ],
        None,
    );
    assert!(tested.status.success(), "{}", output_text(&tested));
    // Every alert has a unit test (the test file names it).
    let tests = read("deploy/prometheus/dhub-alerts.test.yml");
    for alert in alert_names() {
        assert!(
            tests.contains(&format!("alertname: {alert}")),
            "no rule unit test for {alert}"
        );
    }
}

#[test]
fn prometheus_config_of_the_compose_file_passes_promtool() {
    let checked = promtool(
        &[
            "check",
            "config",
            "--syntax-only",
            &repo()
                .join("deploy/prometheus/prometheus.yml")
                .display()
                .to_string(),
        ],
        None,
    );
    assert!(checked.status.success(), "{}", output_text(&checked));
}

fn alert_names() -> Vec<String> {
    let rules = yaml("deploy/prometheus/dhub-alerts.yml");
    rules["groups"]
        .as_sequence()
        .unwrap()
        .iter()
        .flat_map(|group| group["rules"].as_sequence().unwrap().iter())
        .map(|rule| rule["alert"].as_str().unwrap().to_string())
        .collect()
}

/// Metric names in a PromQL expression: every identifier that starts with `dhub_`.
fn metrics_in(expr: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let bytes = expr.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let starts_word = i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_');
        if starts_word && expr[i..].starts_with("dhub_") {
            let end = expr[i..]
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
                .map_or(expr.len(), |n| i + n);
            names.insert(expr[i..end].to_string());
            i = end;
        } else {
            i += 1;
        }
    }
    names
}

/// Every metric name the hub exports, read from a live exposition after each kind of event has
/// happened once (a labelled metric has no series until then).
fn exported_metrics() -> BTreeSet<String> {
    use dhub_connectors::ConnectorEvents;
    use dhub_ingest::IngestEvents;
    use dhub_publish::RelayEvents;
    let telemetry = Telemetry::new();
    telemetry.records_received("s", 1);
    telemetry.record_stored("s");
    telemetry.record_unchanged("s");
    telemetry.record_quarantined("s", "mapping", "f:1", "r");
    telemetry.record_warning("s", "f:1", "w");
    telemetry.outbox_enqueued("p", "upsert");
    telemetry.redacted("resident_id", 1);
    telemetry.redaction_time(Duration::from_millis(1));
    telemetry.withheld("p", "secret");
    IngestEvents::store_failed(&telemetry, "op", &"e");
    telemetry.document_done("s", 1);
    telemetry.document_failed("s", "r");
    telemetry.source_lag("s", Duration::from_secs(1));
    telemetry.delivered("p", "upsert", Duration::from_millis(5));
    telemetry.delivery_failed("p", &rdkafka::error::KafkaError::Canceled);
    telemetry.parked("p", "r");
    telemetry.producer_replaced("e");
    telemetry.feed_progress("p", 1, Duration::from_secs(1));
    telemetry.pruned(1);
    telemetry.broker_unavailable("e");
    telemetry.leases_held(1);
    telemetry.task_started("source:s");
    telemetry.task_failed("source:s", "r", Duration::from_secs(1));
    telemetry.deadlines_checked(&dhub::compliance::DeadlineCounts::default());
    let text = telemetry.render();
    let mut names = BTreeSet::new();
    for line in text.lines() {
        let name = if let Some(rest) = line.strip_prefix("# TYPE ") {
            rest.split(' ').next().unwrap_or_default()
        } else if line.starts_with('#') {
            continue;
        } else {
            line.split(['{', ' ']).next().unwrap_or_default()
        };
        names.insert(name.to_string());
    }
    names
}

fn assert_exported(what: &str, expr: &str, exported: &BTreeSet<String>) {
    let named = metrics_in(expr);
    assert!(!named.is_empty(), "{what}: `{expr}` names no dhub metric");
    for name in named {
        assert!(
            exported.contains(&name),
            "{what}: `{expr}` names {name}, which the hub does not export"
        );
    }
}

#[test]
fn every_grafana_query_and_alert_names_a_metric_the_hub_exports() {
    let exported = exported_metrics();
    assert!(exported.contains("dhub_build_info"), "{exported:?}");

    let dashboard: serde_json::Value =
        serde_json::from_str(&read("deploy/grafana/dhub.json")).unwrap();
    let panels = dashboard["panels"].as_array().unwrap();
    let mut queries = 0;
    for panel in panels {
        for target in panel["targets"].as_array().unwrap() {
            let expr = target["expr"].as_str().unwrap();
            assert_exported(panel["title"].as_str().unwrap(), expr, &exported);
            queries += 1;
        }
    }
    assert!(queries >= 15, "{queries} queries");
    // The panels use the data source the provisioning creates.
    let datasources = yaml("deploy/grafana/provisioning/datasources/prometheus.yml");
    let uid = datasources["datasources"][0]["uid"].as_str().unwrap();
    assert_eq!(
        dashboard["templating"]["list"][0]["current"]["value"].as_str(),
        Some(uid)
    );

    let rules = yaml("deploy/prometheus/dhub-alerts.yml");
    for group in rules["groups"].as_sequence().unwrap() {
        for rule in group["rules"].as_sequence().unwrap() {
            assert_exported(
                rule["alert"].as_str().unwrap(),
                rule["expr"].as_str().unwrap(),
                &exported,
            );
        }
    }
}

#[test]
fn the_metric_name_reader_finds_names_and_not_functions_or_labels() {
    let names = metrics_in(
        "time() - max by (source) (dhub_source_last_success_timestamp_seconds{x=\"dhub_no\"}) > 3600 and rate(dhub_a_total[5m])",
    );
    assert_eq!(
        names.into_iter().collect::<Vec<_>>(),
        vec![
            "dhub_a_total",
            "dhub_no",
            "dhub_source_last_success_timestamp_seconds"
        ]
    );
}

/// A folder laid out like `/etc/dhub` in the image: the config, with the repository's mappings
/// and policies beside it and made-up secret files; returns the config's path.
fn etc_dhub(config: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(repo().join("mappings"), dir.path().join("mappings")).unwrap();
    std::os::unix::fs::symlink(
        repo().join("deploy/demo/policies"),
        dir.path().join("policies"),
    )
    .unwrap();
    std::fs::create_dir(dir.path().join("secrets")).unwrap();
    std::fs::write(
        dir.path().join("secrets/state-url"),
        "postgres://dhub:x@postgres/dhub\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("secrets/kafka-password"), "x\n").unwrap();
    let path = dir.path().join("hub.toml");
    std::fs::write(&path, config).unwrap();
    (dir, path)
}

/// Loads a config with the hub's own loader and the `DHUB_…` variables a manifest passes; an
/// unknown key (in the file or a variable) is an error there.
fn load_with(config: &str, env: &[(String, String)]) -> dhub::config::HubConfig {
    let (_dir, path) = etc_dhub(config);
    let overrides: Vec<(String, String)> = env
        .iter()
        .filter(|(key, _)| key.starts_with("DHUB_") && key.contains("__"))
        .cloned()
        .collect();
    dhub::config::HubConfig::parse(config, &path, &overrides)
        .unwrap_or_else(|errors| panic!("the hub refuses the config: {errors}"))
}

#[test]
fn compose_file_parses_and_passes_only_config_keys_the_hub_accepts() {
    let mut compose = yaml("deploy/compose.yml");
    // The two instances share their settings through a YAML anchor and `<<` merge keys.
    compose.apply_merge().unwrap();
    let services = compose["services"].as_mapping().unwrap();
    for needed in [
        "kafka",
        "postgres",
        "dhub-a",
        "dhub-b",
        "prometheus",
        "grafana",
    ] {
        assert!(services.contains_key(needed), "no service {needed}");
    }
    // Apache Kafka in KRaft mode: a controller role, no ZooKeeper.
    let kafka = &compose["services"]["kafka"];
    assert!(kafka["image"]
        .as_str()
        .unwrap()
        .starts_with("apache/kafka:"));
    assert!(kafka["environment"]["KAFKA_PROCESS_ROLES"]
        .as_str()
        .unwrap()
        .contains("controller"));
    assert!(!read("deploy/compose.yml")
        .to_lowercase()
        .contains("zookeeper_connect"));

    let config = read("deploy/compose/hub.toml");
    for instance in ["dhub-a", "dhub-b"] {
        let service = &compose["services"][instance];
        let env: Vec<(String, String)> = service["environment"]
            .as_mapping()
            .unwrap()
            .iter()
            .map(|(k, v)| {
                let value = match v {
                    Yaml::String(s) => s.clone(),
                    other => serde_norway::to_string(other).unwrap().trim().to_string(),
                };
                (k.as_str().unwrap().to_string(), value)
            })
            .collect();
        assert!(
            env.iter().any(|(k, _)| k == "DHUB_HUB__STATE"),
            "{instance}"
        );
        let loaded = load_with(&config, &env);
        assert!(
            loaded.state_url.starts_with("postgres://"),
            "{instance}: two instances need Postgres"
        );
        assert_eq!(loaded.listen.port(), 9464);
        // Both instances read the same export folders.
        assert!(service["volumes"][0]
            .as_str()
            .unwrap()
            .starts_with("inbox:"));
    }
    // Prometheus and Grafana mount files that exist.
    for service in ["prometheus", "grafana"] {
        for volume in compose["services"][service]["volumes"]
            .as_sequence()
            .unwrap()
        {
            let from = volume.as_str().unwrap().split(':').next().unwrap();
            assert!(
                repo().join("deploy").join(from).exists(),
                "{service} mounts {from}, which is not in deploy/"
            );
        }
    }
}

fn k8s_documents() -> Vec<(String, Yaml)> {
    let kustomization = yaml("deploy/k8s/kustomization.yaml");
    kustomization["resources"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|file| {
            let file = format!("deploy/k8s/{}", file.as_str().unwrap());
            let document = yaml(&file);
            (file, document)
        })
        .collect()
}

fn of_kind<'a>(documents: &'a [(String, Yaml)], kind: &str) -> &'a Yaml {
    &documents
        .iter()
        .find(|(_, d)| d["kind"].as_str() == Some(kind))
        .unwrap_or_else(|| panic!("no {kind} in deploy/k8s"))
        .1
}

#[test]
fn kubernetes_manifests_parse_probe_health_and_pass_only_known_config_keys() {
    let documents = k8s_documents();
    for (file, document) in &documents {
        assert!(
            document["apiVersion"].is_string() && document["kind"].is_string(),
            "{file}"
        );
    }
    let deployment = of_kind(&documents, "Deployment");
    let pod = &deployment["spec"]["template"]["spec"];
    let container = &pod["containers"][0];
    assert_eq!(
        container["livenessProbe"]["httpGet"]["path"].as_str(),
        Some("/healthz")
    );
    assert_eq!(
        container["readinessProbe"]["httpGet"]["path"].as_str(),
        Some("/readyz")
    );
    assert_eq!(pod["securityContext"]["runAsNonRoot"].as_bool(), Some(true));
    assert_eq!(
        container["securityContext"]["allowPrivilegeEscalation"].as_bool(),
        Some(false)
    );
    assert!(deployment["spec"]["replicas"].as_u64().unwrap() >= 2);

    // The ConfigMap's hub.toml, with the Deployment's variables, loads with the hub's loader.
    let config_map = of_kind(&documents, "ConfigMap");
    let config = config_map["data"]["hub.toml"].as_str().unwrap();
    let env: Vec<(String, String)> = container["env"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(|e| {
            Some((
                e["name"].as_str()?.to_string(),
                e["value"].as_str()?.to_string(),
            ))
        })
        .collect();
    let loaded = load_with(config, &env);
    assert_eq!(loaded.listen.port(), 9464);
    assert_eq!(loaded.sources.len(), 2);

    // The volumes name the ConfigMap, the Secret (by reference: its values are not in the repo)
    // and a claim that exist.
    let volumes = pod["volumes"].as_sequence().unwrap();
    let config_name = config_map["metadata"]["name"].as_str().unwrap();
    assert!(volumes
        .iter()
        .any(|v| v["configMap"]["name"].as_str() == Some(config_name)));
    let secret = yaml("deploy/k8s/secret.example.yaml");
    let secret_name = secret["metadata"]["name"].as_str().unwrap();
    assert!(volumes
        .iter()
        .any(|v| v["secret"]["secretName"].as_str() == Some(secret_name)));
    for key in ["state-url", "kafka-password"] {
        assert!(
            secret["stringData"][key].is_string(),
            "the example Secret has no {key}"
        );
        assert!(
            config.contains(&format!("secrets/{key}")),
            "the config does not read {key}"
        );
    }
    assert!(
        !documents
            .iter()
            .any(|(_, d)| d["kind"].as_str() == Some("Secret")),
        "a Secret with values must not be applied from the repository"
    );

    // The Service and the PodDisruptionBudget select the Deployment's pods.
    let labels = &deployment["spec"]["template"]["metadata"]["labels"];
    let service = of_kind(&documents, "Service");
    let pdb = of_kind(&documents, "PodDisruptionBudget");
    for (key, value) in service["spec"]["selector"].as_mapping().unwrap() {
        assert_eq!(&labels[key.as_str().unwrap()], value);
    }
    for (key, value) in pdb["spec"]["selector"]["matchLabels"].as_mapping().unwrap() {
        assert_eq!(&labels[key.as_str().unwrap()], value);
    }
    assert!(pdb["spec"]["minAvailable"].as_u64().is_some());
}

#[test]
fn a_manifest_passing_an_unknown_config_key_is_refused() {
    // The check above means something only if the loader refuses what it does not know.
    let config = read("deploy/compose/hub.toml");
    let (_dir, path) = etc_dhub(&config);
    let refused = dhub::config::HubConfig::parse(
        &config,
        &path,
        &[("DHUB_HUB__LISTEN_ADRESS".into(), "0.0.0.0:1".into())],
    );
    assert!(refused.is_err());
}

#[test]
fn dockerfile_builds_in_stages_and_runs_as_a_non_root_user() {
    let dockerfile = read("Dockerfile");
    let stages: Vec<&str> = dockerfile
        .lines()
        .filter(|l| l.starts_with("FROM "))
        .collect();
    assert!(stages.len() >= 2, "{stages:?}");
    assert!(dockerfile.contains("COPY --from=build"));
    let user = dockerfile
        .lines()
        .filter_map(|l| l.strip_prefix("USER "))
        .last()
        .expect("a USER line");
    assert!(
        !user.starts_with("root") && !user.starts_with("0"),
        "{user}"
    );
    // What the image copies from the repository exists.
    for line in dockerfile
        .lines()
        .filter(|l| l.starts_with("COPY ") && !l.contains("--from"))
    {
        let parts: Vec<&str> = line.split_whitespace().collect();
        for from in &parts[1..parts.len() - 1] {
            if *from != "." {
                assert!(repo().join(from).exists(), "{line}");
            }
        }
    }
    // The image's default config loads (it is the compose file's, before its variables).
    let loaded = load_with(&read("deploy/compose/hub.toml"), &[]);
    assert_eq!(loaded.platforms.len(), 4);
}

#[test]
fn systemd_unit_passes_systemd_analyze_and_is_hardened() {
    let unit = read("deploy/systemd/dhub.service");
    for option in [
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "DynamicUser=yes",
        "PrivateTmp=yes",
        "CapabilityBoundingSet=",
        "SystemCallFilter=@system-service",
    ] {
        assert!(unit.contains(option), "no {option}");
    }
    let Ok(version) = Command::new("systemd-analyze").arg("--version").output() else {
        eprintln!("systemd-analyze is not installed; the unit was only checked for its options");
        return;
    };
    assert!(version.status.success());
    // verify checks that ExecStart's binary exists: point it at the one cargo built.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dhub.service");
    std::fs::write(
        &path,
        unit.replace("/usr/local/bin/dhub", env!("CARGO_BIN_EXE_dhub")),
    )
    .unwrap();
    let verified = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        verified.status.success() && verified.stderr.is_empty(),
        "{}",
        output_text(&verified)
    );
    let security = Command::new("systemd-analyze")
        .args(["security", "--offline=yes"])
        .arg(&path)
        .output()
        .unwrap();
    let text = output_text(&security);
    let exposure: f64 = text
        .lines()
        .find_map(|l| l.split("Overall exposure level for dhub.service: ").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no exposure level in:\n{text}"));
    println!("systemd-analyze security: exposure {exposure} (0 safest, 10 unsafe)");
    assert!(exposure < 2.0, "exposure {exposure}:\n{text}");
}

#[test]
fn readme_says_how_to_run_each_deployment() {
    let readme = read("README.md");
    for needle in [
        "docker build",
        "docker compose -f deploy/compose.yml",
        "kubectl apply -k deploy/k8s",
        "deploy/systemd/dhub.service",
        "deploy/prometheus/dhub-alerts.yml",
        "deploy/grafana/dhub.json",
    ] {
        assert!(readme.contains(needle), "README does not say `{needle}`");
    }
}
