//! Rhai plugins: files in the plugins directory that become handlers of the
//! dispatch chain. Compiled once, swapped atomically when a file changes (a
//! file that fails to compile leaves the previous version running), run in a
//! sandbox off the async workers, with state kept in the database.

mod action_job;
pub mod actions;
pub mod api;
pub mod call;
pub mod cli;
pub mod counters;
pub mod cron;
pub mod dry_request;
pub mod dry_run;
pub mod dry_state;
pub mod engine;
mod handler;
pub mod http_out;
pub mod message_map;
pub mod registry;
pub mod routes;
pub mod script;
pub mod settings;
pub mod settings_routes;
pub mod source;
pub mod source_routes;
pub mod state;
pub mod state_admin;
pub mod state_routes;
pub mod test_file;
pub mod timers;
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
use call::{CallState, LogLine, StateStore};
use engine::{LazyFan, PluginContext, ScriptError, ScriptOutcome};
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
    /// Where plugins' timers are kept (none without a database).
    pub timers: Option<Arc<timers::TimerStore>>,
    /// Where the accounts' values of plugin settings are kept (none without a database).
    pub settings: Option<Arc<settings::SettingsStore>>,
}

/// The result of one call.
pub struct CallReport {
    pub outcome: Result<ScriptOutcome, ScriptError>,
    pub logs: Vec<LogLine>,
    pub writes: call::StateWrites,
    /// Timers the call scheduled (saved, like the writes, if it succeeded).
    pub timers: Vec<timers::TimerRequest>,
    /// WeChat actions the call asked for (queued, like the writes, if it succeeded).
    pub actions: Vec<actions::ActionRequest>,
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
        let state = self.runtime.state.clone();
        self.run_with(message, ctx, account_id, state, None, None)
            .await
    }

    /// Runs the plugin reading `state`, with the clock fixed at `clock`
    /// (`None`: the real one); dry runs bring their own of both, and the
    /// fixtures that answer the plugin's HTTP requests.
    pub async fn run_with(
        self: &Arc<Self>,
        message: Arc<InboundMessage>,
        ctx: PluginContext,
        account_id: i64,
        state: Arc<dyn StateStore>,
        clock: Option<chrono::DateTime<chrono::Utc>>,
        http_fixtures: Option<Arc<Vec<http_out::HttpFixture>>>,
    ) -> CallReport {
        let openid = message.from_user.clone();
        self.run_entry(
            &openid,
            ctx.dry_run,
            account_id,
            state,
            clock,
            http_fixtures,
            move |script, call, timeout| script.call(&message, ctx.clone(), call, timeout),
        )
        .await
    }

    /// Runs the plugin's `on_timer(name, data, ctx)` for the fan `openid`.
    pub async fn run_timer(
        self: &Arc<Self>,
        name: String,
        data: serde_json::Value,
        ctx: PluginContext,
        account_id: i64,
        openid: &str,
    ) -> CallReport {
        let state = self.runtime.state.clone();
        self.run_entry(
            openid,
            false,
            account_id,
            state,
            None,
            None,
            move |script, call, timeout| {
                script.call_timer(&name, data.clone(), ctx.clone(), call, timeout)
            },
        )
        .await
    }

    /// Runs `invoke` with a call's state set up (tried inline first, see
    /// `engine::try_inline`, else on a blocking thread), and counts the call
    /// (not a dry run's).
    #[allow(clippy::too_many_arguments)]
    async fn run_entry(
        self: &Arc<Self>,
        openid: &str,
        dry_run: bool,
        account_id: i64,
        state: Arc<dyn StateStore>,
        clock: Option<chrono::DateTime<chrono::Utc>>,
        http_fixtures: Option<Arc<Vec<http_out::HttpFixture>>>,
        invoke: impl Fn(&Script, Arc<CallState>, Duration) -> Result<ScriptOutcome, ScriptError>
            + Send
            + Sync
            + 'static,
    ) -> CallReport {
        let started = Instant::now();
        let settings = settings::to_map(&self.settings_for(account_id).await);
        let timeout = self.runtime.timeout;
        let new_call = || {
            let mut call = CallState::new(self.name(), account_id, openid, dry_run, state.clone());
            call.settings = settings.clone();
            call.timer_store = self.runtime.timers.clone();
            call.clock = clock;
            // Only a plugin that lists http_hosts gets its requests set up.
            call.http = self.script.http.clone().map(|out| {
                http_out::HttpCalls::new(
                    out,
                    tokio::runtime::Handle::current(),
                    timeout,
                    http_fixtures.clone(),
                )
            });
            Arc::new(call)
        };
        let mut call = new_call();
        let outcome = match engine::try_inline(|| invoke(&self.script, call.clone(), timeout)) {
            Some(outcome) => outcome,
            None => {
                // Too long or waits for I/O: again, from scratch, on a
                // blocking thread.
                call = new_call();
                let _slot = self.runtime.slots.acquire().await;
                let plugin = self.clone();
                let call_for_thread = call.clone();
                let invoke = Arc::new(invoke);
                let joined = tokio::task::spawn_blocking(move || {
                    invoke(&plugin.script, call_for_thread, timeout)
                })
                .await;
                joined.unwrap_or_else(|panic| {
                    Err(engine::script_error(
                        &self.script.file,
                        rhai::Position::NONE,
                        format!("the script runner failed: {panic}"),
                    ))
                })
            }
        };
        let micros = started.elapsed().as_micros() as u64;
        let logs = std::mem::take(&mut *call.logs.lock().unwrap_or_else(|p| p.into_inner()));
        let writes = std::mem::take(&mut *call.writes.lock().unwrap_or_else(|p| p.into_inner()));
        let timers = std::mem::take(&mut *call.timers.lock().unwrap_or_else(|p| p.into_inner()));
        let actions = std::mem::take(&mut *call.actions.lock().unwrap_or_else(|p| p.into_inner()));
        // Dry runs show their result to whoever ran them; they are not counted.
        if dry_run {
            return CallReport {
                outcome,
                logs,
                writes,
                timers,
                actions,
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
            timers,
            actions,
            micros,
        }
    }

    /// The values `settings()` returns in `account_id`: the stored ones that
    /// fit the declared types, else the defaults (also when they cannot be read).
    pub async fn settings_for(
        &self,
        account_id: i64,
    ) -> serde_json::Map<String, serde_json::Value> {
        let declared = &self.script.declaration.settings;
        let mut stored = Default::default();
        if let (false, Some(store)) = (declared.is_empty(), &self.runtime.settings) {
            match store.stored(self.name(), account_id).await {
                Ok(values) => stored = values,
                Err(error) => {
                    tracing::error!(plugin = %self.name(), %error, "plugin settings not read; the defaults apply")
                }
            }
        }
        settings::effective(declared, &stored)
    }

    /// Saves the timers and WeChat actions of a call that succeeded, for
    /// the fan `openid`.
    pub async fn save_queued(
        &self,
        account_id: i64,
        openid: &str,
        timers: Vec<timers::TimerRequest>,
        actions: Vec<actions::ActionRequest>,
    ) -> Result<(), String> {
        match &self.runtime.timers {
            Some(store) => {
                store
                    .save(self.name(), account_id, openid, timers, actions)
                    .await
            }
            None if timers.is_empty() && actions.is_empty() => Ok(()),
            None => Err("timers need the server's database".into()),
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

/// The context scripts get: the account, and the fan as stored (`fan`, or
/// read when the script first asks: see `LazyFan`).
pub fn plugin_context(
    fan: LazyFan,
    plugin: &str,
    account: &crate::entity::accounts::Model,
    dry_run: bool,
) -> PluginContext {
    let mut account_map = rhai::Map::new();
    account_map.insert("id".into(), account.id.to_string().into());
    account_map.insert("app_id".into(), account.app_id.clone().into());
    account_map.insert("name".into(), account.account_name.clone().into());
    account_map.insert("original_id".into(), account.original_id.clone().into());
    PluginContext {
        account: account_map,
        fan,
        plugin: plugin.into(),
        dry_run,
    }
}

/// `ctx.fan` of the fan `openid`, as stored (`None`: not known yet).
pub fn fan_map(fan: Option<&users::Model>, openid: &str) -> rhai::Map {
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
    fan_map
}
