//! `/wechat/plugins/*`: list, reload, switch per account, and dry runs.

use std::sync::Arc;

use axum::extract::State;
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{json, Value};
use utoipa::openapi::path::HttpMethod;

use super::{plugin_context, DryRun};
use crate::api::{Api, Operation};
use crate::auth::CurrentAdmin;
use crate::entity::accounts;
use crate::error::{ok, ApiResult, AppError};
use crate::http::{parse_json_body, JsonBody};
use crate::pipeline::chain::{Context, Outcome};
use crate::state::AppState;
use crate::wechat::InboundMessage;

pub fn register(api: Api) -> Api {
    use HttpMethod::{Get, Post};
    api.route(
        Operation::new(Get, "/wechat/plugins/list", "plugins", "Every plugin: status, errors with positions, counters"),
        get(list),
    )
    .route(Operation::new(Post, "/wechat/plugins/reload", "plugins", "Rescan the plugins directory now"), post(reload))
    .route(
        Operation::new(Post, "/wechat/plugins/enable", "plugins", "Switch a plugin on for an account: {plugin, account_id}")
            .json_body(),
        post(enable),
    )
    .route(
        Operation::new(Post, "/wechat/plugins/disable", "plugins", "Switch a plugin off for an account: {plugin, account_id}")
            .json_body(),
        post(disable),
    )
    .route(
        Operation::new(
            Post,
            "/wechat/plugins/test",
            "plugins",
            "Dry run: {account_id, plugin?, openid?, text | event (+ event_key) | xml} → the reply and logs; stores nothing",
        )
        .json_body(),
        post(test),
    )
}

async fn list(State(state): State<AppState>, _admin: CurrentAdmin) -> ApiResult {
    let mut infos = state.plugins.infos();
    if let Some(switches) = &state.plugins.runtime().switches {
        for info in &mut infos {
            info.disabled_accounts = switches
                .disabled_accounts(&info.name)
                .await?
                .into_iter()
                .map(|id| id.to_string())
                .collect();
        }
    }
    Ok(ok(
        json!({ "list": infos, "total": infos.len(), "dir": state.plugins.dir().display().to_string() }),
    ))
}

async fn reload(State(state): State<AppState>, admin: CurrentAdmin) -> ApiResult {
    admin.require_admin()?;
    let report = state.plugins.rescan().await;
    Ok(ok(report))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Switch {
    plugin: String,
    #[serde(with = "crate::ids::json_id")]
    account_id: i64,
}

async fn switch(state: AppState, admin: CurrentAdmin, body: Value, enabled: bool) -> ApiResult {
    let request: Switch = parse_json_body(body)?;
    admin.require_account(request.account_id)?;
    if state.plugins.get(&request.plugin).is_none() {
        return Err(AppError::field(
            "plugin",
            format!("no loaded plugin named {:?}", request.plugin),
        ));
    }
    find_account(&state, request.account_id).await?;
    let switches = state
        .plugins
        .runtime()
        .switches
        .as_ref()
        .ok_or_else(|| AppError::internal("no switch store"))?;
    switches
        .set(&state.ids, &request.plugin, request.account_id, enabled)
        .await
        .map_err(AppError::internal)?;
    Ok(ok(
        json!({ "plugin": request.plugin, "account_id": request.account_id.to_string(), "enabled": enabled }),
    ))
}

async fn enable(
    State(state): State<AppState>,
    admin: CurrentAdmin,
    JsonBody(body): JsonBody,
) -> ApiResult {
    switch(state, admin, body, true).await
}

async fn disable(
    State(state): State<AppState>,
    admin: CurrentAdmin,
    JsonBody(body): JsonBody,
) -> ApiResult {
    switch(state, admin, body, false).await
}

async fn find_account(state: &AppState, id: i64) -> Result<accounts::Model, AppError> {
    use sea_orm::EntityTrait;
    accounts::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or_else(|| AppError::field("account_id", format!("no account with id {id}")))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TestRequest {
    #[serde(with = "crate::ids::json_id")]
    account_id: i64,
    plugin: Option<String>,
    openid: Option<String>,
    text: Option<String>,
    event: Option<String>,
    event_key: Option<String>,
    xml: Option<String>,
}

/// A sample message for a dry run.
pub fn sample_message(
    original_id: &str,
    openid: &str,
    text: Option<&str>,
    event: Option<(&str, &str)>,
) -> String {
    use crate::wechat::reply::cdata;
    let now = chrono::Utc::now().timestamp();
    let body = match (text, event) {
        (_, Some((event, key))) => format!(
            "<MsgType><![CDATA[event]]></MsgType><Event>{}</Event><EventKey>{}</EventKey>",
            cdata(event),
            cdata(key)
        ),
        (text, None) => format!(
            "<MsgType><![CDATA[text]]></MsgType><Content>{}</Content><MsgId>{now}</MsgId>",
            cdata(text.unwrap_or_default())
        ),
    };
    format!(
        "<xml><ToUserName>{}</ToUserName><FromUserName>{}</FromUserName><CreateTime>{now}</CreateTime>{body}</xml>",
        cdata(original_id),
        cdata(openid)
    )
}

async fn test(
    State(state): State<AppState>,
    admin: CurrentAdmin,
    JsonBody(body): JsonBody,
) -> ApiResult {
    let request: TestRequest = parse_json_body(body)?;
    admin.require_account(request.account_id)?;
    let account = find_account(&state, request.account_id).await?;
    let openid = request.openid.clone().unwrap_or_else(|| "o_dry_run".into());
    let xml = match (&request.xml, &request.text, &request.event) {
        (Some(xml), _, _) => xml.clone(),
        (None, None, None) => return Err(AppError::field("text", "give text, event or xml")),
        (None, text, event) => sample_message(
            &account.original_id,
            &openid,
            text.as_deref(),
            event
                .as_deref()
                .map(|e| (e, request.event_key.as_deref().unwrap_or_default())),
        ),
    };
    let message =
        Arc::new(InboundMessage::parse(&xml).map_err(|e| AppError::field("xml", e.to_string()))?);
    let fan = crate::pipeline::chain::load_fan(&state.db, account.id, &openid).await;

    if let Some(name) = &request.plugin {
        let plugin = state
            .plugins
            .get(name)
            .ok_or_else(|| AppError::field("plugin", format!("no loaded plugin named {name:?}")))?;
        if !plugin.script.wants(&message) {
            let mut dry =
                DryRun::from_outcome(None, &super::script::ScriptOutcome::Continue, &message);
            dry.error = Some(format!(
                "{name} does not take this message type or event (see its PLUGIN declaration)"
            ));
            return Ok(ok(dry));
        }
        let ctx = plugin_context(fan.as_ref(), name, &account, &openid, true);
        let report = plugin.run(message.clone(), ctx, account.id).await;
        return Ok(ok(dry_run_of(
            Some(super::handler_name(name)),
            report,
            &message,
        )));
    }

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
        let outcome = match name
            .strip_prefix("plugin:")
            .and_then(|p| state.plugins.get(p))
        {
            Some(plugin) => {
                if !plugin.script.wants(&message) {
                    continue;
                }
                let script_ctx =
                    plugin_context(fan.as_ref(), plugin.name(), &account, &openid, true);
                let report = plugin.run(message.clone(), script_ctx, account.id).await;
                logs.extend(report.logs.iter().cloned());
                match report.outcome {
                    Ok(outcome) => outcome,
                    Err(error) => {
                        logs.push(super::script::LogLine {
                            level: "error".into(),
                            message: format!("{name}: {error}"),
                        });
                        continue;
                    }
                }
            }
            None => match handler.handle(ctx.clone()).await {
                Outcome::Reply(reply) => super::script::ScriptOutcome::Reply(reply),
                Outcome::Continue => super::script::ScriptOutcome::Continue,
                Outcome::NoReply => super::script::ScriptOutcome::NoReply,
            },
        };
        if outcome != super::script::ScriptOutcome::Continue {
            let mut dry = DryRun::from_outcome(Some(name), &outcome, &message);
            dry.logs = logs;
            return Ok(ok(dry));
        }
    }
    let mut dry = DryRun::from_outcome(None, &super::script::ScriptOutcome::Continue, &message);
    dry.logs = logs;
    Ok(ok(dry))
}

/// A plugin's call report as a dry-run result (its state writes dropped).
pub fn dry_run_of(
    handler: Option<String>,
    report: super::CallReport,
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
            outcome: "error",
            reply: None,
            reply_xml: None,
            logs: report.logs,
            error: Some(error.to_string()),
            micros: report.micros,
        },
    }
}
