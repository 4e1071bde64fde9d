//! Dry runs: one plugin, or the whole chain as the callback would run it,
//! on messages that are not stored; the reply each would get, what the
//! plugins logged and the state they would write (kept in memory, carried
//! from one message of a conversation to the next).

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::call::LogLine;
use super::dry_request::Plan;
use super::dry_state::{Overlay, StateWriteView};
use super::engine::{LazyFan, ScriptOutcome};
use super::{fan_map, plugin_context, CallReport, Plugin};
use crate::callback::chain::{Context, Outcome};
use crate::entity::enums::MatchType;
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
    /// The state writes the run would make, in order (none for a failed call).
    pub state_writes: Vec<StateWriteView>,
    /// The timers the run would schedule (none for a failed call).
    pub timers: Vec<super::timers::TimerRequest>,
    /// The WeChat actions the run would queue (none for a failed call).
    pub actions: Vec<super::actions::ActionRequest>,
    pub error: Option<String>,
    pub micros: u64,
}

/// What the plugins of a dry run read and write, and the clock they run by.
pub struct DryEnv {
    pub state: Arc<Overlay>,
    /// The time scripts see; `None`: the real clock.
    pub clock: Option<DateTime<Utc>>,
    /// What answers the plugins' HTTP requests (none: they are refused).
    pub http_fixtures: Option<Arc<Vec<super::http_out::HttpFixture>>>,
}

impl DryEnv {
    /// Runs `plugin` and takes its writes into the dry run's state when
    /// the call succeeded, as the callback would save them.
    pub(super) async fn run(
        &self,
        plugin: &Arc<Plugin>,
        message: &Arc<InboundMessage>,
        ctx: super::engine::PluginContext,
        account_id: i64,
    ) -> Result<(CallReport, Vec<StateWriteView>), AppError> {
        let mut report = plugin
            .run_with(
                message.clone(),
                ctx,
                account_id,
                self.state.clone(),
                self.clock,
                self.http_fixtures.clone(),
            )
            .await;
        let writes = std::mem::take(&mut report.writes);
        // Reading the values before may reach the database, whose store
        // blocks: off the async workers, as scripts' reads are.
        let views = match &report.outcome {
            Ok(_) => {
                let (state, now) = (self.state.clone(), self.clock.unwrap_or_else(Utc::now));
                tokio::task::spawn_blocking(move || state.apply(writes, now))
                    .await
                    .map_err(AppError::internal)?
                    .map_err(AppError::internal)?
            }
            Err(_) => Vec::new(),
        };
        Ok((report, views))
    }
}

/// Runs a checked dry run: each message in order on one plugin or the
/// chain. A single message answers with its result; a conversation with
/// `{steps: [result, …]}`.
pub async fn run_plan(
    state: &AppState,
    account: &accounts::Model,
    plan: Plan,
) -> Result<Value, AppError> {
    let overlay = Arc::new(Overlay::new(state.plugins.runtime().state.clone()));
    for (scope, key, value) in plan.seeds {
        overlay.seed(scope, key, value);
    }
    let fan = crate::fans::service::load_fan(&state.db, account.id, &plan.openid).await;
    let mut steps = Vec::with_capacity(plan.steps.len());
    let http_fixtures = plan.http_fixtures.map(Arc::new);
    for (message, clock) in plan.steps {
        let env = DryEnv {
            state: overlay.clone(),
            clock,
            http_fixtures: http_fixtures.clone(),
        };
        let message = Arc::new(message);
        let dry = match &plan.plugin {
            Some(name) => {
                one_plugin(
                    state,
                    account,
                    &message,
                    &plan.openid,
                    fan.as_ref(),
                    name,
                    &env,
                )
                .await?
            }
            None => whole_chain(state, account, message, &plan.openid, fan.as_ref(), &env).await?,
        };
        steps.push(dry);
    }
    if plan.conversation {
        return Ok(json!({ "steps": steps }));
    }
    let single = steps
        .pop()
        .ok_or_else(|| AppError::internal("a dry run without a message"))?;
    serde_json::to_value(single).map_err(AppError::internal)
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
    /// 1 exact, 2 contains, 3 regular expression.
    pub match_type: i16,
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
            state_writes: Vec::new(),
            timers: Vec::new(),
            actions: Vec::new(),
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
    env: &DryEnv,
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
    let ctx = plugin_context(LazyFan::ready(fan_map(fan, openid)), name, account, true);
    let (report, writes) = env.run(&plugin, message, ctx, account.id).await?;
    let mut dry = dry_run_of(
        Some(super::handler_name(name)),
        report,
        plugin.on_error_reply(),
        message,
    );
    dry.state_writes = writes;
    Ok(dry)
}

/// Every handler of the chain in order, as the callback runs them, until one answers.
pub async fn whole_chain(
    state: &AppState,
    account: &accounts::Model,
    message: Arc<InboundMessage>,
    openid: &str,
    fan: Option<&users::Model>,
    env: &DryEnv,
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
    let mut state_writes = Vec::new();
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
                let fan = LazyFan::ready(fan_map(fan, openid));
                let script_ctx = plugin_context(fan, plugin.name(), account, true);
                let (report, writes) = env.run(&plugin, &message, script_ctx, account.id).await?;
                state_writes.extend(writes);
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
                Outcome::RuleReply {
                    rule_id: id, reply, ..
                } => {
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
                exact: rule.match_type == MatchType::Exact,
                match_type: rule.match_type.code(),
            });
            dry.logs = logs;
            dry.state_writes = state_writes;
            return Ok(dry);
        }
    }
    let mut dry = DryRun::from_outcome(None, &ScriptOutcome::Continue, &message);
    dry.logs = logs;
    dry.state_writes = state_writes;
    Ok(dry)
}

/// A plugin's call report as a dry-run result (its state writes not shown);
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
            dry.timers = report.timers;
            dry.actions = report.actions;
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
            state_writes: Vec::new(),
            timers: Vec::new(),
            actions: Vec::new(),
            error: Some(error.to_string()),
            micros: report.micros,
        },
    }
}
