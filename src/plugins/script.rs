//! A compiled plugin script: its declaration (name, priority, what it runs
//! for), its AST, and calling its handler.

use super::engine::{
    eval_error_message, script_error, text_of, with_deadline, CallState, PluginContext,
    ScriptError, ScriptOutcome, ScriptReply, CURRENT,
};
use std::sync::Arc;
use std::time::Duration;

use rhai::{Array, CallFnOptions, Dynamic, Engine, Map, Position, Scope, AST};

use crate::wechat::{InboundMessage, Reply};

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
    with_deadline(timeout, || engine.run_ast_with_scope(&mut scope, &ast))
        .map_err(|e| script_error(file, e.position(), eval_error_message(&e, timeout)))?;
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
        let options = CallFnOptions::new().eval_ast(false);
        let result = with_deadline(timeout, || {
            self.engine.call_fn_with_options::<Dynamic>(
                options,
                &mut Scope::new(),
                &self.ast,
                entry,
                (Dynamic::from_map(message_map(message)), Dynamic::from(ctx)),
            )
        });
        CURRENT.with(|current| *current.borrow_mut() = None);
        let value = result
            .map_err(|e| script_error(&self.file, e.position(), eval_error_message(&e, timeout)))?;
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
