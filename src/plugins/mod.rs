//! Rhai plugins: files in the plugins directory that become handlers of the
//! dispatch chain. Compiled once, swapped atomically when a file changes (a
//! file that fails to compile leaves the previous version running), run in a
//! sandbox off the async workers, with state kept in the database.

pub mod routes;
pub mod script;
pub mod state;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;

use crate::entity::users;
use crate::pipeline::chain::{Chain, Context, Handler, HandlerFuture, Outcome};
use crate::wechat::InboundMessage;
use script::{
    CallState, Declaration, LogLine, PluginContext, Script, ScriptError, ScriptOutcome, StateStore,
};

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
}

/// The result of one call.
pub struct CallReport {
    pub outcome: Result<ScriptOutcome, ScriptError>,
    pub logs: Vec<LogLine>,
    pub writes: script::StateWrites,
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
        let _slot = self.runtime.slots.acquire().await;
        let call = Arc::new(CallState::new(
            self.name(),
            account_id,
            &message.from_user,
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
            Err(script::script_error(
                &self.script.file,
                rhai::Position::NONE,
                format!("the script runner failed: {panic}"),
            ))
        });
        let micros = started.elapsed().as_micros() as u64;
        let logs = std::mem::take(&mut *call.logs.lock().unwrap_or_else(|p| p.into_inner()));
        let writes = std::mem::take(&mut *call.writes.lock().unwrap_or_else(|p| p.into_inner()));
        self.stats.calls.fetch_add(1, Ordering::Relaxed);
        self.stats.total_micros.fetch_add(micros, Ordering::Relaxed);
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

    fn runs_for(&self, app_id: &str) -> bool {
        let accounts = &self.script.declaration.accounts;
        accounts.is_empty() || accounts.iter().any(|a| a == app_id)
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

/// A plugin as a handler of the chain.
struct PluginHandler {
    plugin: Arc<Plugin>,
    handler_name: String,
}

pub fn handler_name(plugin: &str) -> String {
    format!("plugin:{plugin}")
}

impl Handler for PluginHandler {
    fn name(&self) -> &str {
        &self.handler_name
    }

    fn priority(&self) -> i32 {
        self.plugin.script.declaration.priority
    }

    fn handle(&self, ctx: Arc<Context>) -> HandlerFuture {
        let plugin = self.plugin.clone();
        Box::pin(async move {
            let account = &ctx.account.model;
            if !plugin.script.wants(&ctx.message) || !plugin.runs_for(&account.app_id) {
                return Outcome::Continue;
            }
            if let Some(switches) = &plugin.runtime.switches {
                match switches.enabled(plugin.name(), account.id).await {
                    Ok(true) => {}
                    Ok(false) => return Outcome::Continue,
                    Err(error) => {
                        tracing::warn!(plugin = %plugin.name(), %error, "cannot read plugin switches; skipping");
                        return Outcome::Continue;
                    }
                }
            }
            let script_ctx = plugin_context(
                ctx.fan().await,
                plugin.name(),
                account,
                &ctx.message.from_user,
                false,
            );
            let report = plugin
                .run(ctx.message.clone(), script_ctx, account.id)
                .await;
            match report.outcome {
                Ok(outcome) => {
                    if let Err(error) =
                        state::apply_writes(&ctx.state.db, &ctx.state.ids, report.writes).await
                    {
                        tracing::error!(plugin = %plugin.name(), %error, "plugin state not saved");
                    }
                    match outcome {
                        ScriptOutcome::Reply(reply) => Outcome::Reply(reply),
                        ScriptOutcome::Continue => Outcome::Continue,
                        ScriptOutcome::NoReply => Outcome::NoReply,
                    }
                }
                // Logged and counted in `run`; a failing script never hurts the reply.
                Err(_) => Outcome::Continue,
            }
        })
    }
}

/// What admins see of a file.
#[derive(Clone, Debug, serde::Serialize)]
pub struct PluginInfo {
    pub name: String,
    pub file: String,
    pub status: &'static str,
    pub description: String,
    pub priority: Option<i32>,
    pub messages: Vec<String>,
    pub events: Vec<String>,
    pub accounts: Vec<String>,
    pub source_hash: Option<String>,
    pub loaded_at: Option<chrono::DateTime<chrono::Utc>>,
    pub calls: u64,
    pub errors: u64,
    pub mean_run_ms: f64,
    pub last_error: Option<String>,
    pub last_error_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Why the file on disk is not the version running (compile error).
    pub compile_error: Option<ScriptError>,
    pub disabled_accounts: Vec<String>,
}

/// A plugin file found on disk.
struct Source {
    path: PathBuf,
    /// File stem, or folder name for `<folder>/main.rhai`.
    default_name: String,
    text: String,
    /// Modules of a folder plugin, importable as `<folder>/<module>`.
    modules: script::Modules,
}

#[derive(Default)]
struct Loaded {
    /// By file.
    plugins: BTreeMap<PathBuf, Arc<Plugin>>,
    /// Compile errors of files whose newest version did not load.
    errors: BTreeMap<PathBuf, ScriptError>,
    /// Hash of the shared modules the plugins were compiled against.
    lib_hash: String,
}

pub struct Registry {
    dir: PathBuf,
    chain: Arc<Chain>,
    runtime: Arc<Runtime>,
    loaded: RwLock<Loaded>,
    stats: Mutex<HashMap<String, Arc<Stats>>>,
    /// One rescan at a time.
    rescanning: tokio::sync::Mutex<()>,
}

/// What a rescan changed.
#[derive(Debug, Default, serde::Serialize)]
pub struct ReloadReport {
    pub loaded: Vec<String>,
    pub removed: Vec<String>,
    pub failed: Vec<ScriptError>,
}

fn hash(parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part.as_bytes());
        hasher.update([0]);
    }
    crate::wechat::signature::hex(&hasher.finalize())[..16].to_string()
}

fn read_modules(dir: &Path, prefix: &str, modules: &mut script::Modules, skip: Option<&Path>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    entries.sort();
    for path in entries {
        if Some(path.as_path()) == skip {
            continue;
        }
        let Some(stem) = path
            .file_stem()
            .and_then(|s| s.to_str())
            .map(str::to_string)
        else {
            continue;
        };
        if path.is_dir() {
            read_modules(&path, &format!("{prefix}{stem}/"), modules, skip);
        } else if path.extension().is_some_and(|e| e == "rhai") {
            if let Ok(text) = std::fs::read_to_string(&path) {
                modules.insert(format!("{prefix}{stem}"), text);
            }
        }
    }
}

impl Registry {
    pub fn new(dir: PathBuf, chain: Arc<Chain>, runtime: Runtime) -> Self {
        Self {
            dir,
            chain,
            runtime: Arc::new(runtime),
            loaded: RwLock::new(Loaded::default()),
            stats: Mutex::new(HashMap::new()),
            rescanning: tokio::sync::Mutex::new(()),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn runtime(&self) -> &Arc<Runtime> {
        &self.runtime
    }

    fn discover(&self) -> (script::Modules, Vec<Source>) {
        let mut lib = script::Modules::new();
        read_modules(&self.dir.join(LIB_DIR), "", &mut lib, None);
        let mut sources = Vec::new();
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return (lib, sources);
        };
        let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        paths.sort();
        for path in paths {
            let name = path
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or_default()
                .to_string();
            if name.starts_with('.') || name == LIB_DIR {
                continue;
            }
            if path.is_dir() {
                let main = path.join("main.rhai");
                if let Ok(text) = std::fs::read_to_string(&main) {
                    let mut modules = script::Modules::new();
                    read_modules(&path, &format!("{name}/"), &mut modules, Some(&main));
                    sources.push(Source {
                        path: main,
                        default_name: name,
                        text,
                        modules,
                    });
                }
            } else if path.extension().is_some_and(|e| e == "rhai") {
                if let Ok(text) = std::fs::read_to_string(&path) {
                    sources.push(Source {
                        path,
                        default_name: name,
                        text,
                        modules: script::Modules::new(),
                    });
                }
            }
        }
        (lib, sources)
    }

    fn stats_for(&self, name: &str) -> Arc<Stats> {
        self.stats
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(name.to_string())
            .or_default()
            .clone()
    }

    fn relative(&self, path: &Path) -> String {
        path.strip_prefix(&self.dir)
            .unwrap_or(path)
            .display()
            .to_string()
    }

    /// Reads the directory and swaps in what changed. Safe to call any time.
    pub async fn rescan(self: &Arc<Self>) -> ReloadReport {
        let _one_at_a_time = self.rescanning.lock().await;
        let this = self.clone();
        tokio::task::spawn_blocking(move || this.rescan_blocking())
            .await
            .unwrap_or_default()
    }

    fn rescan_blocking(&self) -> ReloadReport {
        let (lib, sources) = self.discover();
        let lib_parts: Vec<String> = lib
            .iter()
            .flat_map(|(k, v)| [k.clone(), v.clone()])
            .collect();
        let lib_hash = hash(&lib_parts.iter().map(String::as_str).collect::<Vec<_>>());
        let mut report = ReloadReport::default();
        let previous: BTreeMap<PathBuf, Arc<Plugin>> = self
            .loaded
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .plugins
            .clone();
        let lib_changed = self
            .loaded
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .lib_hash
            != lib_hash;

        let mut next = Loaded {
            lib_hash: lib_hash.clone(),
            ..Loaded::default()
        };
        let mut names: HashMap<String, PathBuf> = HashMap::new();
        for source in sources {
            let module_parts: Vec<&str> = source
                .modules
                .iter()
                .flat_map(|(k, v)| [k.as_str(), v.as_str()])
                .collect();
            let source_hash = hash(
                &[
                    &[source.text.as_str(), lib_hash.as_str()],
                    module_parts.as_slice(),
                ]
                .concat(),
            );
            let file = self.relative(&source.path);
            let kept = previous
                .get(&source.path)
                .filter(|p| p.source_hash == source_hash && !lib_changed);
            let plugin = match kept {
                Some(plugin) => Ok(plugin.clone()),
                None => self.load(&source, &lib, &file, source_hash),
            };
            match plugin {
                Ok(plugin) => {
                    if let Some(other) = names.get(plugin.name()) {
                        let error = script::script_error(
                            &file,
                            rhai::Position::NONE,
                            format!(
                                "plugin name {:?} is taken by {}",
                                plugin.name(),
                                self.relative(other)
                            ),
                        );
                        report.failed.push(error.clone());
                        next.errors.insert(source.path.clone(), error);
                        continue;
                    }
                    names.insert(plugin.name().to_string(), source.path.clone());
                    if kept.is_none() {
                        report.loaded.push(plugin.name().to_string());
                    }
                    next.plugins.insert(source.path.clone(), plugin);
                }
                Err(error) => {
                    tracing::warn!(%error, "plugin did not compile; the previous version (if any) keeps running");
                    report.failed.push(error.clone());
                    next.errors.insert(source.path.clone(), error);
                    // The previous version stays, unless the shared modules it was built on changed.
                    if let Some(old) = previous.get(&source.path) {
                        if !names.contains_key(old.name()) {
                            names.insert(old.name().to_string(), source.path.clone());
                            next.plugins.insert(source.path.clone(), old.clone());
                        }
                    }
                }
            }
        }
        for (path, old) in &previous {
            if next
                .plugins
                .get(path)
                .is_none_or(|new| !Arc::ptr_eq(new, old))
            {
                self.chain.unregister(&handler_name(old.name()));
                if !next.plugins.contains_key(path) {
                    report.removed.push(old.name().to_string());
                }
            }
        }
        for (path, plugin) in &next.plugins {
            if previous
                .get(path)
                .is_none_or(|old| !Arc::ptr_eq(old, plugin))
                && plugin.script.declaration.enabled
            {
                self.chain.register(Arc::new(PluginHandler {
                    plugin: plugin.clone(),
                    handler_name: handler_name(plugin.name()),
                }));
            }
        }
        if !report.loaded.is_empty() || !report.removed.is_empty() {
            tracing::info!(loaded = ?report.loaded, removed = ?report.removed, "plugins reloaded");
        }
        *self.loaded.write().unwrap_or_else(|p| p.into_inner()) = next;
        report
    }

    fn load(
        &self,
        source: &Source,
        lib: &script::Modules,
        file: &str,
        source_hash: String,
    ) -> Result<Arc<Plugin>, ScriptError> {
        let mut modules = lib.clone();
        modules.extend(source.modules.clone());
        let engine = Arc::new(script::build_engine(&modules)?);
        let script = script::compile(
            engine,
            file,
            &source.default_name,
            &source.text,
            self.runtime.timeout,
        )?;
        Ok(Arc::new(Plugin {
            stats: self.stats_for(&script.declaration.name),
            script,
            path: source.path.clone(),
            source_hash,
            loaded_at: chrono::Utc::now(),
            runtime: self.runtime.clone(),
        }))
    }

    /// The loaded plugin named `name`.
    pub fn get(&self, name: &str) -> Option<Arc<Plugin>> {
        let loaded = self.loaded.read().unwrap_or_else(|p| p.into_inner());
        loaded.plugins.values().find(|p| p.name() == name).cloned()
    }

    pub fn all(&self) -> Vec<Arc<Plugin>> {
        self.loaded
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .plugins
            .values()
            .cloned()
            .collect()
    }

    /// Every plugin file with its state, for admins.
    pub fn infos(&self) -> Vec<PluginInfo> {
        let loaded = self.loaded.read().unwrap_or_else(|p| p.into_inner());
        let mut paths: Vec<&PathBuf> = loaded.plugins.keys().chain(loaded.errors.keys()).collect();
        paths.sort();
        paths.dedup();
        paths
            .into_iter()
            .map(|path| {
                let plugin = loaded.plugins.get(path);
                let error = loaded.errors.get(path).cloned();
                let declaration: Option<&Declaration> = plugin.map(|p| &p.script.declaration);
                let stats = plugin.map(|p| p.stats.clone());
                let calls = stats
                    .as_ref()
                    .map(|s| s.calls.load(Ordering::Relaxed))
                    .unwrap_or(0);
                let micros = stats
                    .as_ref()
                    .map(|s| s.total_micros.load(Ordering::Relaxed))
                    .unwrap_or(0);
                let last_error = stats.as_ref().and_then(|s| {
                    s.last_error
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .clone()
                });
                PluginInfo {
                    name: declaration.map(|d| d.name.clone()).unwrap_or_else(|| {
                        path.file_stem()
                            .and_then(|s| s.to_str())
                            .unwrap_or_default()
                            .to_string()
                    }),
                    file: self.relative(path),
                    status: match declaration {
                        None => "failed",
                        Some(d) if !d.enabled => "disabled",
                        Some(_) => "active",
                    },
                    description: declaration
                        .map(|d| d.description.clone())
                        .unwrap_or_default(),
                    priority: declaration.map(|d| d.priority),
                    messages: declaration.map(|d| d.messages.clone()).unwrap_or_default(),
                    events: declaration.map(|d| d.events.clone()).unwrap_or_default(),
                    accounts: declaration.map(|d| d.accounts.clone()).unwrap_or_default(),
                    source_hash: plugin.map(|p| p.source_hash.clone()),
                    loaded_at: plugin.map(|p| p.loaded_at),
                    calls,
                    errors: stats
                        .as_ref()
                        .map(|s| s.errors.load(Ordering::Relaxed))
                        .unwrap_or(0),
                    mean_run_ms: if calls == 0 {
                        0.0
                    } else {
                        micros as f64 / calls as f64 / 1000.0
                    },
                    last_error: last_error.as_ref().map(|(_, e)| e.clone()),
                    last_error_at: last_error.map(|(at, _)| at),
                    compile_error: error,
                    disabled_accounts: Vec::new(),
                }
            })
            .collect()
    }

    /// Watches the directory and rescans after changes settle. Runs until aborted.
    pub async fn watch(self: Arc<Self>) {
        use notify::Watcher;
        if let Err(error) = std::fs::create_dir_all(&self.dir) {
            tracing::warn!(dir = %self.dir.display(), %error, "cannot create the plugins directory; not watching");
            return;
        }
        let (sender, mut changes) = tokio::sync::mpsc::unbounded_channel::<()>();
        let watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
            if event.is_ok_and(|e| !e.kind.is_access()) {
                let _ = sender.send(());
            }
        });
        let mut watcher = match watcher {
            Ok(watcher) => watcher,
            Err(error) => {
                tracing::warn!(%error, "cannot watch the plugins directory; use POST /wechat/plugins/reload");
                return;
            }
        };
        if let Err(error) = watcher.watch(&self.dir, notify::RecursiveMode::Recursive) {
            tracing::warn!(dir = %self.dir.display(), %error, "cannot watch the plugins directory");
            return;
        }
        while changes.recv().await.is_some() {
            // Debounce: an editor's save is several events (write, rename, chmod).
            while let Ok(Some(())) = tokio::time::timeout(DEBOUNCE, changes.recv()).await {}
            self.rescan().await;
        }
    }
}

/// A dry run of one plugin or the whole chain: the reply it would give and
/// what it logged. Nothing is stored.
#[derive(Debug, serde::Serialize)]
pub struct DryRun {
    /// The handler that answered, if any.
    pub handler: Option<String>,
    pub outcome: &'static str,
    pub reply: Option<crate::wechat::Reply>,
    pub reply_xml: Option<String>,
    pub logs: Vec<LogLine>,
    pub error: Option<String>,
    pub micros: u64,
}

impl DryRun {
    pub fn from_outcome(
        handler: Option<String>,
        outcome: &ScriptOutcome,
        message: &InboundMessage,
    ) -> Self {
        let (name, reply) = match outcome {
            ScriptOutcome::Reply(reply) => ("reply", Some(reply.clone())),
            ScriptOutcome::Continue => ("continue", None),
            ScriptOutcome::NoReply => ("no_reply", None),
        };
        DryRun {
            handler,
            outcome: name,
            reply_xml: reply
                .as_ref()
                .map(|r| r.to_xml(&message.from_user, &message.to_user, message.create_time)),
            reply,
            logs: Vec::new(),
            error: None,
            micros: 0,
        }
    }
}

/// Compiles one plugin file as the server would, with the shared modules of
/// the plugins directory it sits in (for `wxmp plugin check` and `test`).
pub fn compile_file(path: &Path, timeout: Duration) -> Result<Script, ScriptError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| {
        script::script_error(&file, rhai::Position::NONE, format!("cannot read: {e}"))
    })?;
    let parent = path.parent().unwrap_or(Path::new("."));
    let mut modules = script::Modules::new();
    let (dir, default_name) = if path.file_name().is_some_and(|n| n == "main.rhai") {
        let folder = parent
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("plugin")
            .to_string();
        read_modules(parent, &format!("{folder}/"), &mut modules, Some(path));
        (parent.parent().unwrap_or(Path::new(".")), folder)
    } else {
        (
            parent,
            path.file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or("plugin")
                .to_string(),
        )
    };
    read_modules(&dir.join(LIB_DIR), "", &mut modules, None);
    let engine = Arc::new(script::build_engine(&modules)?);
    script::compile(engine, &file, &default_name, &text, timeout)
}

/// Runs a compiled plugin once against `message`, with state in memory.
pub async fn test_script(script: Script, message: InboundMessage, timeout: Duration) -> DryRun {
    let account = crate::entity::accounts::Model {
        id: 1,
        app_id: "wx_plugin_test".into(),
        account_name: "plugin test".into(),
        original_id: message.to_user.clone(),
        ..Default::default()
    };
    let name = script.declaration.name.clone();
    let runtime = Arc::new(Runtime {
        timeout,
        state: Arc::new(state::MemoryState::default()),
        slots: Semaphore::new(1),
        switches: None,
    });
    let plugin = Arc::new(Plugin {
        script,
        path: PathBuf::new(),
        source_hash: String::new(),
        loaded_at: chrono::Utc::now(),
        stats: Arc::new(Stats::default()),
        runtime,
    });
    let message = Arc::new(message);
    if !plugin.script.wants(&message) {
        let mut dry = DryRun::from_outcome(None, &ScriptOutcome::Continue, &message);
        dry.error = Some(format!(
            "{name} does not take this message type or event (see its PLUGIN declaration)"
        ));
        return dry;
    }
    let ctx = plugin_context(None, &name, &account, &message.from_user, true);
    let report = plugin.run(message.clone(), ctx, account.id).await;
    routes::dry_run_of(Some(handler_name(&name)), report, &message)
}
