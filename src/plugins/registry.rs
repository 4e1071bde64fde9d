//! The registry: every plugin found in the plugins directory (folders, files
//! and the shared `lib/` modules), compiled, swapped in atomically, and kept
//! in the dispatch chain.

use super::engine::{self, ScriptError};
use super::script::{self, Declaration};
use super::{handler_name, Plugin, Runtime, Stats, LIB_DIR};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, RwLock};

use sha2::{Digest, Sha256};

use super::handler::PluginHandler;
use crate::callback::chain::Chain;

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
    /// When `on_timer` runs by the clock (`PLUGIN.schedules`).
    pub schedules: Vec<super::cron::Schedule>,
    pub source_hash: Option<String>,
    pub loaded_at: Option<chrono::DateTime<chrono::Utc>>,
    pub calls: u64,
    pub errors: u64,
    pub mean_run_ms: f64,
    pub last_error: Option<String>,
    pub last_error_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Why the file on disk is not the version running (compile error).
    pub compile_error: Option<ScriptError>,
    /// Off for every account until switched on there (`opt_in` in its file).
    pub opt_in: bool,
    /// Accounts where it is switched off, and where it is switched on.
    pub disabled_accounts: Vec<String>,
    pub enabled_accounts: Vec<String>,
}

/// A plugin that runs for an account before its keyword rules, and so can
/// answer what a rule would have.
#[derive(Debug, serde::Serialize)]
pub struct AheadOfRules {
    pub name: String,
    pub file: String,
    pub description: String,
    pub priority: i32,
}

/// A plugin file found on disk.
struct Source {
    path: PathBuf,
    /// File stem, or folder name for `<folder>/main.rhai`.
    default_name: String,
    text: String,
    /// Modules of a folder plugin, importable as `<folder>/<module>`.
    modules: engine::Modules,
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
    /// Plugins whose file did not compile at the last scan and does now.
    pub recovered: Vec<String>,
}

fn hash(parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part.as_bytes());
        hasher.update([0]);
    }
    crate::wechat::signature::hex(&hasher.finalize())[..16].to_string()
}

pub(super) fn read_modules(
    dir: &Path,
    prefix: &str,
    modules: &mut engine::Modules,
    skip: Option<&Path>,
) {
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

    fn discover(&self) -> (engine::Modules, Vec<Source>) {
        let mut lib = engine::Modules::new();
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
                    let mut modules = engine::Modules::new();
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
                        modules: engine::Modules::new(),
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
        let (lib_changed, previous_errors) = {
            let loaded = self.loaded.read().unwrap_or_else(|p| p.into_inner());
            (loaded.lib_hash != lib_hash, loaded.errors.clone())
        };

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
                        let error = engine::script_error(
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
                    if let Some(was) = previous_errors.get(&source.path) {
                        tracing::info!(plugin = %plugin.name(), file = %file, was = %was, "plugin compiles again; its new version runs");
                        report.recovered.push(plugin.name().to_string());
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
        lib: &engine::Modules,
        file: &str,
        source_hash: String,
    ) -> Result<Arc<Plugin>, ScriptError> {
        let mut modules = lib.clone();
        modules.extend(source.modules.clone());
        let engine = Arc::new(engine::build_engine(&modules, self.runtime.timeout)?);
        let script = script::compile(
            engine,
            &modules,
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

    /// The plugins that run for `account` before its keyword rules and take
    /// what they answer (texts, voice, menu clicks), highest priority first.
    pub async fn ahead_of_rules(
        &self,
        account: &crate::entity::accounts::Model,
    ) -> Vec<AheadOfRules> {
        let mut found = Vec::new();
        for plugin in self.all() {
            let d = &plugin.script.declaration;
            let takes = |list: &[String], what: &[&str]| {
                list.iter()
                    .any(|item| item == "*" || what.iter().any(|w| item.eq_ignore_ascii_case(w)))
            };
            let overlaps = (plugin.script.has_on_message && takes(&d.messages, &["text", "voice"]))
                || (plugin.script.has_on_event && takes(&d.events, &["CLICK"]));
            if d.priority > crate::callback::chain::KEYWORD_PRIORITY
                && overlaps
                && plugin.runs_for_account(account).await
            {
                found.push(AheadOfRules {
                    name: d.name.clone(),
                    file: self.relative(&plugin.path),
                    description: d.description.clone(),
                    priority: d.priority,
                });
            }
        }
        found.sort_by(|a, b| {
            b.priority
                .cmp(&a.priority)
                .then_with(|| a.name.cmp(&b.name))
        });
        found
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
                        // The file on disk does not compile; the previous version runs.
                        Some(_) if error.is_some() => "stale",
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
                    schedules: declaration.map(|d| d.schedules.clone()).unwrap_or_default(),
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
                    opt_in: declaration.is_some_and(|d| d.opt_in),
                    disabled_accounts: Vec::new(),
                    enabled_accounts: Vec::new(),
                }
            })
            .collect()
    }
}
