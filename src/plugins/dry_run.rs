//! Dry runs: one plugin, or the whole chain as the callback would run it,
//! on a message that is not stored; the reply it would give and what it logged.

use std::sync::Arc;

use super::engine::{LogLine, ScriptOutcome};
use super::plugin_context;
use crate::callback::chain::{Context, Outcome};
use crate::entity::{accounts, users};
use crate::error::AppError;
use crate::state::AppState;
use crate::wechat::InboundMessage;

/// A dry run of one plugin or the whole chain: the reply it would give and
/// what it logged. Nothing is stored.
#[derive(Debug, serde::Serialize)]
pub struct DryRun {
    /// The handler that answered, if any.
    pub handler: Option<String>,
    /// The rule that answered, when a built-in (follow, keyword, default) did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<AnsweringRule>,
    pub outcome: &'static str,
    pub reply: Option<crate::wechat::Reply>,
    pub reply_xml: Option<String>,
    pub logs: Vec<LogLine>,
    pub error: Option<String>,
    pub micros: u64,
}

/// The auto-reply rule behind a built-in's answer, for the console to name and link.
#[derive(Debug, serde::Serialize)]
pub struct AnsweringRule {
    pub id: String,
    /// `follow`, `keyword` or `default`.
    pub kind: &'static str,
    pub keyword: String,
    /// Whether the keyword must match the whole text (else: is contained).
    pub exact: bool,
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
            rule: None,
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

/// One plugin on `message`, as the fan `openid`.
pub async fn one_plugin(
    state: &AppState,
    account: &accounts::Model,
    message: &Arc<InboundMessage>,
    openid: &str,
    fan: Option<&users::Model>,
    name: &str,
) -> Result<DryRun, AppError> {
    let plugin = state
        .plugins
        .get(name)
        .ok_or_else(|| AppError::field("plugin", format!("no loaded plugin named {name:?}")))?;
    if !plugin.script.wants(message) {
        let mut dry = DryRun::from_outcome(None, &ScriptOutcome::Continue, message);
        dry.error = Some(format!(
            "{name} does not take this message type or event (see its PLUGIN declaration)"
        ));
        return Ok(dry);
    }
    let ctx = plugin_context(fan, name, account, openid, true);
    let report = plugin.run(message.clone(), ctx, account.id).await;
    Ok(dry_run_of(
        Some(super::handler_name(name)),
        report,
        plugin.on_error_reply(),
        message,
    ))
}

/// Every handler of the chain in order, as the callback runs them, until one answers.
pub async fn whole_chain(
    state: &AppState,
    account: &accounts::Model,
    message: Arc<InboundMessage>,
    openid: &str,
    fan: Option<&users::Model>,
) -> Result<DryRun, AppError> {
    // The whole chain, as the callback would run it, without storing.
    let callback_account = state
        .callback_accounts
        .by_app_id(&account.app_id)
        .await?
        .ok_or_else(|| AppError::field("account_id", "the account is disabled"))?;
    let ctx = Arc::new(Context::new(
        state.clone(),
        callback_account,
        message.clone(),
        0,
    ));
    let mut logs = Vec::new();
    for handler in state.chain.handlers().iter() {
        let name = handler.name().to_string();
        let mut rule_id = None;
        let outcome = match name
            .strip_prefix("plugin:")
            .and_then(|p| state.plugins.get(p))
        {
            Some(plugin) => {
                // As the callback: only where the plugin runs for this account.
                if !plugin.script.wants(&message) || !plugin.runs_for_account(account).await {
                    continue;
                }
                let script_ctx = plugin_context(fan, plugin.name(), account, openid, true);
                let report = plugin.run(message.clone(), script_ctx, account.id).await;
                logs.extend(report.logs.iter().cloned());
                match report.outcome {
                    Ok(outcome) => outcome,
                    Err(error) => {
                        logs.push(LogLine {
                            level: "error".into(),
                            message: format!("{name}: {error}"),
                        });
                        match plugin.on_error_reply() {
                            Some(reply) => ScriptOutcome::Reply(reply),
                            None => continue,
                        }
                    }
                }
            }
            None => match handler.handle(ctx.clone()).await {
                Outcome::Reply(reply) => ScriptOutcome::Reply(reply),
                Outcome::RuleReply { rule_id: id, reply } => {
                    rule_id = Some(id);
                    ScriptOutcome::Reply(reply)
                }
                Outcome::Continue => ScriptOutcome::Continue,
                Outcome::NoReply => ScriptOutcome::NoReply,
            },
        };
        if outcome != ScriptOutcome::Continue {
            let mut dry = DryRun::from_outcome(Some(name.clone()), &outcome, &message);
            let rule = rule_id.and_then(|id| ctx.account.rules.by_id(id));
            dry.rule = rule.map(|rule| AnsweringRule {
                id: rule.id.to_string(),
                kind: match name.as_str() {
                    "builtin:follow" => "follow",
                    "builtin:keyword" => "keyword",
                    _ => "default",
                },
                keyword: rule.keyword.clone(),
                exact: rule.exact,
            });
            dry.logs = logs;
            return Ok(dry);
        }
    }
    let mut dry = DryRun::from_outcome(None, &ScriptOutcome::Continue, &message);
    dry.logs = logs;
    Ok(dry)
}

/// A plugin's call report as a dry-run result (its state writes dropped);
/// a failure shows the error and the plugin's on_error reply, if any.
pub fn dry_run_of(
    handler: Option<String>,
    report: super::CallReport,
    on_error: Option<crate::wechat::Reply>,
    message: &InboundMessage,
) -> DryRun {
    match report.outcome {
        Ok(outcome) => {
            let mut dry = DryRun::from_outcome(handler, &outcome, message);
            dry.logs = report.logs;
            dry.micros = report.micros;
            dry
        }
        Err(error) => DryRun {
            handler,
            rule: None,
            outcome: "error",
            reply_xml: on_error
                .as_ref()
                .map(|r| r.to_xml(&message.from_user, &message.to_user, message.create_time)),
            reply: on_error,
            logs: report.logs,
            error: Some(error.to_string()),
            micros: report.micros,
        },
    }
}
