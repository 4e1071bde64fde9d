//! The sandboxed Rhai engine: its limits, the state of one call (state reads
//! and writes, logs, the reply), and the functions registered for scripts.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rhai::module_resolvers::StaticModuleResolver;
use rhai::{Dynamic, Engine, EvalAltResult, ImmutableString, Map, Module, Position, Scope};

use super::api::{json_module, random_module, regex_module, reply_module, time_module};
use crate::wechat::Reply;

/// Sandbox limits. Wall time is per call; the rest bound what one call can build.
pub const MAX_OPERATIONS: u64 = 20_000_000;
pub const MAX_CALL_LEVELS: usize = 48;
pub const MAX_EXPR_DEPTH: usize = 64;
pub const MAX_STRING: usize = 256 * 1024;
pub const MAX_ARRAY: usize = 10_000;
pub const MAX_MAP: usize = 10_000;
pub const MAX_STATE_VALUE: usize = 64 * 1024;
pub const MAX_STATE_WRITES: usize = 200;

thread_local! {
    /// When the script on this thread must stop.
    pub(super) static DEADLINE: Cell<Option<Instant>> = const { Cell::new(None) };
    /// The call running on this thread (for logs and state).
    pub(super) static CURRENT: RefCell<Option<Arc<CallState>>> = const { RefCell::new(None) };
}

/// What a script returned.
#[derive(Clone, Debug, PartialEq)]
pub enum ScriptOutcome {
    Reply(Reply),
    Continue,
    NoReply,
}

/// The value `reply::…` builders return; `reply::none()` holds `None`.
#[derive(Clone, Debug)]
pub struct ScriptReply(pub Option<Reply>);

/// Where plugin state lives. Reads happen during a call (on the script's
/// thread); writes are applied after the call succeeded, except atomic
/// updates (`incr`, `cas`), which are applied at once.
pub trait StateStore: Send + Sync {
    fn get(&self, scope: &StateScope, key: &str) -> Result<Option<serde_json::Value>, String>;
    /// Reads the value and writes `change(value)` with no other write in
    /// between, across every instance; `Ok(None)` from `change` leaves the
    /// value as it is. Returns the value after the update.
    fn update(
        &self,
        scope: &StateScope,
        key: &str,
        change: &mut StateChange<'_>,
    ) -> Result<Option<serde_json::Value>, String>;
}

/// Whose value: a plugin, in an account, optionally for one fan.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StateScope {
    pub plugin: String,
    pub account_id: i64,
    /// Empty for account-wide values.
    pub openid: String,
}

/// What an atomic update does to a value (`None` in, `None` out: missing,
/// unchanged); an error leaves the value as it was.
pub type StateChange<'a> =
    dyn FnMut(Option<&serde_json::Value>) -> Result<Option<serde_json::Value>, String> + 'a;

/// One pending write: `None` removes the key.
pub type StateWrites = BTreeMap<(StateScope, String), Option<serde_json::Value>>;

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct LogLine {
    pub level: String,
    pub message: String,
}

/// Everything one call collects: its state reads and writes, and its logs.
pub struct CallState {
    pub plugin: String,
    pub account_id: i64,
    pub openid: String,
    /// Dry runs keep even atomic updates among the (dropped) pending writes.
    pub dry_run: bool,
    store: Arc<dyn StateStore>,
    pub writes: Mutex<StateWrites>,
    /// Atomic updates applied so far (they count towards MAX_STATE_WRITES).
    atomic_ops: std::sync::atomic::AtomicUsize,
    pub logs: Mutex<Vec<LogLine>>,
}

impl CallState {
    pub fn new(
        plugin: &str,
        account_id: i64,
        openid: &str,
        dry_run: bool,
        store: Arc<dyn StateStore>,
    ) -> Self {
        Self {
            plugin: plugin.to_string(),
            account_id,
            openid: openid.to_string(),
            dry_run,
            store,
            writes: Mutex::new(BTreeMap::new()),
            atomic_ops: Default::default(),
            logs: Mutex::new(Vec::new()),
        }
    }

    fn scope(&self, per_fan: bool) -> StateScope {
        StateScope {
            plugin: self.plugin.clone(),
            account_id: self.account_id,
            openid: if per_fan {
                self.openid.clone()
            } else {
                String::new()
            },
        }
    }

    fn log(&self, level: &str, message: &str) {
        match level {
            "error" => tracing::error!(plugin = %self.plugin, "{message}"),
            "warn" => tracing::warn!(plugin = %self.plugin, "{message}"),
            _ => tracing::info!(plugin = %self.plugin, "{message}"),
        }
        let mut logs = self.logs.lock().unwrap_or_else(|p| p.into_inner());
        if logs.len() < 100 {
            logs.push(LogLine {
                level: level.into(),
                message: message.chars().take(2000).collect(),
            });
        }
    }

    fn get(&self, per_fan: bool, key: &str) -> Result<Dynamic, Box<EvalAltResult>> {
        let scope = self.scope(per_fan);
        let pending = self
            .writes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&(scope.clone(), key.to_string()))
            .cloned();
        let value = match pending {
            Some(value) => value,
            None => self
                .store
                .get(&scope, key)
                .map_err(|e| format!("state: {e}"))?,
        };
        match value {
            Some(value) => rhai::serde::to_dynamic(value),
            None => Ok(Dynamic::UNIT),
        }
    }

    fn set(
        &self,
        per_fan: bool,
        key: &str,
        value: Option<Dynamic>,
    ) -> Result<(), Box<EvalAltResult>> {
        check_key(key)?;
        let value = value.map(|v| state_value(key, &v)).transpose()?;
        let mut writes = self.writes.lock().unwrap_or_else(|p| p.into_inner());
        if writes.len() >= MAX_STATE_WRITES {
            return Err(format!("more than {MAX_STATE_WRITES} state writes in one call").into());
        }
        writes.insert((self.scope(per_fan), key.to_string()), value);
        Ok(())
    }

    /// Reads `key` and writes `change(value)` as one step no other call can
    /// come between (`incr`, `cas`). Applied at once in the database; in a
    /// dry run, or after a `set` of the same key in this call, it works on
    /// the pending value instead (and is saved, or dropped, with the others).
    fn atomic(
        &self,
        per_fan: bool,
        key: &str,
        change: &mut StateChange<'_>,
    ) -> Result<Option<serde_json::Value>, Box<EvalAltResult>> {
        check_key(key)?;
        let scope = self.scope(per_fan);
        let slot = (scope.clone(), key.to_string());
        let mut writes = self.writes.lock().unwrap_or_else(|p| p.into_inner());
        let ops = self
            .atomic_ops
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if writes.len() + ops >= MAX_STATE_WRITES {
            return Err(format!("more than {MAX_STATE_WRITES} state writes in one call").into());
        }
        if self.dry_run || writes.contains_key(&slot) {
            let current = match writes.get(&slot) {
                Some(pending) => pending.clone(),
                None => self
                    .store
                    .get(&scope, key)
                    .map_err(|e| format!("state: {e}"))?,
            };
            return match change(current.as_ref())? {
                Some(new) => {
                    writes.insert(slot, Some(new.clone()));
                    Ok(Some(new))
                }
                None => Ok(current),
            };
        }
        drop(writes);
        Ok(self
            .store
            .update(&scope, key, change)
            .map_err(|e| format!("state: {e}"))?)
    }

    /// `ctx.incr(key, by)`: the whole number at `key` (missing: 0) plus `by`.
    fn incr(&self, per_fan: bool, key: &str, by: i64) -> Result<i64, Box<EvalAltResult>> {
        let mut sum = 0;
        self.atomic(per_fan, key, &mut |current| {
            let base = match current {
                None | Some(serde_json::Value::Null) => 0,
                Some(value) => value.as_i64().ok_or_else(|| {
                    format!("incr({key:?}): the value is {value}, not a whole number")
                })?,
            };
            sum = base
                .checked_add(by)
                .ok_or_else(|| format!("incr({key:?}): {base} + {by} is out of range"))?;
            Ok(Some(sum.into()))
        })?;
        Ok(sum)
    }

    /// `ctx.cas(key, expected, new)`: writes `new` only if the value is
    /// `expected` (`()` for a missing key); whether it did.
    fn cas(
        &self,
        per_fan: bool,
        key: &str,
        expected: &Dynamic,
        new: &Dynamic,
    ) -> Result<bool, Box<EvalAltResult>> {
        let expected: Option<serde_json::Value> = if expected.is_unit() {
            None
        } else {
            Some(rhai::serde::from_dynamic(expected)?)
        };
        let new = state_value(key, new)?;
        let mut swapped = false;
        self.atomic(per_fan, key, &mut |current| {
            let current = current.filter(|v| !v.is_null());
            swapped = current == expected.as_ref();
            Ok(swapped.then(|| new.clone()))
        })?;
        Ok(swapped)
    }
}

fn check_key(key: &str) -> Result<(), Box<EvalAltResult>> {
    if key.is_empty() || key.len() > 191 {
        return Err("state keys are 1–191 bytes".into());
    }
    if crate::text::has_nul(key) {
        return Err(format!("state key {key:?} {}", crate::text::NUL_REFUSED).into());
    }
    Ok(())
}

/// A script value as stored: JSON, no NUL, at most MAX_STATE_VALUE bytes.
fn state_value(key: &str, value: &Dynamic) -> Result<serde_json::Value, Box<EvalAltResult>> {
    let json: serde_json::Value = rhai::serde::from_dynamic(value)?;
    if crate::text::json_path_with_nul(&json).is_some() {
        return Err(format!("state value for {key:?} {}", crate::text::NUL_REFUSED).into());
    }
    if json.to_string().len() > MAX_STATE_VALUE {
        return Err(format!("state value for {key:?} is over {MAX_STATE_VALUE} bytes").into());
    }
    Ok(json)
}

fn with_call<T>(
    f: impl FnOnce(&CallState) -> Result<T, Box<EvalAltResult>>,
) -> Result<T, Box<EvalAltResult>> {
    CURRENT.with(|current| match current.borrow().as_ref() {
        Some(call) => f(call),
        None => Err("plugin state and logs are only available while a plugin runs".into()),
    })
}

/// The `ctx` argument of entry points.
#[derive(Clone)]
pub struct PluginContext {
    pub account: Map,
    pub fan: Map,
    pub plugin: ImmutableString,
    pub dry_run: bool,
}

/// Modules plugins may import, by name (`import "util" as util;`).
pub type Modules = BTreeMap<String, String>;

/// A compile or runtime error with its place and the line it points at.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ScriptError {
    pub file: String,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub message: String,
    /// The source line at `line`, trimmed.
    pub snippet: Option<String>,
}

impl std::fmt::Display for ScriptError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.line, self.column) {
            (Some(line), Some(column)) => {
                write!(f, "{}:{line}:{column}: {}", self.file, self.message)?
            }
            (Some(line), None) => write!(f, "{}:{line}: {}", self.file, self.message)?,
            _ => write!(f, "{}: {}", self.file, self.message)?,
        }
        if let (Some(line), Some(snippet)) = (self.line, &self.snippet) {
            write!(f, "\n  {line} | {snippet}")?;
        }
        Ok(())
    }
}

impl ScriptError {
    /// Adds the line the error points at, from `source`.
    pub fn with_snippet(mut self, source: &str) -> Self {
        self.snippet = self
            .line
            .and_then(|line| source.lines().nth(line.checked_sub(1)?))
            .map(|text| text.trim().chars().take(160).collect());
        self
    }
}

pub fn script_error(file: &str, position: Position, message: impl Into<String>) -> ScriptError {
    ScriptError {
        file: file.into(),
        line: position.line(),
        column: position.position(),
        message: plain_types(&message.into()),
        snippet: None,
    }
}

/// Where a runtime error happened: the innermost of the nested calls (not
/// the call in the entry point that led there), in the file it happened
/// in; `file` is the plugin's, `modules` maps module names to sources.
pub(super) fn runtime_error(
    file: &str,
    source: &str,
    modules: &Modules,
    error: &EvalAltResult,
    timeout: Duration,
) -> ScriptError {
    // (file, its source) of the function being looked into.
    let mut here: (String, &str) = (file.to_string(), source);
    let mut place = (here.clone(), error.position());
    let mut inner = error;
    let mut function = None;
    loop {
        let (called, from, next, at) = match inner {
            EvalAltResult::ErrorInFunctionCall(name, from, next, at) => {
                (Some(name.as_str()), from.as_str(), next, at)
            }
            EvalAltResult::ErrorInModule(name, next, at) => (None, name.as_str(), next, at),
            _ => break,
        };
        if !at.is_none() {
            place = (here.clone(), *at);
        }
        if let Some(module) = modules.get(from) {
            here = (format!("{from}.rhai"), module.as_str());
        }
        function = called.or(function);
        inner = next;
    }
    if !inner.position().is_none() {
        place = (here, inner.position());
    }
    let mut message = eval_error_message(inner, timeout);
    if let Some(function) = function.filter(|f| !f.starts_with("anon$")) {
        message.push_str(&format!(" (in {function})"));
    }
    let ((file, source), position) = place;
    script_error(&file, position, message).with_snippet(source)
}

/// Rhai's messages with the Rust type names a script author does not know
/// replaced by the script's own words.
pub fn plain_types(message: &str) -> String {
    static RULES: std::sync::OnceLock<Vec<(regex::Regex, &'static str)>> =
        std::sync::OnceLock::new();
    let rules = RULES.get_or_init(|| {
        [
            (r"&str \| ImmutableString \| String", "string"),
            (
                r"&str|\b(alloc::string::String|ImmutableString|String)\b",
                "string",
            ),
            (r"\b(i64|i32|u64|u32|usize)\b", "int"),
            (r"\b(f64|f32)\b", "float"),
            (r"\bserde_json::value::Value\b", "JSON value"),
            (r"\b([a-z_]+::)+Dynamic\b", "value"),
            (r"\b([a-z_]+::)+Array\b|\balloc::vec::Vec<[^>]*>", "array"),
            (r"\b([a-z_]+::)+Map\b", "map"),
            (r"\b([a-z_]+::)+ScriptReply\b", "Reply"),
            (r"\b([a-z_]+::)+PluginContext\b", "Context"),
            (r"\bFn\b", "function"),
            (r" @ '[^']*'", ""),
        ]
        .into_iter()
        .filter_map(|(pattern, with)| Some((regex::Regex::new(pattern).ok()?, with)))
        .collect()
    });
    rules
        .iter()
        .fold(message.to_string(), |text, (rule, with)| {
            rule.replace_all(&text, *with).into_owned()
        })
}

/// An engine with the sandbox's limits: operations, call depth, sizes, and
/// the wall-time deadline of the call running on this thread.
fn sandboxed_engine() -> Engine {
    let mut engine = Engine::new();
    engine
        .set_max_operations(MAX_OPERATIONS)
        .set_max_call_levels(MAX_CALL_LEVELS)
        .set_max_expr_depths(MAX_EXPR_DEPTH, MAX_EXPR_DEPTH)
        .set_max_string_size(MAX_STRING)
        .set_max_array_size(MAX_ARRAY)
        .set_max_map_size(MAX_MAP)
        .set_max_modules(64)
        .disable_symbol("eval")
        .on_progress(|_| {
            let expired = DEADLINE
                .with(|d| d.get())
                .is_some_and(|deadline| Instant::now() >= deadline);
            expired.then(|| Dynamic::from("the plugin ran out of time"))
        });
    register_api(&mut engine);
    engine
}

/// Runs `evaluate` with the wall-time deadline `timeout` from now set for
/// this thread (read by the engine's progress callback).
pub(super) fn with_deadline<T>(timeout: Duration, evaluate: impl FnOnce() -> T) -> T {
    DEADLINE.with(|d| d.set(Some(Instant::now() + timeout)));
    let result = evaluate();
    DEADLINE.with(|d| d.set(None));
    result
}

/// A sandboxed engine that resolves `import` from `modules`, each compiled
/// and evaluated here under the same limits as a plugin call (a module's top
/// level may loop too) with `timeout` of wall time each.
pub fn build_engine(modules: &Modules, timeout: Duration) -> Result<Engine, ScriptError> {
    let mut engine = sandboxed_engine();
    engine
        .on_print(|text| {
            let _ = with_call(|call| {
                call.log("info", text);
                Ok(())
            });
        })
        .on_debug(|text, _, position| {
            let _ = with_call(|call| {
                call.log("debug", &format!("{text} @ {position}"));
                Ok(())
            });
        });

    // Library modules are compiled into memory: importing never reads files.
    let mut resolver = StaticModuleResolver::new();
    let module_engine = sandboxed_engine();
    for (name, source) in modules {
        let file = format!("{name}.rhai");
        let ast = module_engine.compile(source).map_err(|e| {
            script_error(&file, e.position(), e.err_type().to_string()).with_snippet(source)
        })?;
        let module = with_deadline(timeout, || {
            Module::eval_ast_as_new(Scope::new(), &ast, &module_engine)
        })
        .map_err(|e| runtime_error(&file, source, &Modules::new(), &e, timeout))?;
        resolver.insert(name.clone(), module);
    }
    engine.set_module_resolver(resolver);
    Ok(engine)
}

/// What a failed evaluation says: a stopped script says why, in words.
pub(super) fn eval_error_message(error: &EvalAltResult, timeout: Duration) -> String {
    match error {
        EvalAltResult::ErrorTerminated(..) => {
            format!("stopped: ran longer than {} ms", timeout.as_millis())
        }
        EvalAltResult::ErrorTooManyOperations(..) => {
            format!("stopped: more than {MAX_OPERATIONS} operations")
        }
        // The position is reported apart, as line and column.
        other => match other.to_string().rsplit_once(" (line ") {
            Some((message, place)) if place.ends_with(')') && !place.contains('\n') => {
                message.to_string()
            }
            _ => other.to_string(),
        },
    }
}

pub(super) fn text_of(value: &Dynamic) -> String {
    value
        .clone()
        .into_string()
        .unwrap_or_else(|_| value.to_string())
}

fn register_api(engine: &mut Engine) {
    engine.register_type_with_name::<ScriptReply>("Reply");
    engine.register_type_with_name::<PluginContext>("Context");
    engine
        .register_get("account", |ctx: &mut PluginContext| ctx.account.clone())
        .register_get("fan", |ctx: &mut PluginContext| ctx.fan.clone())
        .register_get("plugin", |ctx: &mut PluginContext| ctx.plugin.clone())
        .register_get("dry_run", |ctx: &mut PluginContext| ctx.dry_run)
        .register_fn("get", |_: &mut PluginContext, key: &str| {
            with_call(|c| c.get(false, key))
        })
        .register_fn("set", |_: &mut PluginContext, key: &str, value: Dynamic| {
            with_call(|c| c.set(false, key, Some(value)))
        })
        .register_fn("remove", |_: &mut PluginContext, key: &str| {
            with_call(|c| c.set(false, key, None))
        })
        .register_fn("fan_get", |_: &mut PluginContext, key: &str| {
            with_call(|c| c.get(true, key))
        })
        .register_fn(
            "fan_set",
            |_: &mut PluginContext, key: &str, value: Dynamic| {
                with_call(|c| c.set(true, key, Some(value)))
            },
        )
        .register_fn("fan_remove", |_: &mut PluginContext, key: &str| {
            with_call(|c| c.set(true, key, None))
        })
        .register_fn("incr", |_: &mut PluginContext, key: &str| {
            with_call(|c| c.incr(false, key, 1))
        })
        .register_fn("incr", |_: &mut PluginContext, key: &str, by: i64| {
            with_call(|c| c.incr(false, key, by))
        })
        .register_fn("fan_incr", |_: &mut PluginContext, key: &str| {
            with_call(|c| c.incr(true, key, 1))
        })
        .register_fn("fan_incr", |_: &mut PluginContext, key: &str, by: i64| {
            with_call(|c| c.incr(true, key, by))
        })
        .register_fn(
            "cas",
            |_: &mut PluginContext, key: &str, expected: Dynamic, new: Dynamic| {
                with_call(|c| c.cas(false, key, &expected, &new))
            },
        )
        .register_fn(
            "fan_cas",
            |_: &mut PluginContext, key: &str, expected: Dynamic, new: Dynamic| {
                with_call(|c| c.cas(true, key, &expected, &new))
            },
        )
        .register_fn("log", |_: &mut PluginContext, message: Dynamic| {
            with_call(|c| {
                c.log("info", &text_of(&message));
                Ok(())
            })
        })
        .register_fn("warn", |_: &mut PluginContext, message: Dynamic| {
            with_call(|c| {
                c.log("warn", &text_of(&message));
                Ok(())
            })
        })
        .register_fn("error", |_: &mut PluginContext, message: Dynamic| {
            with_call(|c| {
                c.log("error", &text_of(&message));
                Ok(())
            })
        });

    engine.register_static_module("reply", reply_module().into());
    engine.register_static_module("time", time_module().into());
    engine.register_static_module("regex", regex_module().into());
    engine.register_static_module("json", json_module().into());
    engine.register_static_module("random", random_module().into());
}
