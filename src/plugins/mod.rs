//! Rhai plugins: files in the plugins directory that become handlers of the
//! dispatch chain. Compiled once, swapped atomically when a file changes (a
//! file that fails to compile leaves the previous version running), run in a
//! sandbox off the async workers, with state kept in the database.

pub mod api;
pub mod cli;
pub mod counters;
pub mod dry_run;
pub mod engine;
mod handler;
pub mod message_map;
pub mod registry;
pub mod routes;
pub mod script;
pub mod state;
mod watch;

pub use handler::handler_name;
pub use registry::{PluginInfo, Registry, ReloadReport};

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;

use crate::entity::users;
use crate::wechat::InboundMessage;
use engine::{CallState, LogLine, PluginContext, ScriptError, ScriptOutcome, StateStore};
use script::Script;

/// The shared modules folder: `plugins/lib/<name>.rhai` is `import "<name>"`.
pub const LIB_DIR: &str = "lib";
/// Editors write a file in several steps; wait for quiet before reloading.
const DEBOUNCE: Duration = Duration::from_millis(150);

/// Counters of one plugin, kept across reloads.
#[derive(Default)]
pub struct Stats {
    pub calls: AtomicU64,
    pub errors: AtomicU64,
    pub total_micros: AtomicU64,
    pub last_error: Mutex<Option<(chrono::DateTime<chrono::Utc>, String)>>,
}

/// One loaded version of a plugin: what the chain runs.
pub struct Plugin {
    pub script: Script,
    pub path: PathBuf,
    pub source_hash: String,
    pub loaded_at: chrono::DateTime<chrono::Utc>,
    stats: Arc<Stats>,
    runtime: Arc<Runtime>,
}

/// What every plugin call needs besides the script.
pub struct Runtime {
    pub timeout: Duration,
    pub state: Arc<dyn StateStore>,
    /// Bounds how many scripts run at once (each takes a blocking thread).
    pub slots: Semaphore,
    pub switches: Option<state::Switches>,
    /// Calls counted per plugin, account and hour (none without a database).
    pub counters: Option<Arc<counters::Counters>>,
}

/// The result of one call.
pub struct CallReport {
    pub outcome: Result<ScriptOutcome, ScriptError>,
    pub logs: Vec<LogLine>,
    pub writes: engine::StateWrites,
    pub micros: u64,
}

impl Plugin {
    pub fn name(&self) -> &str {
        &self.script.declaration.name
    }

    /// Runs the plugin on a blocking thread; nothing is written.
    pub async fn run(
        self: &Arc<Self>,
        message: Arc<InboundMessage>,
        ctx: PluginContext,
        account_id: i64,
    ) -> CallReport {
        let started = Instant::now();
        let dry_run = ctx.dry_run;
        let _slot = self.runtime.slots.acquire().await;
        let call = Arc::new(CallState::new(
            self.name(),
            account_id,
            &message.from_user,
            ctx.dry_run,
            self.runtime.state.clone(),
        ));
        let plugin = self.clone();
        let call_for_thread = call.clone();
        let timeout = self.runtime.timeout;
        let joined = tokio::task::spawn_blocking(move || {
            plugin.script.call(&message, ctx, call_for_thread, timeout)
        })
        .await;
        let outcome = joined.unwrap_or_else(|panic| {
            Err(engine::script_error(
                &self.script.file,
                rhai::Position::NONE,
                format!("the script runner failed: {panic}"),
            ))
        });
        let micros = started.elapsed().as_micros() as u64;
        let logs = std::mem::take(&mut *call.logs.lock().unwrap_or_else(|p| p.into_inner()));
        let writes = std::mem::take(&mut *call.writes.lock().unwrap_or_else(|p| p.into_inner()));
        // Dry runs show their result to whoever ran them; they are not counted.
        if dry_run {
            return CallReport {
                outcome,
                logs,
                writes,
                micros,
            };
        }
        self.stats.calls.fetch_add(1, Ordering::Relaxed);
        self.stats.total_micros.fetch_add(micros, Ordering::Relaxed);
        let counted_as = if outcome.is_ok() { "ok" } else { "failed" };
        metrics::counter!("wxmp_plugin_runs_total", "plugin" => self.name().to_owned(), "outcome" => counted_as)
            .increment(1);
        if let Some(counters) = &self.runtime.counters {
            counters.count(self.name(), account_id, outcome.is_err(), micros);
        }
        if let Err(error) = &outcome {
            self.stats.errors.fetch_add(1, Ordering::Relaxed);
            *self
                .stats
                .last_error
                .lock()
                .unwrap_or_else(|p| p.into_inner()) = Some((chrono::Utc::now(), error.to_string()));
            tracing::warn!(plugin = %self.name(), error = %error, "plugin failed; the chain goes on");
        }
        CallReport {
            outcome,
            logs,
            writes,
            micros,
        }
    }

    /// What the fan gets when this plugin fails: its `on_error` text, if declared.
    pub fn on_error_reply(&self) -> Option<crate::wechat::Reply> {
        self.script
            .declaration
            .on_error
            .clone()
            .map(|content| crate::wechat::Reply::Text { content })
    }

    fn runs_for(&self, app_id: &str) -> bool {
        let accounts = &self.script.declaration.accounts;
        accounts.is_empty() || accounts.iter().any(|a| a == app_id)
    }

    /// Whether the callback runs this plugin for `account`: switched on in
    /// its file, listed for the account (or for all), and switched on there
    /// (an `opt_in` plugin only where an admin did). A switch that cannot be
    /// read counts as off.
    pub async fn runs_for_account(&self, account: &crate::entity::accounts::Model) -> bool {
        let declaration = &self.script.declaration;
        if !declaration.enabled || !self.runs_for(&account.app_id) {
            return false;
        }
        let Some(switches) = &self.runtime.switches else {
            return !declaration.opt_in;
        };
        match switches
            .enabled(self.name(), account.id, !declaration.opt_in)
            .await
        {
            Ok(on) => on,
            Err(error) => {
                tracing::warn!(plugin = %self.name(), %error, "cannot read plugin switches; skipping");
                false
            }
        }
    }
}

/// The context scripts get: the account, and the fan as stored.
pub fn plugin_context(
    fan: Option<&users::Model>,
    plugin: &str,
    account: &crate::entity::accounts::Model,
    openid: &str,
    dry_run: bool,
) -> PluginContext {
    let mut account_map = rhai::Map::new();
    account_map.insert("id".into(), account.id.to_string().into());
    account_map.insert("app_id".into(), account.app_id.clone().into());
    account_map.insert("name".into(), account.account_name.clone().into());
    account_map.insert("original_id".into(), account.original_id.clone().into());
    let time = |t: Option<chrono::DateTime<chrono::Utc>>| {
        t.map(|t| rhai::Dynamic::from(t.to_rfc3339()))
            .unwrap_or(rhai::Dynamic::UNIT)
    };
    let mut fan_map = rhai::Map::new();
    fan_map.insert("openid".into(), openid.to_string().into());
    fan_map.insert("known".into(), fan.is_some().into());
    let fan = fan.cloned().unwrap_or_default();
    fan_map.insert("subscribed".into(), (fan.subscribe_status == 1).into());
    fan_map.insert("subscribe_time".into(), time(fan.subscribe_time));
    fan_map.insert("last_interact_time".into(), time(fan.last_interact_time));
    fan_map.insert("message_count".into(), i64::from(fan.message_count).into());
    fan_map.insert("nickname".into(), fan.nickname.into());
    fan_map.insert("remark".into(), fan.remark.into());
    fan_map.insert("staff".into(), (fan.is_staff == 1).into());
    let tags: rhai::Array = fan
        .tags
        .and_then(|t| t.as_array().cloned())
        .unwrap_or_default()
        .into_iter()
        .filter_map(|t| t.as_i64().map(rhai::Dynamic::from))
        .collect();
    fan_map.insert("tags".into(), tags.into());
    PluginContext {
        account: account_map,
        fan: fan_map,
        plugin: plugin.into(),
        dry_run,
    }
}
