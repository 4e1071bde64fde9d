//! A compiled plugin script: its declaration (name, priority, what it runs
//! for), its AST, and calling its handler.

use super::call::{CallState, CURRENT};
use super::engine::{
    runtime_error, script_error, text_of, with_deadline, Modules, PluginContext, ScriptError,
    ScriptOutcome, ScriptReply,
};
use std::sync::Arc;
use std::time::Duration;

use rhai::{Array, CallFnOptions, Dynamic, Engine, Map, Position, Scope, AST};

use crate::wechat::{InboundMessage, Reply};

use super::http_out::HttpOut;
use super::message_map::message_map;

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
    /// Off for every account until an admin switches it on there (the shipped
    /// examples say so); otherwise on for every account until switched off.
    pub opt_in: bool,
    /// The text the fan gets when the plugin fails (instead of the next handler's answer).
    pub on_error: Option<String>,
    /// Hosts `http::get`/`post` may reach (names or addresses, as written).
    pub http_hosts: Vec<String>,
    /// Settings admins fill per account; the script reads them with `settings()`.
    pub settings: Vec<super::settings::Setting>,
    /// When `on_timer` runs by the clock, for each account (`cron`).
    pub schedules: Vec<super::cron::Schedule>,
}

/// The keys a declaration may have.
pub const DECLARATION_KEYS: &[&str] = &[
    "name",
    "description",
    "priority",
    "messages",
    "events",
    "accounts",
    "enabled",
    "opt_in",
    "on_error",
    "http_hosts",
    "settings",
    "schedules",
];

/// Message types WeChat sends to an Official Account (for `messages`).
pub const MESSAGE_TYPES: &[&str] = &[
    "text",
    "image",
    "voice",
    "video",
    "shortvideo",
    "location",
    "link",
];

/// Events WeChat sends to an Official Account (for `events`, any case).
pub const EVENTS: &[&str] = &[
    "subscribe",
    "unsubscribe",
    "SCAN",
    "LOCATION",
    "CLICK",
    "VIEW",
    "view_miniprogram",
    "scancode_push",
    "scancode_waitmsg",
    "pic_sysphoto",
    "pic_photo_or_album",
    "pic_weixin",
    "location_select",
    "TEMPLATESENDJOBFINISH",
    "MASSSENDJOBFINISH",
    "PUBLISHJOBFINISH",
    "subscribe_msg_popup_event",
    "subscribe_msg_change_event",
    "subscribe_msg_sent_event",
    "kf_create_session",
    "kf_close_session",
    "kf_switch_session",
    "user_get_card",
    "user_del_card",
    "user_consume_card",
    "user_view_card",
    "user_enter_session_from_card",
    "card_pass_check",
    "card_not_pass_check",
    "poi_check_notify",
    "qualification_verify_success",
    "qualification_verify_fail",
    "naming_verify_success",
    "naming_verify_fail",
    "annual_renew",
    "verify_expired",
];

/// Edit distance (insertions, deletions, substitutions), case-insensitive.
fn distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (
        a.to_lowercase().chars().collect(),
        b.to_lowercase().chars().collect(),
    );
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

/// ` (did you mean "messages"?)` when a valid name is close to `word`.
fn suggestion(word: &str, valid: &[&str]) -> String {
    valid
        .iter()
        .map(|v| (distance(word, v), *v))
        .min()
        .filter(|(d, v)| *d <= 2.max(v.len() / 3))
        .map(|(_, v)| format!(" (did you mean {v:?}?)"))
        .unwrap_or_default()
}

/// Finds the places of the declaration's keys and values in the source
/// (the declaration is evaluated, so its values carry no positions).
struct Locator<'a> {
    file: &'a str,
    source: &'a str,
    /// Byte offset of `PLUGIN = #{`.
    start: usize,
}

impl<'a> Locator<'a> {
    fn new(file: &'a str, source: &'a str) -> Self {
        let start = regex::Regex::new(r"\bPLUGIN\s*=\s*#\{")
            .ok()
            .and_then(|r| r.find(source))
            .map(|m| m.start())
            .unwrap_or(0);
        Self {
            file,
            source,
            start,
        }
    }

    /// Where `key:` (or `"key":`) is, after the declaration's start.
    fn key(&self, key: &str) -> Option<usize> {
        let pattern = format!(r#"(^|[\s{{,])["']?({})["']?\s*:"#, regex::escape(key));
        let found = regex::Regex::new(&pattern)
            .ok()?
            .captures(&self.source[self.start..])?;
        Some(self.start + found.get(2)?.start())
    }

    /// Where the string `value` is written after `key:`.
    fn value(&self, key: &str, value: &str) -> Option<usize> {
        let from = self.key(key).unwrap_or(self.start);
        ['"', '`', '\'']
            .iter()
            .filter_map(|q| self.source[from..].find(&format!("{q}{value}{q}")))
            .min()
            .map(|at| from + at)
    }

    /// An error at `offset` (or at no place).
    fn error(&self, offset: Option<usize>, message: String) -> ScriptError {
        let mut error = script_error(self.file, Position::NONE, message);
        if let Some(offset) = offset {
            let before = &self.source[..offset];
            error.line = Some(before.matches('\n').count() + 1);
            error.column = Some(before.rsplit('\n').next().unwrap_or("").chars().count() + 1);
        }
        error
    }
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
    /// `on_timer(name, data, ctx)`, called by the timers `schedule` sets.
    pub has_on_timer: bool,
    pub file: String,
    /// The plugin's source and its modules', for the lines errors point at.
    pub source: Arc<str>,
    pub modules: Arc<Modules>,
    /// Where `http::` may go; `None` for plugins that list no http_hosts.
    pub http: Option<Arc<HttpOut>>,
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
    modules: &Modules,
    file: &str,
    default_name: &str,
    source: &str,
    timeout: Duration,
) -> Result<Script, ScriptError> {
    let ast = engine.compile(source).map_err(|e| {
        let mut message = e.err_type().to_string();
        // `default` is a Rhai keyword; a setting's default is written quoted.
        if message.contains("'default' is a reserved keyword") {
            message.push_str(": in a map, quote it (\"default\": …)");
        }
        script_error(file, e.position(), message).with_snippet(source)
    })?;
    let mut scope = Scope::new();
    with_deadline(timeout, || engine.run_ast_with_scope(&mut scope, &ast))
        .map_err(|e| runtime_error(file, source, modules, &e, timeout))?;
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
    let locate = Locator::new(file, source);
    let bad_at = |key: &str, message: String| locate.error(locate.key(key), message);
    let bad = |message: String| script_error(file, Position::NONE, message);
    let mut keys: Vec<&str> = declared.keys().map(|k| k.as_str()).collect();
    keys.sort_by_key(|k| locate.key(k));
    if let Some(unknown) = keys.iter().find(|k| !DECLARATION_KEYS.contains(k)) {
        return Err(bad_at(
            unknown,
            format!(
                "PLUGIN has no key {unknown:?}{}; the keys are {}",
                suggestion(unknown, DECLARATION_KEYS),
                DECLARATION_KEYS.join(", ")
            ),
        ));
    }
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
        return Err(bad_at(
            "name",
            format!("plugin name {name:?}: use 1–64 letters, digits, '_' or '-'"),
        ));
    }
    let priority = match declared.get("priority") {
        None => DEFAULT_PRIORITY,
        Some(value) => value
            .as_int()
            .ok()
            .and_then(|p| i32::try_from(p).ok())
            .ok_or_else(|| bad_at("priority", "PLUGIN.priority must be a whole number".into()))?,
    };
    let has_fn = |fn_name: &str| {
        ast.iter_functions()
            .any(|f| f.name == fn_name && f.params.len() == 2)
    };
    let (has_on_message, has_on_event) = (has_fn("on_message"), has_fn("on_event"));
    let has_on_timer = ast
        .iter_functions()
        .any(|f| f.name == "on_timer" && f.params.len() == 3);
    if !has_on_message && !has_on_event {
        return Err(bad(
            "a plugin defines on_message(msg, ctx) and/or on_event(evt, ctx)".into(),
        ));
    }
    let list = |key: &str, default: &[&str], valid: &[&str]| {
        let items = string_list(&declared, key, default).map_err(|m| bad_at(key, m))?;
        let known = |item: &String| {
            valid.is_empty() || item == "*" || valid.iter().any(|v| v.eq_ignore_ascii_case(item))
        };
        match items.iter().find(|item| !known(item)) {
            None => Ok(items),
            Some(item) => {
                Err(locate.error(
                    locate.value(key, item).or(locate.key(key)),
                    format!(
                    "PLUGIN.{key}: {item:?} is not a WeChat {}{}; use \"*\" for all, or one of {}",
                    if key == "messages" { "message type" } else { "event" },
                    suggestion(item, valid),
                    valid.join(", ")
                ),
                ))
            }
        }
    };
    let on_error = match declared.get("on_error") {
        None => None,
        Some(value) => match value.clone().into_string() {
            Ok(text) if !text.trim().is_empty() => Some(text),
            _ => {
                return Err(bad_at(
                    "on_error",
                    "PLUGIN.on_error is the text the fan gets when the plugin fails: a non-empty string".into(),
                ))
            }
        },
    };
    let http_hosts = list("http_hosts", &[], &[])?;
    if let Some(bad_host) = http_hosts.iter().find(|h| !super::http_out::is_host(h)) {
        return Err(locate.error(
            locate
                .value("http_hosts", bad_host)
                .or(locate.key("http_hosts")),
            format!(
                "PLUGIN.http_hosts: {bad_host:?} is not a host; write the name or address \
                 alone (\"api.shop.example\", \"127.0.0.1\"), without scheme, port or path"
            ),
        ));
    }
    let settings = super::settings::declared(declared.get("settings"))
        .map_err(|message| bad_at("settings", message))?;
    let schedules = super::cron::declared(declared.get("schedules"))
        .map_err(|message| bad_at("schedules", message))?;
    if !schedules.is_empty() && !has_on_timer {
        return Err(bad_at(
            "schedules",
            "PLUGIN.schedules call on_timer(name, data, ctx): define it".into(),
        ));
    }
    let declaration = Declaration {
        name,
        description: declared.get("description").map(text_of).unwrap_or_default(),
        priority,
        messages: list("messages", &["*"], MESSAGE_TYPES)?,
        events: list("events", &["*"], EVENTS)?,
        accounts: list("accounts", &[], &[])?,
        enabled: declared
            .get("enabled")
            .map(|v| v.as_bool().unwrap_or(true))
            .unwrap_or(true),
        opt_in: match declared.get("opt_in") {
            None => false,
            Some(value) => value.as_bool().map_err(|_| {
                bad_at(
                    "opt_in",
                    "PLUGIN.opt_in must be true (off for every account until an admin switches it on there) or false".into(),
                )
            })?,
        },
        on_error,
        http_hosts,
        settings,
        schedules,
    };
    Ok(Script {
        engine,
        ast,
        has_on_message,
        has_on_event,
        has_on_timer,
        file: file.into(),
        source: source.into(),
        modules: Arc::new(modules.clone()),
        http: (!declaration.http_hosts.is_empty())
            .then(|| Arc::new(HttpOut::new(&declaration.http_hosts))),
        declaration,
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
        let args = vec![Dynamic::from_map(message_map(message)), Dynamic::from(ctx)];
        let value = self.invoke(entry, args, call, timeout)?;
        outcome_of(value).map_err(|m| script_error(&self.file, Position::NONE, m))
    }

    /// Runs `on_timer(name, data, ctx)` on this thread; what it returns is
    /// not a reply (there is no message to answer), so it is not looked at.
    pub fn call_timer(
        &self,
        name: &str,
        data: serde_json::Value,
        ctx: PluginContext,
        call: Arc<CallState>,
        timeout: Duration,
    ) -> Result<ScriptOutcome, ScriptError> {
        let data = rhai::serde::to_dynamic(data)
            .map_err(|e| script_error(&self.file, Position::NONE, e.to_string()))?;
        let args = vec![Dynamic::from(name.to_string()), data, Dynamic::from(ctx)];
        let _ignored = self.invoke("on_timer", args, call, timeout)?;
        Ok(ScriptOutcome::NoReply)
    }

    fn invoke(
        &self,
        entry: &str,
        args: Vec<Dynamic>,
        call: Arc<CallState>,
        timeout: Duration,
    ) -> Result<Dynamic, ScriptError> {
        CURRENT.with(|current| *current.borrow_mut() = Some(call));
        let options = CallFnOptions::new().eval_ast(false);
        let result = with_deadline(timeout, || {
            self.engine.call_fn_with_options::<Dynamic>(
                options,
                &mut Scope::new(),
                &self.ast,
                entry,
                args,
            )
        });
        CURRENT.with(|current| *current.borrow_mut() = None);
        result.map_err(|e| runtime_error(&self.file, &self.source, &self.modules, &e, timeout))
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
    let type_name = super::engine::plain_types(value.type_name());
    match value.try_cast::<ScriptReply>() {
        Some(ScriptReply(Some(reply))) => Ok(ScriptOutcome::Reply(reply)),
        Some(ScriptReply(None)) => Ok(ScriptOutcome::NoReply),
        None => Err(format!(
            "the entry point returned {} {type_name}; return a reply::…, a string, or ()",
            if type_name.starts_with(['a', 'e', 'i', 'o', 'u']) {
                "an"
            } else {
                "a"
            }
        )),
    }
}
