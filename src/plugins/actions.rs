//! WeChat actions from scripts: `wechat::send_text`, `send_template`, `tag`,
//! `untag` and `set_remark` keep a request that, once the call succeeded,
//! becomes a job (`plugin_action`): never run inside the reply's deadline,
//! retried if WeChat fails, and recorded with `plugin:<name>` as its author
//! (a sent message's `answered_by`, else an audit record). A plugin may
//! queue at most ACTIONS_PER_MINUTE actions a minute in one account,
//! counted in the jobs table (so across instances).

use rhai::{Dynamic, EvalAltResult, ImmutableString, Module, INT};
use serde_json::{json, Map, Value};

use super::call::{with_call, CallState};
use crate::entity::jobs;
use crate::jobs::{new_job, Job, JobFuture};
use crate::state::AppState;

/// Actions one plugin may queue a minute in one account.
pub const ACTIONS_PER_MINUTE: u64 = 20;
/// Actions one call may queue.
pub const MAX_ACTIONS_PER_CALL: usize = 10;
/// WeChat takes customer-service texts of up to 2048 bytes.
pub const MAX_TEXT_BYTES: usize = 2048;
/// WeChat takes remarks of up to 30 characters.
pub const MAX_REMARK_CHARS: usize = 30;

/// An action a call asked for; queued only if the call succeeds.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct ActionRequest {
    /// `send_text`, `send_template`, `tag`, `untag` or `set_remark`.
    pub action: String,
    pub openid: String,
    /// What the action needs besides the fan: `{text}`, `{template_id,
    /// data, url}`, `{tag_id}` or `{remark}`.
    pub params: Value,
}

/// The owner a plugin's actions are counted by.
pub(super) fn owner(plugin: &str, account_id: i64) -> String {
    format!("plugin-actions:{plugin}:{account_id}")
}

/// The job rows of a call's actions.
pub(super) fn action_jobs(
    plugin: &str,
    account_id: i64,
    actions: Vec<ActionRequest>,
    ids: &crate::ids::IdGenerator,
) -> Result<Vec<jobs::Model>, String> {
    let now = crate::db::now();
    actions
        .into_iter()
        .map(|action| {
            let payload = json!({
                "plugin": plugin,
                "account_id": account_id.to_string(),
                "action": action.action,
                "openid": action.openid,
                "params": action.params,
            });
            let mut job = new_job(
                ids.next_id().map_err(|e| e.to_string())?,
                PluginAction::NAME,
                payload,
                now,
            );
            job.owner = owner(plugin, account_id);
            Ok(job)
        })
        .collect()
}

fn refuse<T>(f: &str, why: impl std::fmt::Display) -> Result<T, Box<EvalAltResult>> {
    Err(format!("wechat::{f}: {why}").into())
}

/// A short text without NUL, `what` for the error.
fn short_text(f: &str, what: &str, text: &str, max_chars: usize) -> Result<(), Box<EvalAltResult>> {
    if text.trim().is_empty() || text.chars().count() > max_chars || crate::text::has_nul(text) {
        return refuse(
            f,
            format!("{what} is 1 to {max_chars} characters, without NUL"),
        );
    }
    Ok(())
}

impl CallState {
    /// Checks an action now and keeps it, to be queued with the call's writes.
    fn queue_action(
        &self,
        action: &str,
        openid: &str,
        params: Value,
    ) -> Result<(), Box<EvalAltResult>> {
        if openid.is_empty() || openid.len() > 64 || crate::text::has_nul(openid) {
            return refuse(action, format!("{openid:?} is not an openid"));
        }
        let mut actions = self.actions.lock().unwrap_or_else(|p| p.into_inner());
        if actions.len() >= MAX_ACTIONS_PER_CALL {
            return refuse(
                action,
                format!("at most {MAX_ACTIONS_PER_CALL} actions per call"),
            );
        }
        if let Some(store) = &self.timer_store {
            let since = chrono::Utc::now() - chrono::Duration::minutes(1);
            let recent = store.count(&owner(&self.plugin, self.account_id), Some(since))?;
            if recent + actions.len() as u64 >= ACTIONS_PER_MINUTE {
                return refuse(
                    action,
                    format!(
                        "this plugin's budget of {ACTIONS_PER_MINUTE} WeChat actions a minute \
                         in this account is used up; try again later"
                    ),
                );
            }
        }
        actions.push(ActionRequest {
            action: action.to_string(),
            openid: openid.to_string(),
            params,
        });
        Ok(())
    }
}

fn send_text(openid: &str, text: &str) -> Result<(), Box<EvalAltResult>> {
    if text.trim().is_empty() || text.len() > MAX_TEXT_BYTES || crate::text::has_nul(text) {
        return refuse(
            "send_text",
            format!("the text is 1 to {MAX_TEXT_BYTES} bytes, without NUL"),
        );
    }
    with_call(|call| call.queue_action("send_text", openid, json!({ "text": text })))
}

fn send_template(
    openid: &str,
    template_id: &str,
    data: rhai::Map,
    url: &str,
) -> Result<(), Box<EvalAltResult>> {
    const F: &str = "send_template";
    short_text(F, "the template_id", template_id, 128)?;
    let mut values = Map::new();
    for (key, value) in data {
        let text = if value.is_string() {
            super::engine::text_of(&value)
        } else {
            return refuse(
                F,
                format!(
                    "data.{key} is a string, not {}",
                    super::engine::plain_types(value.type_name())
                ),
            );
        };
        if crate::text::has_nul(&text) || crate::text::has_nul(&key) {
            return refuse(F, format!("data.{key} has a NUL"));
        }
        values.insert(key.to_string(), Value::String(text));
    }
    if !(url.is_empty() || url.starts_with("https://") || url.starts_with("http://")) {
        return refuse(F, format!("{url:?} is not an http(s) URL"));
    }
    let params = json!({ "template_id": template_id, "data": values, "url": url });
    with_call(|call| call.queue_action(F, openid, params))
}

fn tagging(action: &str, openid: &str, tag_id: INT) -> Result<(), Box<EvalAltResult>> {
    if !(1..=i64::from(u32::MAX)).contains(&tag_id) {
        return refuse(action, format!("{tag_id} is not a tag id"));
    }
    with_call(|call| call.queue_action(action, openid, json!({ "tag_id": tag_id })))
}

fn set_remark(openid: &str, remark: &str) -> Result<(), Box<EvalAltResult>> {
    short_text("set_remark", "a remark", remark, MAX_REMARK_CHARS)?;
    with_call(|call| call.queue_action("set_remark", openid, json!({ "remark": remark })))
}

pub fn wechat_module() -> Module {
    type S = ImmutableString;
    let mut m = Module::new();
    m.set_native_fn("send_text", |openid: S, text: S| send_text(&openid, &text));
    m.set_native_fn("send_template", |openid: S, id: S, data: rhai::Map| {
        send_template(&openid, &id, data, "")
    });
    m.set_native_fn(
        "send_template",
        |openid: S, id: S, data: rhai::Map, url: S| send_template(&openid, &id, data, &url),
    );
    m.set_native_fn("tag", |openid: S, tag_id: INT| {
        tagging("tag", &openid, tag_id)
    });
    m.set_native_fn("untag", |openid: S, tag_id: INT| {
        tagging("untag", &openid, tag_id)
    });
    m.set_native_fn("set_remark", |openid: S, remark: S| {
        set_remark(&openid, &remark)
    });
    // A wrong type gets a clear error rather than "function not found".
    m.set_native_fn(
        "tag",
        |_: Dynamic, _: Dynamic| -> Result<(), Box<EvalAltResult>> {
            refuse("tag", "takes (openid, tag_id): a string and an integer")
        },
    );
    m.set_native_fn(
        "untag",
        |_: Dynamic, _: Dynamic| -> Result<(), Box<EvalAltResult>> {
            refuse("untag", "takes (openid, tag_id): a string and an integer")
        },
    );
    m
}

/// The job: does one action on WeChat for the plugin.
pub struct PluginAction;

impl Job for PluginAction {
    const NAME: &'static str = "plugin_action";

    fn run<'a>(state: &'a AppState, job: &'a jobs::Model) -> JobFuture<'a> {
        Box::pin(super::action_job::act(
            state,
            job.payload.clone().unwrap_or(Value::Null),
        ))
    }
}
