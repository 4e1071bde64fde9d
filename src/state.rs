//! AppState: everything a request needs, as cheap clones. No globals, so a
//! test can run many independent apps in one process.

use std::path::Path;
use std::sync::Arc;

use base64::Engine;
use sea_orm::DatabaseConnection;

use crate::auth::{JwtKeys, LoginThrottle};
use crate::callback::accounts::AccountCache;
use crate::callback::chain::Chain;
use crate::callback::inflight::Inflight;
use crate::callback::store::MessageStore;
use crate::config::Config;
use crate::ids::IdGenerator;
use crate::jobs::JobSignal;

/// What every request can reach: one `Arc`, so a clone per request is one
/// increment. Reads go through `Deref` to [`App`] (`state.db`, `state.ids`, …).
#[derive(Clone)]
pub struct AppState(Arc<App>);

impl std::ops::Deref for AppState {
    type Target = App;

    fn deref(&self) -> &App {
        &self.0
    }
}

pub struct App {
    /// The configuration the server started with.
    pub config: Config,
    /// The database pool.
    pub db: DatabaseConnection,
    /// This instance's name among those sharing the database (see `cluster`).
    pub instance: String,
    pub started_at: chrono::DateTime<chrono::Utc>,
    /// Snowflake ids for every new row.
    pub ids: Arc<IdGenerator>,
    /// Signs and checks admin tokens.
    pub jwt: JwtKeys,
    /// Slows down password guessing.
    pub login_throttle: LoginThrottle,
    /// Accounts and their compiled rules, as the callback reads them.
    pub callback_accounts: AccountCache,
    /// The callback's writer (group commit).
    pub store: MessageStore,
    /// Live inbox events for open consoles (Server-Sent Events).
    pub inbox: crate::inbox::events::Hub,
    /// Handlers that answer messages, by priority.
    pub chain: Arc<Chain>,
    /// Messages being handled now (retries wait for them).
    pub inflight: Inflight,
    /// Wakes the job worker.
    pub jobs: JobSignal,
    /// Rhai plugins, loaded from the plugins directory.
    pub plugins: Arc<crate::plugins::Registry>,
    /// The WeChat API client (shared pool and access tokens).
    pub wxapi: Arc<crate::wxapi::WxApi>,
    /// The WeChat Pay client (shared pool, certificate refreshes).
    pub pay: crate::pay::client::PayClient,
}

impl AppState {
    /// Builds the state for a connected, migrated database; creates the data
    /// dir and, when none is configured, the JWT secret kept in it. Starts the
    /// message writer, so it must run inside a Tokio runtime.
    pub fn new(config: Config, db: DatabaseConnection) -> anyhow::Result<Self> {
        std::fs::create_dir_all(&config.data_dir).map_err(|e| {
            anyhow::anyhow!(
                "cannot create WXMP_DATA_DIR {}: {e}",
                config.data_dir.display()
            )
        })?;
        let secret = match &config.jwt_secret {
            Some(secret) => secret.as_bytes().to_vec(),
            None => load_or_create_jwt_secret(&config.data_dir)?,
        };
        // Without a configured worker id, none is issued until
        // `cluster::instance::join` has leased one.
        let ids = Arc::new(match config.worker_id {
            Some(worker_id) => IdGenerator::new(worker_id),
            None => IdGenerator::leased(0, 0),
        });
        let instance = crate::cluster::instance::new_instance_id();
        let chain = Arc::new(Chain::default());
        let jobs = JobSignal::default();
        let inbox = crate::inbox::events::Hub::default();
        let plugin_runtime = crate::plugins::Runtime {
            timeout: std::time::Duration::from_millis(config.plugin_timeout_ms),
            state: Arc::new(crate::plugins::state::DbState::new(
                db.clone(),
                ids.clone(),
                tokio::runtime::Handle::current(),
            )),
            slots: tokio::sync::Semaphore::new(8),
            switches: Some(crate::plugins::state::Switches::new(db.clone())),
            counters: Some(Arc::new(crate::plugins::counters::Counters::new(
                db.clone(),
                ids.clone(),
            ))),
            settings: Some(crate::plugins::settings::SettingsStore::new(db.clone())),
            timers: Some(Arc::new(crate::plugins::timers::TimerStore::new(
                db.clone(),
                ids.clone(),
                tokio::runtime::Handle::current(),
                jobs.clone(),
            ))),
        };
        let plugins = Arc::new(crate::plugins::Registry::new(
            config.plugins_dir.clone(),
            chain.clone(),
            plugin_runtime,
        ));
        Ok(Self(Arc::new(App {
            wxapi: Arc::new(crate::wxapi::WxApi::new(
                &config.wechat_api_base,
                db.clone(),
                instance.clone(),
                std::time::Duration::from_secs(config.wechat_timeout_secs),
            )),
            pay: crate::pay::client::PayClient::new(&config.pay_api_base, db.clone()),
            plugins,
            jwt: JwtKeys::new(&secret, config.jwt_ttl_secs),
            config,
            callback_accounts: AccountCache::new(db.clone()),
            store: MessageStore::start(db.clone(), ids.clone(), inbox.clone()),
            inbox,
            chain,
            inflight: Inflight::default(),
            jobs,
            db,
            ids,
            instance,
            started_at: chrono::Utc::now(),
            login_throttle: LoginThrottle::default(),
        })))
    }
}

fn load_or_create_jwt_secret(data_dir: &Path) -> anyhow::Result<Vec<u8>> {
    let path = data_dir.join("jwt_secret");
    if let Ok(existing) = std::fs::read_to_string(&path) {
        let existing = existing.trim();
        if existing.len() >= 32 {
            return Ok(existing.as_bytes().to_vec());
        }
    }
    let mut bytes = [0u8; 48];
    rand::Rng::fill(&mut rand::rngs::OsRng, &mut bytes[..]);
    let secret = base64::engine::general_purpose::STANDARD.encode(bytes);
    write_private_file(&path, &secret)
        .map_err(|e| anyhow::anyhow!("cannot write the JWT secret to {}: {e}", path.display()))?;
    tracing::warn!(
        path = %path.display(),
        "WXMP_JWT_SECRET is not set: generated a JWT secret and kept it in the data dir; \
         set WXMP_JWT_SECRET when running several instances"
    );
    Ok(secret.into_bytes())
}

/// Writes a file only its owner can read.
fn write_private_file(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(contents.as_bytes())
}
