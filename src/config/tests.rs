//! Defaults, the file, the environment, and bad values naming their source.

use super::*;

fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn defaults_need_no_configuration() {
    let config = Config::load_from(None, &env(&[])).unwrap();
    assert_eq!(config.database_url, "sqlite://data/wxmp.db?mode=rwc");
    assert_eq!(config.listen.to_string(), "127.0.0.1:8080");
    assert_eq!(config.admin_user, "admin");
}

#[test]
fn environment_overrides_and_bad_values_name_the_variable() {
    let config = Config::load_from(
        None,
        &env(&[("WXMP_LISTEN", "127.0.0.1:0"), ("WXMP_WORKER_ID", "1023")]),
    )
    .unwrap();
    assert_eq!(config.listen.port(), 0);
    assert_eq!(config.worker_id, Some(1023));
    for (name, value) in [
        ("WXMP_WORKER_ID", "1024"),
        ("WXMP_LISTEN", "nowhere"),
        ("WXMP_DATABASE_URL", "oracle://x"),
        ("WXMP_WECHAT_API_BASE", "ftp://x"),
        ("WXMP_LOG", "[[["),
        ("WXMP_LOG_FORMAT", "yaml"),
        ("WXMP_METRICS_TOKEN", "short"),
        ("WXMP_TRUSTED_PROXIES", "10.0.0.1,nginx"),
        ("WXMP_JOB_LEASE", "1"),
    ] {
        let error = Config::load_from(None, &env(&[(name, value)])).unwrap_err();
        assert!(error.to_string().contains(name), "{error}");
    }
}

#[test]
fn file_then_environment() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wxmp.toml");
    std::fs::write(
        &path,
        "listen = \"127.0.0.1:9000\"\nadmin_user = \"root\"\n",
    )
    .unwrap();
    let config = Config::load_from(Some(&path), &env(&[("WXMP_ADMIN_USER", "boss")])).unwrap();
    assert_eq!(config.listen.port(), 9000);
    assert_eq!(config.admin_user, "boss");
    std::fs::write(&path, "lisen = \"x\"\n").unwrap();
    let error = Config::load_from(Some(&path), &env(&[])).unwrap_err();
    assert!(error.to_string().contains("lisen"), "{error}");
}
