//! The sandboxed Rhai engine and the API scripts see: the message, the fan,
//! the account, reply builders, key–value state, logging and helpers.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rhai::module_resolvers::StaticModuleResolver;
use rhai::{
    Array, CallFnOptions, Dynamic, Engine, EvalAltResult, ImmutableString, Map, Module, Position,
    Scope, AST,
};

use crate::wechat::{Article, Event, InboundMessage, MessageKind, Reply};

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
    static DEADLINE: Cell<Option<Instant>> = const { Cell::new(None) };
    /// The call running on this thread (for logs and state).
    static CURRENT: RefCell<Option<Arc<CallState>>> = const { RefCell::new(None) };
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
/// thread); writes are applied after the call succeeded.
pub trait StateStore: Send + Sync {
    fn get(&self, scope: &StateScope, key: &str) -> Result<Option<serde_json::Value>, String>;
}

/// Whose value: a plugin, in an account, optionally for one fan.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StateScope {
    pub plugin: String,
    pub account_id: i64,
    /// Empty for account-wide values.
    pub openid: String,
}

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
    store: Arc<dyn StateStore>,
    pub writes: Mutex<StateWrites>,
    pub logs: Mutex<Vec<LogLine>>,
}

impl CallState {
    pub fn new(plugin: &str, account_id: i64, openid: &str, store: Arc<dyn StateStore>) -> Self {
        Self {
            plugin: plugin.to_string(),
            account_id,
            openid: openid.to_string(),
            store,
            writes: Mutex::new(BTreeMap::new()),
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
        if key.is_empty() || key.len() > 191 {
            return Err("state keys are 1–191 bytes".into());
        }
        let value = match value {
            Some(value) => {
                let json: serde_json::Value = rhai::serde::from_dynamic(&value)?;
                if json.to_string().len() > MAX_STATE_VALUE {
                    return Err(
                        format!("state value for {key:?} is over {MAX_STATE_VALUE} bytes").into(),
                    );
                }
                Some(json)
            }
            None => None,
        };
        let mut writes = self.writes.lock().unwrap_or_else(|p| p.into_inner());
        if writes.len() >= MAX_STATE_WRITES {
            return Err(format!("more than {MAX_STATE_WRITES} state writes in one call").into());
        }
        writes.insert((self.scope(per_fan), key.to_string()), value);
        Ok(())
    }
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

/// A compile error with its place.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ScriptError {
    pub file: String,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub message: String,
}

impl std::fmt::Display for ScriptError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.line, self.column) {
            (Some(line), Some(column)) => {
                write!(f, "{}:{line}:{column}: {}", self.file, self.message)
            }
            (Some(line), None) => write!(f, "{}:{line}: {}", self.file, self.message),
            _ => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

pub fn script_error(file: &str, position: Position, message: impl Into<String>) -> ScriptError {
    ScriptError {
        file: file.into(),
        line: position.line(),
        column: position.position(),
        message: message.into(),
    }
}

/// A sandboxed engine that resolves `import` from `modules` (compiled here).
pub fn build_engine(modules: &Modules) -> Result<Engine, ScriptError> {
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
        })
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
    register_api(&mut engine);

    // Library modules are compiled into memory: importing never reads files.
    let mut resolver = StaticModuleResolver::new();
    let mut module_engine = Engine::new();
    module_engine.disable_symbol("eval");
    register_api(&mut module_engine);
    for (name, source) in modules {
        let file = format!("{name}.rhai");
        let ast = module_engine
            .compile(source)
            .map_err(|e| script_error(&file, e.position(), e.err_type().to_string()))?;
        let module = Module::eval_ast_as_new(Scope::new(), &ast, &module_engine)
            .map_err(|e| script_error(&file, e.position(), e.to_string()))?;
        resolver.insert(name.clone(), module);
    }
    engine.set_module_resolver(resolver);
    Ok(engine)
}

fn text_of(value: &Dynamic) -> String {
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

fn reply_module() -> Module {
    let mut m = Module::new();
    let wrap = |reply: Reply| ScriptReply(Some(reply));
    m.set_native_fn("text", move |content: ImmutableString| {
        Ok(wrap(Reply::Text {
            content: content.into(),
        }))
    });
    m.set_native_fn("image", move |media_id: ImmutableString| {
        Ok(wrap(Reply::Image {
            media_id: media_id.into(),
        }))
    });
    m.set_native_fn("voice", move |media_id: ImmutableString| {
        Ok(wrap(Reply::Voice {
            media_id: media_id.into(),
        }))
    });
    m.set_native_fn(
        "video",
        move |media_id: ImmutableString, title: ImmutableString, description: ImmutableString| {
            Ok(wrap(Reply::Video {
                media_id: media_id.into(),
                title: title.into(),
                description: description.into(),
            }))
        },
    );
    m.set_native_fn(
        "music",
        move |title: ImmutableString,
              description: ImmutableString,
              music_url: ImmutableString,
              hq_music_url: ImmutableString,
              thumb_media_id: ImmutableString| {
            Ok(wrap(Reply::Music {
                title: title.into(),
                description: description.into(),
                music_url: music_url.into(),
                hq_music_url: hq_music_url.into(),
                thumb_media_id: thumb_media_id.into(),
            }))
        },
    );
    m.set_native_fn(
        "news",
        move |title: ImmutableString,
              description: ImmutableString,
              pic_url: ImmutableString,
              url: ImmutableString| {
            Ok(wrap(Reply::News {
                articles: vec![Article {
                    title: title.into(),
                    description: description.into(),
                    pic_url: pic_url.into(),
                    url: url.into(),
                }],
            }))
        },
    );
    m.set_native_fn("news", move |items: Array| {
        let articles = items
            .into_iter()
            .map(|item| {
                let map = item
                    .try_cast::<Map>()
                    .ok_or("news items are maps with title, description, pic_url, url")?;
                let field = |name: &str| map.get(name).map(text_of).unwrap_or_default();
                Ok(Article {
                    title: field("title"),
                    description: field("description"),
                    pic_url: field("pic_url"),
                    url: field("url"),
                })
            })
            .collect::<Result<Vec<_>, Box<EvalAltResult>>>()?;
        if articles.is_empty() || articles.len() > 8 {
            return Err("a news reply has 1 to 8 articles".into());
        }
        Ok(wrap(Reply::News { articles }))
    });
    m.set_native_fn("transfer_customer_service", move || {
        Ok(wrap(Reply::TransferCustomerService))
    });
    m.set_native_fn("none", || Ok(ScriptReply(None)));
    m
}

fn time_map(moment: chrono::DateTime<chrono_tz::Tz>) -> Map {
    use chrono::{Datelike, Timelike};
    let mut map = Map::new();
    map.insert("year".into(), (moment.year() as i64).into());
    map.insert("month".into(), (moment.month() as i64).into());
    map.insert("day".into(), (moment.day() as i64).into());
    map.insert("hour".into(), (moment.hour() as i64).into());
    map.insert("minute".into(), (moment.minute() as i64).into());
    map.insert("second".into(), (moment.second() as i64).into());
    map.insert(
        "weekday".into(),
        (moment.weekday().number_from_monday() as i64).into(),
    );
    map.insert("timestamp".into(), moment.timestamp().into());
    map.insert("date".into(), moment.format("%Y-%m-%d").to_string().into());
    map.insert("time".into(), moment.format("%H:%M").to_string().into());
    map.insert("iso".into(), moment.to_rfc3339().into());
    map.insert("timezone".into(), moment.timezone().name().into());
    map
}

fn timezone(name: &str) -> Result<chrono_tz::Tz, Box<EvalAltResult>> {
    name.parse::<chrono_tz::Tz>()
        .map_err(|_| format!("unknown time zone {name:?} (e.g. \"Asia/Shanghai\")").into())
}

fn time_module() -> Module {
    let mut m = Module::new();
    m.set_native_fn("now", |tz: ImmutableString| {
        Ok(time_map(chrono::Utc::now().with_timezone(&timezone(&tz)?)))
    });
    m.set_native_fn("now", || {
        Ok(time_map(
            chrono::Utc::now().with_timezone(&chrono_tz::Asia::Shanghai),
        ))
    });
    m.set_native_fn("from_timestamp", |ts: i64, tz: ImmutableString| {
        let moment = chrono::DateTime::from_timestamp(ts, 0).ok_or("timestamp out of range")?;
        Ok(time_map(moment.with_timezone(&timezone(&tz)?)))
    });
    m
}

/// Compiled patterns, bounded in size and number.
fn compiled_regex(pattern: &str) -> Result<regex::Regex, Box<EvalAltResult>> {
    static CACHE: std::sync::OnceLock<Mutex<HashMap<String, regex::Regex>>> =
        std::sync::OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    if let Some(found) = cache.lock().unwrap_or_else(|p| p.into_inner()).get(pattern) {
        return Ok(found.clone());
    }
    let compiled = regex::RegexBuilder::new(pattern)
        .size_limit(1 << 20)
        .build()
        .map_err(|e| format!("bad regex: {e}"))?;
    let mut cache = cache.lock().unwrap_or_else(|p| p.into_inner());
    if cache.len() >= 256 {
        cache.clear();
    }
    cache.insert(pattern.to_string(), compiled.clone());
    Ok(compiled)
}

fn regex_module() -> Module {
    let mut m = Module::new();
    m.set_native_fn(
        "is_match",
        |pattern: ImmutableString, text: ImmutableString| {
            Ok(compiled_regex(&pattern)?.is_match(&text))
        },
    );
    m.set_native_fn(
        "captures",
        |pattern: ImmutableString, text: ImmutableString| {
            Ok(match compiled_regex(&pattern)?.captures(&text) {
                Some(caps) => Dynamic::from_array(
                    caps.iter()
                        .map(|g| {
                            g.map(|g| Dynamic::from(g.as_str().to_string()))
                                .unwrap_or(Dynamic::UNIT)
                        })
                        .collect(),
                ),
                None => Dynamic::UNIT,
            })
        },
    );
    m.set_native_fn(
        "replace",
        |pattern: ImmutableString, text: ImmutableString, with: ImmutableString| {
            Ok(compiled_regex(&pattern)?
                .replace_all(&text, with.as_str())
                .to_string())
        },
    );
    m
}

fn json_module() -> Module {
    let mut m = Module::new();
    m.set_native_fn("encode", |value: Dynamic| {
        let json: serde_json::Value = rhai::serde::from_dynamic(&value)?;
        Ok(json.to_string())
    });
    m.set_native_fn("decode", |text: ImmutableString| {
        let json: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| format!("bad JSON: {e}"))?;
        rhai::serde::to_dynamic(json)
    });
    m
}

fn random_module() -> Module {
    use rand::Rng;
    let mut m = Module::new();
    m.set_native_fn("int", |low: i64, high: i64| {
        if low > high {
            return Err("random::int(low, high) needs low <= high".into());
        }
        Ok(rand::thread_rng().gen_range(low..=high))
    });
    m.set_native_fn("float", || Ok(rand::thread_rng().gen::<f64>()));
    m.set_native_fn("pick", |items: Array| {
        if items.is_empty() {
            return Ok(Dynamic::UNIT);
        }
        let index = rand::thread_rng().gen_range(0..items.len());
        Ok(items[index].clone())
    });
    m
}

/// The message as scripts see it: one map with every field typed.
pub fn message_map(message: &InboundMessage) -> Map {
    let mut map = Map::new();
    let mut put = |key: &str, value: Dynamic| {
        map.insert(key.into(), value);
    };
    put("type", message.msg_type.clone().into());
    put("from", message.from_user.clone().into());
    put("to", message.to_user.clone().into());
    put("create_time", message.create_time.into());
    put(
        "msg_id",
        message
            .msg_id
            .map(|id| Dynamic::from(id.to_string()))
            .unwrap_or(Dynamic::UNIT),
    );
    let fields: Map = message
        .fields
        .0
        .iter()
        .map(|(k, v)| (k.as_str().into(), Dynamic::from(v.clone())))
        .collect();
    let float = |v: &Option<f64>| v.map(Dynamic::from_float).unwrap_or(Dynamic::UNIT);
    match &message.kind {
        MessageKind::Text { content } => put("content", content.clone().into()),
        MessageKind::Image { pic_url, media_id } => {
            put("pic_url", pic_url.clone().into());
            put("media_id", media_id.clone().into());
        }
        MessageKind::Voice {
            media_id,
            format,
            recognition,
        } => {
            put("media_id", media_id.clone().into());
            put("format", format.clone().into());
            put(
                "recognition",
                recognition
                    .clone()
                    .map(Dynamic::from)
                    .unwrap_or(Dynamic::UNIT),
            );
        }
        MessageKind::Video {
            media_id,
            thumb_media_id,
        }
        | MessageKind::ShortVideo {
            media_id,
            thumb_media_id,
        } => {
            put("media_id", media_id.clone().into());
            put("thumb_media_id", thumb_media_id.clone().into());
        }
        MessageKind::Location { x, y, scale, label } => {
            put("location_x", float(x));
            put("location_y", float(y));
            put(
                "scale",
                scale
                    .map(|s| Dynamic::from(i64::from(s)))
                    .unwrap_or(Dynamic::UNIT),
            );
            put("label", label.clone().into());
        }
        MessageKind::Link {
            title,
            description,
            url,
        } => {
            put("title", title.clone().into());
            put("description", description.clone().into());
            put("url", url.clone().into());
        }
        MessageKind::Event(event) => {
            put(
                "event",
                message.event_name().unwrap_or_default().to_string().into(),
            );
            put("event_key", message.event_key().to_string().into());
            match event {
                Event::Subscribe { scene, .. } => put(
                    "scene",
                    scene.clone().map(Dynamic::from).unwrap_or(Dynamic::UNIT),
                ),
                Event::Scan { scene, .. } => put("scene", scene.clone().into()),
                Event::Location {
                    latitude,
                    longitude,
                    precision,
                } => {
                    put("latitude", float(latitude));
                    put("longitude", float(longitude));
                    put("precision", float(precision));
                }
                Event::ScanCode {
                    scan_type,
                    scan_result,
                    ..
                } => {
                    put("scan_type", scan_type.clone().into());
                    put("scan_result", scan_result.clone().into());
                }
                Event::LocationSelect {
                    x,
                    y,
                    label,
                    poi_name,
                    ..
                } => {
                    put("location_x", float(x));
                    put("location_y", float(y));
                    put("label", label.clone().into());
                    put("poi_name", poi_name.clone().into());
                }
                Event::TemplateSendJobFinish { msg_id, status } => {
                    put(
                        "template_msg_id",
                        msg_id
                            .map(|id| Dynamic::from(id.to_string()))
                            .unwrap_or(Dynamic::UNIT),
                    );
                    put("status", status.clone().into());
                }
                _ => {}
            }
        }
        MessageKind::Other => {}
    }
    put("fields", fields.into());
    map
}

/// The plugin's declaration (`const PLUGIN = #{ … }`), with defaults.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Declaration {
    pub name: String,
    pub description: String,
    pub priority: i32,
    /// Message types it wants (`*` for all); only used with `on_message`.
    pub messages: Vec<String>,
    /// Events it wants (`*` for all, case-insensitive); only with `on_event`.
    pub events: Vec<String>,
    /// App ids it runs for; empty for all.
    pub accounts: Vec<String>,
    pub enabled: bool,
}

/// Priority of plugins that do not say: after keyword rules, before the default reply.
pub const DEFAULT_PRIORITY: i32 = 100;

/// A compiled plugin: its AST, declaration and the engine it was built with.
pub struct Script {
    pub engine: Arc<Engine>,
    pub ast: AST,
    pub declaration: Declaration,
    pub has_on_message: bool,
    pub has_on_event: bool,
    pub file: String,
}

fn string_list(map: &Map, key: &str, default: &[&str]) -> Result<Vec<String>, String> {
    match map.get(key) {
        None => Ok(default.iter().map(|s| s.to_string()).collect()),
        Some(value) => match value.clone().try_cast::<Array>() {
            Some(items) => Ok(items.iter().map(text_of).collect()),
            None => Err(format!("PLUGIN.{key} must be a list of strings")),
        },
    }
}

/// Compiles `source`, runs its top level once (within the limits) and reads
/// its declaration.
pub fn compile(
    engine: Arc<Engine>,
    file: &str,
    default_name: &str,
    source: &str,
    timeout: Duration,
) -> Result<Script, ScriptError> {
    let ast = engine
        .compile(source)
        .map_err(|e| script_error(file, e.position(), e.err_type().to_string()))?;
    let mut scope = Scope::new();
    DEADLINE.with(|d| d.set(Some(Instant::now() + timeout)));
    let evaluated = engine.run_ast_with_scope(&mut scope, &ast);
    DEADLINE.with(|d| d.set(None));
    evaluated.map_err(|e| script_error(file, e.position(), e.to_string()))?;
    let declared: Map = match scope.get_value::<Map>("PLUGIN") {
        Some(map) => map,
        None if scope.contains("PLUGIN") => {
            return Err(script_error(
                file,
                Position::NONE,
                "PLUGIN must be a map: const PLUGIN = #{ name: \"…\", … };",
            ))
        }
        None => Map::new(),
    };
    let bad = |message: String| script_error(file, Position::NONE, message);
    let name = declared
        .get("name")
        .map(text_of)
        .unwrap_or_else(|| default_name.to_string());
    if name.is_empty()
        || name.len() > 64
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err(bad(format!(
            "plugin name {name:?}: use 1–64 letters, digits, '_' or '-'"
        )));
    }
    let priority = match declared.get("priority") {
        None => DEFAULT_PRIORITY,
        Some(value) => value
            .as_int()
            .ok()
            .and_then(|p| i32::try_from(p).ok())
            .ok_or_else(|| bad("PLUGIN.priority must be a whole number".into()))?,
    };
    let has_fn = |fn_name: &str| {
        ast.iter_functions()
            .any(|f| f.name == fn_name && f.params.len() == 2)
    };
    let (has_on_message, has_on_event) = (has_fn("on_message"), has_fn("on_event"));
    if !has_on_message && !has_on_event {
        return Err(bad(
            "a plugin defines on_message(msg, ctx) and/or on_event(evt, ctx)".into(),
        ));
    }
    let declaration = Declaration {
        name,
        description: declared.get("description").map(text_of).unwrap_or_default(),
        priority,
        messages: string_list(&declared, "messages", &["*"]).map_err(bad)?,
        events: string_list(&declared, "events", &["*"]).map_err(bad)?,
        accounts: string_list(&declared, "accounts", &[]).map_err(bad)?,
        enabled: declared
            .get("enabled")
            .map(|v| v.as_bool().unwrap_or(true))
            .unwrap_or(true),
    };
    Ok(Script {
        engine,
        ast,
        declaration,
        has_on_message,
        has_on_event,
        file: file.into(),
    })
}

impl Script {
    /// Whether this plugin wants `message`.
    pub fn wants(&self, message: &InboundMessage) -> bool {
        let any = |list: &[String], value: &str| {
            list.iter()
                .any(|item| item == "*" || item.eq_ignore_ascii_case(value))
        };
        match message.event_name() {
            Some(event) => self.has_on_event && any(&self.declaration.events, event),
            None => self.has_on_message && any(&self.declaration.messages, &message.msg_type),
        }
    }

    /// Runs the entry point for `message` on this thread, within `timeout`.
    pub fn call(
        &self,
        message: &InboundMessage,
        ctx: PluginContext,
        call: Arc<CallState>,
        timeout: Duration,
    ) -> Result<ScriptOutcome, ScriptError> {
        let entry = if message.event_name().is_some() {
            "on_event"
        } else {
            "on_message"
        };
        CURRENT.with(|current| *current.borrow_mut() = Some(call));
        DEADLINE.with(|d| d.set(Some(Instant::now() + timeout)));
        let options = CallFnOptions::new().eval_ast(false);
        let result = self.engine.call_fn_with_options::<Dynamic>(
            options,
            &mut Scope::new(),
            &self.ast,
            entry,
            (Dynamic::from_map(message_map(message)), Dynamic::from(ctx)),
        );
        DEADLINE.with(|d| d.set(None));
        CURRENT.with(|current| *current.borrow_mut() = None);
        let value = result.map_err(|e| {
            let message = match *e {
                EvalAltResult::ErrorTerminated(..) => {
                    format!("stopped: ran longer than {} ms", timeout.as_millis())
                }
                ref other => other.to_string(),
            };
            script_error(&self.file, e.position(), message)
        })?;
        outcome_of(value).map_err(|m| script_error(&self.file, Position::NONE, m))
    }
}

fn outcome_of(value: Dynamic) -> Result<ScriptOutcome, String> {
    if value.is_unit() {
        return Ok(ScriptOutcome::Continue);
    }
    if value.is_string() {
        return Ok(ScriptOutcome::Reply(Reply::Text {
            content: text_of(&value),
        }));
    }
    let type_name = value.type_name();
    match value.try_cast::<ScriptReply>() {
        Some(ScriptReply(Some(reply))) => Ok(ScriptOutcome::Reply(reply)),
        Some(ScriptReply(None)) => Ok(ScriptOutcome::NoReply),
        None => Err(format!(
            "the entry point returned a {type_name}; return a reply::…, a string, or ()"
        )),
    }
}
