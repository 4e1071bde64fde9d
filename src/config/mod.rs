//! Configuration: defaults, then an optional `wxmp.toml`, then `WXMP_*`
//! environment variables. A bad value is an error naming its source.

use crate::logging::LogFormat;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

#[derive(Clone, Debug)]
pub struct Config {
    pub database_url: String,
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    /// `None`: generated once and kept in the data dir.
    pub jwt_secret: Option<String>,
    pub admin_user: String,
    /// `None`: generated and printed once when the first admin is created.
    pub admin_password: Option<String>,
    pub plugins_dir: PathBuf,
    pub wechat_api_base: String,
    pub pay_api_base: String,
    /// `None`: derived from the host name and process id.
    pub worker_id: Option<u16>,
    pub log: String,
    /// How log lines are written: text (coloured on a terminal) or JSON, one object per line.
    pub log_format: LogFormat,
    /// Lifetime of an admin token.
    pub jwt_ttl_secs: i64,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Callback requests older (or newer) than this are refused as replays; 0 turns the check off.
    pub callback_max_age_secs: u64,
    /// The callback answers within this many milliseconds of arrival (WeChat gives up at 5 s).
    pub callback_deadline_ms: u64,
    /// A request (its body included) not answered within this many seconds
    /// gets 408: a client that trickles its body cannot hold a connection.
    pub request_timeout_secs: u64,
    /// A call to WeChat's API not answered within this many seconds fails.
    pub wechat_timeout_secs: u64,
    /// Hosts media is downloaded from (WeChat's image hosts by default).
    pub media_hosts: Vec<String>,
    /// A running job whose instance vanished (killed, cut off) is taken up
    /// again by another worker this many seconds after its last renewal.
    pub job_lease_secs: u64,
    /// Wall time one plugin call may take.
    pub plugin_timeout_ms: u64,
    /// Where WeChat reaches this server from outside (e.g. `https://wx.example.com`):
    /// the base of notify URLs sent to WeChat Pay and of callback URLs shown to
    /// admins. `None`: derived from the request.
    pub public_url: Option<String>,
    /// Bearer token a Prometheus scraper sends to `GET /metrics` (admins' tokens work too).
    pub metrics_token: Option<String>,
    /// Reverse proxies whose `X-Forwarded-For` names the client (sign-in
    /// throttling and the audit trail use the client's address).
    pub trusted_proxies: Vec<std::net::IpAddr>,
}

/// WeChat's image hosts: where `PicUrl` of image messages points.
pub const DEFAULT_MEDIA_HOSTS: [&str; 5] = [
    "mmbiz.qpic.cn",
    "mmbiz.qlogo.cn",
    "mmsns.qpic.cn",
    "wx.qlogo.cn",
    "thirdwx.qlogo.cn",
];

impl Default for Config {
    fn default() -> Self {
        Self {
            database_url: "sqlite://data/wxmp.db?mode=rwc".into(),
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("data"),
            jwt_secret: None,
            admin_user: "admin".into(),
            admin_password: None,
            plugins_dir: PathBuf::from("plugins"),
            wechat_api_base: "https://api.weixin.qq.com".into(),
            pay_api_base: "https://api.mch.weixin.qq.com".into(),
            worker_id: None,
            log: "info".into(),
            log_format: LogFormat::Text,
            jwt_ttl_secs: 12 * 3600,
            max_body_bytes: 2 * 1024 * 1024,
            callback_max_age_secs: 300,
            callback_deadline_ms: 4500,
            request_timeout_secs: 60,
            wechat_timeout_secs: 15,
            media_hosts: DEFAULT_MEDIA_HOSTS.iter().map(|h| h.to_string()).collect(),
            job_lease_secs: 30,
            plugin_timeout_ms: 200,
            public_url: None,
            metrics_token: None,
            trusted_proxies: Vec::new(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path}: {message}")]
    File { path: PathBuf, message: String },
    #[error("{name}={value:?} is not valid: {reason}")]
    Env {
        name: &'static str,
        value: String,
        reason: String,
    },
}

/// The keys of `wxmp.toml`; each mirrors a `WXMP_*` variable.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    database_url: Option<String>,
    listen: Option<String>,
    data_dir: Option<PathBuf>,
    jwt_secret: Option<String>,
    admin_user: Option<String>,
    admin_password: Option<String>,
    plugins_dir: Option<PathBuf>,
    wechat_api_base: Option<String>,
    pay_api_base: Option<String>,
    worker_id: Option<u16>,
    log: Option<String>,
    log_format: Option<String>,
    jwt_ttl_secs: Option<i64>,
    max_body_bytes: Option<usize>,
    callback_max_age: Option<u64>,
    callback_deadline_ms: Option<u64>,
    request_timeout_secs: Option<u64>,
    wechat_timeout_secs: Option<u64>,
    media_hosts: Option<Vec<String>>,
    job_lease_secs: Option<u64>,
    plugin_timeout_ms: Option<u64>,
    public_url: Option<String>,
    metrics_token: Option<String>,
    trusted_proxies: Option<Vec<std::net::IpAddr>>,
}

impl Config {
    /// Loads the configuration from `file` (or `wxmp.toml` in the working
    /// directory when it exists) and the process environment.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let env: HashMap<String, String> = std::env::vars().collect();
        Self::load_from(file, &env)
    }

    pub fn load_from(
        file: Option<&Path>,
        env: &HashMap<String, String>,
    ) -> Result<Self, ConfigError> {
        let mut config = Config::default();
        let file = file
            .map(Path::to_path_buf)
            .or_else(|| env.get("WXMP_CONFIG").map(PathBuf::from))
            .or_else(|| Some(PathBuf::from("wxmp.toml")).filter(|p| p.exists()));
        if let Some(path) = file {
            config.apply_file(&path)?;
        }
        config.apply_env(env)?;
        Ok(config)
    }

    fn apply_file(&mut self, path: &Path) -> Result<(), ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let file: FileConfig = toml::from_str(&text).map_err(|e| ConfigError::File {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        let file_error = |message: String| ConfigError::File {
            path: path.to_path_buf(),
            message,
        };
        if let Some(v) = file.database_url {
            self.database_url = v;
        }
        if let Some(v) = file.listen {
            self.listen = v.parse().map_err(|_| {
                file_error(format!(
                    "listen = {v:?} is not an address like 127.0.0.1:8080"
                ))
            })?;
        }
        if let Some(v) = file.data_dir {
            self.data_dir = v;
        }
        if file.jwt_secret.is_some() {
            self.jwt_secret = file.jwt_secret;
        }
        if file.metrics_token.is_some() {
            self.metrics_token = file.metrics_token;
        }
        if let Some(v) = file.admin_user {
            self.admin_user = v;
        }
        if file.admin_password.is_some() {
            self.admin_password = file.admin_password;
        }
        if let Some(v) = file.plugins_dir {
            self.plugins_dir = v;
        }
        if let Some(v) = file.wechat_api_base {
            self.wechat_api_base = v;
        }
        if let Some(v) = file.pay_api_base {
            self.pay_api_base = v;
        }
        if let Some(v) = file.worker_id {
            if v > crate::ids::MAX_WORKER_ID {
                return Err(file_error(format!("worker_id = {v} is above 1023")));
            }
            self.worker_id = Some(v);
        }
        if let Some(v) = file.log {
            self.log = v;
        }
        if let Some(v) = file.log_format {
            self.log_format =
                LogFormat::parse(&v).map_err(|r| file_error(format!("log_format = {v:?}: {r}")))?;
        }
        if let Some(v) = file.jwt_ttl_secs {
            self.jwt_ttl_secs = v;
        }
        if let Some(v) = file.max_body_bytes {
            self.max_body_bytes = v;
        }
        if let Some(v) = file.callback_max_age {
            self.callback_max_age_secs = v;
        }
        if let Some(v) = file.callback_deadline_ms {
            self.callback_deadline_ms = v;
        }
        if let Some(v) = file.request_timeout_secs {
            self.request_timeout_secs = v;
        }
        if let Some(v) = file.wechat_timeout_secs {
            self.wechat_timeout_secs = v;
        }
        if let Some(v) = file.trusted_proxies {
            self.trusted_proxies = v;
        }
        if let Some(v) = file.media_hosts {
            self.media_hosts = v;
        }
        if let Some(v) = file.plugin_timeout_ms {
            self.plugin_timeout_ms = v;
        }
        if let Some(v) = file.job_lease_secs {
            self.job_lease_secs = v;
        }
        if let Some(v) = file.public_url {
            check_http_url(&v).map_err(|r| file_error(format!("public_url: {r}")))?;
            self.public_url = Some(v.trim_end_matches('/').to_string());
        }
        self.check().map_err(file_error)
    }

    fn apply_env(&mut self, env: &HashMap<String, String>) -> Result<(), ConfigError> {
        let get = |name: &str| env.get(name).filter(|v| !v.is_empty()).cloned();
        let bad = |name: &'static str, value: &str, reason: &str| ConfigError::Env {
            name,
            value: value.to_string(),
            reason: reason.to_string(),
        };
        if let Some(v) = get("WXMP_DATABASE_URL") {
            check_database_url(&v).map_err(|r| bad("WXMP_DATABASE_URL", &v, &r))?;
            self.database_url = v;
        }
        if let Some(v) = get("WXMP_LISTEN") {
            self.listen = v
                .parse()
                .map_err(|_| bad("WXMP_LISTEN", &v, "expected an address like 127.0.0.1:8080"))?;
        }
        if let Some(v) = get("WXMP_DATA_DIR") {
            self.data_dir = PathBuf::from(v);
        }
        if let Some(v) = get("WXMP_JWT_SECRET") {
            if v.len() < 16 {
                return Err(bad(
                    "WXMP_JWT_SECRET",
                    "****",
                    "must be at least 16 characters",
                ));
            }
            self.jwt_secret = Some(v);
        }
        if let Some(v) = get("WXMP_METRICS_TOKEN") {
            if v.len() < 16 {
                return Err(bad(
                    "WXMP_METRICS_TOKEN",
                    "****",
                    "must be at least 16 characters",
                ));
            }
            self.metrics_token = Some(v);
        }
        if let Some(v) = get("WXMP_ADMIN_USER") {
            self.admin_user = v;
        }
        if let Some(v) = get("WXMP_ADMIN_PASSWORD") {
            self.admin_password = Some(v);
        }
        if let Some(v) = get("WXMP_PLUGINS_DIR") {
            self.plugins_dir = PathBuf::from(v);
        }
        if let Some(v) = get("WXMP_WECHAT_API_BASE") {
            check_http_url(&v).map_err(|r| bad("WXMP_WECHAT_API_BASE", &v, &r))?;
            self.wechat_api_base = v;
        }
        if let Some(v) = get("WXMP_PAY_API_BASE") {
            check_http_url(&v).map_err(|r| bad("WXMP_PAY_API_BASE", &v, &r))?;
            self.pay_api_base = v;
        }
        if let Some(v) = get("WXMP_WORKER_ID") {
            let id: u16 = v
                .parse()
                .ok()
                .filter(|id| *id <= crate::ids::MAX_WORKER_ID)
                .ok_or_else(|| {
                    bad(
                        "WXMP_WORKER_ID",
                        &v,
                        "expected a whole number from 0 to 1023",
                    )
                })?;
            self.worker_id = Some(id);
        }
        if let Some(v) = get("WXMP_CALLBACK_MAX_AGE") {
            self.callback_max_age_secs = v.parse().map_err(|_| {
                bad(
                    "WXMP_CALLBACK_MAX_AGE",
                    &v,
                    "expected seconds (0 turns the check off)",
                )
            })?;
        }
        if let Some(v) = get("WXMP_CALLBACK_DEADLINE_MS") {
            self.callback_deadline_ms = v
                .parse()
                .ok()
                .filter(|ms| (100..=4900).contains(ms))
                .ok_or_else(|| {
                    bad(
                        "WXMP_CALLBACK_DEADLINE_MS",
                        &v,
                        "expected milliseconds from 100 to 4900",
                    )
                })?;
        }
        if let Some(v) = get("WXMP_REQUEST_TIMEOUT") {
            self.request_timeout_secs = v
                .parse()
                .ok()
                .filter(|secs| (1..=3600).contains(secs))
                .ok_or_else(|| {
                    bad(
                        "WXMP_REQUEST_TIMEOUT",
                        &v,
                        "expected seconds from 1 to 3600",
                    )
                })?;
        }
        if let Some(v) = get("WXMP_WECHAT_TIMEOUT") {
            self.wechat_timeout_secs = v
                .parse()
                .ok()
                .filter(|secs| (1..=300).contains(secs))
                .ok_or_else(|| bad("WXMP_WECHAT_TIMEOUT", &v, "expected seconds from 1 to 300"))?;
        }
        if let Some(v) = get("WXMP_TRUSTED_PROXIES") {
            self.trusted_proxies = v
                .split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(|p| p.parse())
                .collect::<Result<_, _>>()
                .map_err(|_| {
                    bad(
                        "WXMP_TRUSTED_PROXIES",
                        &v,
                        "expected IP addresses separated by commas",
                    )
                })?;
        }
        if let Some(v) = get("WXMP_MEDIA_HOSTS") {
            self.media_hosts = v
                .split(',')
                .map(|h| h.trim().to_ascii_lowercase())
                .filter(|h| !h.is_empty())
                .collect();
        }
        if let Some(v) = get("WXMP_JOB_LEASE") {
            self.job_lease_secs = v
                .parse()
                .ok()
                .filter(|secs| (3..=3600).contains(secs))
                .ok_or_else(|| bad("WXMP_JOB_LEASE", &v, "expected seconds from 3 to 3600"))?;
        }
        if let Some(v) = get("WXMP_PUBLIC_URL") {
            check_http_url(&v).map_err(|r| bad("WXMP_PUBLIC_URL", &v, &r))?;
            self.public_url = Some(v.trim_end_matches('/').to_string());
        }
        if let Some(v) = get("WXMP_PLUGIN_TIMEOUT_MS") {
            self.plugin_timeout_ms = v
                .parse()
                .ok()
                .filter(|ms| (10..=4000).contains(ms))
                .ok_or_else(|| {
                    bad(
                        "WXMP_PLUGIN_TIMEOUT_MS",
                        &v,
                        "expected milliseconds from 10 to 4000",
                    )
                })?;
        }
        if let Some(v) = get("WXMP_LOG") {
            tracing_subscriber::EnvFilter::try_new(&v)
                .map_err(|e| bad("WXMP_LOG", &v, &e.to_string()))?;
            self.log = v;
        }
        if let Some(v) = get("WXMP_LOG_FORMAT") {
            self.log_format = LogFormat::parse(&v).map_err(|r| bad("WXMP_LOG_FORMAT", &v, &r))?;
        }
        Ok(())
    }

    /// Checks values that came from the file (the environment ones are checked as read).
    fn check(&self) -> Result<(), String> {
        check_database_url(&self.database_url).map_err(|r| format!("database_url: {r}"))?;
        check_http_url(&self.wechat_api_base).map_err(|r| format!("wechat_api_base: {r}"))?;
        check_http_url(&self.pay_api_base).map_err(|r| format!("pay_api_base: {r}"))?;
        if self.metrics_token.as_ref().is_some_and(|t| t.len() < 16) {
            return Err("metrics_token must be at least 16 characters".into());
        }
        if self.jwt_ttl_secs < 60 {
            return Err("jwt_ttl_secs must be at least 60".into());
        }
        if self.max_body_bytes < 1024 {
            return Err("max_body_bytes must be at least 1024".into());
        }
        if !(10..=4000).contains(&self.plugin_timeout_ms) {
            return Err("plugin_timeout_ms must be from 10 to 4000".into());
        }
        if !(100..=4900).contains(&self.callback_deadline_ms) {
            return Err("callback_deadline_ms must be from 100 to 4900".into());
        }
        if !(1..=300).contains(&self.wechat_timeout_secs) {
            return Err("wechat_timeout_secs must be from 1 to 300".into());
        }
        if !(1..=3600).contains(&self.request_timeout_secs) {
            return Err("request_timeout_secs must be from 1 to 3600".into());
        }
        if !(3..=3600).contains(&self.job_lease_secs) {
            return Err("job_lease_secs must be from 3 to 3600".into());
        }
        Ok(())
    }
}

fn check_database_url(url: &str) -> Result<(), String> {
    const SCHEMES: [&str; 5] = [
        "sqlite:",
        "mysql://",
        "mariadb://",
        "postgres://",
        "postgresql://",
    ];
    if SCHEMES.iter().any(|s| url.starts_with(s)) {
        Ok(())
    } else {
        Err("expected a sqlite:, mysql://, postgres:// or postgresql:// URL".into())
    }
}

fn check_http_url(url: &str) -> Result<(), String> {
    if (url.starts_with("http://") || url.starts_with("https://")) && url.len() > "https://".len() {
        Ok(())
    } else {
        Err("expected an http:// or https:// base URL".into())
    }
}

#[cfg(test)]
mod tests;
