//! The sandboxed Rhai engine: its limits, errors with their places, and the
//! functions registered for scripts (the state of one call is in `call`).

use std::cell::Cell;
use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use rhai::module_resolvers::StaticModuleResolver;
use rhai::{Dynamic, Engine, EvalAltResult, ImmutableString, Map, Module, Position, Scope};

use super::api::{json_module, random_module, regex_module, reply_module, time_module};
use super::call::with_call;
use crate::wechat::Reply;

/// Sandbox limits. Wall time is per call; the rest bound what one call can build.
pub const MAX_OPERATIONS: u64 = 20_000_000;
pub const MAX_CALL_LEVELS: usize = 48;
pub const MAX_EXPR_DEPTH: usize = 64;
pub const MAX_STRING: usize = 256 * 1024;
pub const MAX_ARRAY: usize = 10_000;
pub const MAX_MAP: usize = 10_000;

thread_local! {
    /// When the script on this thread must stop.
    pub(super) static DEADLINE: Cell<Option<Instant>> = const { Cell::new(None) };
    /// Set while a call is tried on an async worker (see `try_inline`).
    static INLINE: Cell<bool> = const { Cell::new(false) };
    /// Whether the call tried inline needed more than it may have there.
    static INLINE_GAVE_UP: Cell<bool> = const { Cell::new(false) };
}

/// Operations a call tried inline may run (tens of microseconds) before it
/// is abandoned and run again on a blocking thread.
const INLINE_OPERATIONS: u64 = 2_000;

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

/// The `ctx` argument of entry points.
#[derive(Clone)]
pub struct PluginContext {
    pub account: Map,
    pub fan: LazyFan,
    pub plugin: ImmutableString,
    pub dry_run: bool,
}

/// `ctx.fan`, read from the database the first time a script asks for it:
/// a plugin that never looks at the fan costs the callback no fan lookup.
#[derive(Clone)]
pub struct LazyFan {
    value: Arc<OnceLock<Map>>,
    load: Option<Arc<dyn Fn() -> Result<Map, String> + Send + Sync>>,
}

impl LazyFan {
    /// A fan known already (dry runs bring theirs).
    pub fn ready(fan: Map) -> Self {
        let value = OnceLock::new();
        let _ = value.set(fan);
        LazyFan {
            value: Arc::new(value),
            load: None,
        }
    }

    /// A fan `load` reads on first use, on the script's thread (through
    /// `wait_for`, so a call tried inline moves to a blocking thread). The
    /// time it takes is added to the call's deadline: waiting for the
    /// database is not the script's fault.
    pub fn loading(load: impl Fn() -> Result<Map, String> + Send + Sync + 'static) -> Self {
        LazyFan {
            value: Arc::new(OnceLock::new()),
            load: Some(Arc::new(load)),
        }
    }

    fn get(&self) -> Result<Map, Box<EvalAltResult>> {
        if let Some(fan) = self.value.get() {
            return Ok(fan.clone());
        }
        let Some(load) = &self.load else {
            return Ok(Map::new());
        };
        let started = Instant::now();
        let fan = load()?;
        DEADLINE.with(|d| d.set(d.get().map(|at| at + started.elapsed())));
        Ok(self.value.get_or_init(|| fan).clone())
    }
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
    static RULES: OnceLock<Vec<(regex::Regex, &'static str)>> = OnceLock::new();
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
        .on_progress(|operations| {
            if operations > INLINE_OPERATIONS && INLINE.with(|i| i.get()) {
                INLINE_GAVE_UP.with(|g| g.set(true));
                return Some(Dynamic::from("the call needs a blocking thread"));
            }
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

/// Runs `evaluate`, a plugin call, on this async worker thread if it is
/// short and waits for nothing: `None` when it ran more than a few thousand
/// operations or wanted to wait for the database or the network (see
/// `wait_for`). Its effects are all in its `CallState` until the call
/// returns, so an abandoned try is thrown away and run again, whole, on a
/// blocking thread. Most plugins answer or pass in a few dozen operations:
/// they cost no thread hand-off at all.
pub(super) fn try_inline<T>(evaluate: impl FnOnce() -> T) -> Option<T> {
    INLINE.with(|i| i.set(true));
    INLINE_GAVE_UP.with(|g| g.set(false));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(evaluate));
    INLINE.with(|i| i.set(false));
    let gave_up = INLINE_GAVE_UP.with(|g| g.replace(false));
    // A panic is not ours to judge here: the blocking thread reports it.
    result.ok().filter(|_| !gave_up)
}

/// Waits for `io` on the script's (blocking) thread. Refused in a call tried
/// inline (an async worker must never block): that call then runs again on a
/// blocking thread. Every I/O a script's functions do goes through here.
pub fn wait_for<F: std::future::Future>(
    runtime: &tokio::runtime::Handle,
    io: F,
) -> Result<F::Output, String> {
    if INLINE.with(|i| i.get()) {
        INLINE_GAVE_UP.with(|g| g.set(true));
        return Err("the call needs a blocking thread".into());
    }
    Ok(runtime.block_on(io))
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
        .register_get("fan", |ctx: &mut PluginContext| ctx.fan.get())
        .register_get("plugin", |ctx: &mut PluginContext| ctx.plugin.clone())
        .register_get("dry_run", |ctx: &mut PluginContext| ctx.dry_run)
        .register_fn("get", |_: &mut PluginContext, key: &str| {
            with_call(|c| c.get(false, key))
        })
        .register_fn("set", |_: &mut PluginContext, key: &str, value: Dynamic| {
            with_call(|c| c.set(false, key, Some(value), None))
        })
        .register_fn(
            "set",
            |_: &mut PluginContext, key: &str, value: Dynamic, ttl: Dynamic| {
                with_call(|c| c.set(false, key, Some(value), Some(&ttl)))
            },
        )
        .register_fn("remove", |_: &mut PluginContext, key: &str| {
            with_call(|c| c.set(false, key, None, None))
        })
        .register_fn("fan_get", |_: &mut PluginContext, key: &str| {
            with_call(|c| c.get(true, key))
        })
        .register_fn(
            "fan_set",
            |_: &mut PluginContext, key: &str, value: Dynamic| {
                with_call(|c| c.set(true, key, Some(value), None))
            },
        )
        .register_fn(
            "fan_set",
            |_: &mut PluginContext, key: &str, value: Dynamic, ttl: Dynamic| {
                with_call(|c| c.set(true, key, Some(value), Some(&ttl)))
            },
        )
        .register_fn("fan_remove", |_: &mut PluginContext, key: &str| {
            with_call(|c| c.set(true, key, None, None))
        })
        .register_fn("incr", |_: &mut PluginContext, key: &str| {
            with_call(|c| c.incr(false, key, 1, None))
        })
        .register_fn("incr", |_: &mut PluginContext, key: &str, by: i64| {
            with_call(|c| c.incr(false, key, by, None))
        })
        .register_fn(
            "incr",
            |_: &mut PluginContext, key: &str, by: i64, ttl: Dynamic| {
                with_call(|c| c.incr(false, key, by, Some(&ttl)))
            },
        )
        .register_fn("fan_incr", |_: &mut PluginContext, key: &str| {
            with_call(|c| c.incr(true, key, 1, None))
        })
        .register_fn("fan_incr", |_: &mut PluginContext, key: &str, by: i64| {
            with_call(|c| c.incr(true, key, by, None))
        })
        .register_fn(
            "fan_incr",
            |_: &mut PluginContext, key: &str, by: i64, ttl: Dynamic| {
                with_call(|c| c.incr(true, key, by, Some(&ttl)))
            },
        )
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

    engine
        .register_fn("schedule", |after: Dynamic, name: &str, data: Dynamic| {
            super::timers::schedule(after, name, data)
        })
        .register_fn("schedule", |after: Dynamic, name: &str| {
            super::timers::schedule(after, name, Dynamic::UNIT)
        });
    engine.register_fn("settings", || {
        super::call::with_call(|call| Ok(call.settings.clone()))
    });
    engine.register_static_module("reply", reply_module().into());
    engine.register_static_module("time", time_module().into());
    engine.register_static_module("regex", regex_module().into());
    engine.register_static_module("json", json_module().into());
    engine.register_static_module("random", random_module().into());
    engine.register_static_module("http", super::http_out::http_module().into());
    engine.register_static_module("wechat", super::actions::wechat_module().into());
}
