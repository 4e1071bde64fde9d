//! Running one queued WeChat action of a plugin (the `plugin_action` job):
//! a customer-service text inside the 48-hour window, a template message to
//! a template the account has, tagging and untagging, a remark. WeChat's
//! failures are retried by the job queue; an action that can never succeed
//! (window closed, unknown template) is dropped with a log line.

use sea_orm::{ActiveModelTrait, IntoActiveModel, Set};
use serde_json::{json, Value};

use crate::audit::{record_action, Change};
use crate::auth::CurrentAdmin;
use crate::entity::accounts;
use crate::jobs::{payload_account, JobError};
use crate::messages::service::{outside_service_window, send_and_store, Outgoing};
use crate::state::AppState;
use crate::wechat::Reply;
use crate::wxapi::Body;

/// The plugin as the audit trail's author (no admin id).
fn plugin_author(plugin: &str) -> CurrentAdmin {
    CurrentAdmin {
        id: 0,
        username: super::handler_name(plugin),
        role: "plugin".into(),
        account_ids: Vec::new(),
        ip: None,
    }
}

pub(super) async fn act(state: &AppState, payload: Value) -> Result<(), JobError> {
    let text = |key: &str| payload.get(key).and_then(Value::as_str).unwrap_or("");
    let (plugin, openid, action) = (text("plugin"), text("openid"), text("action"));
    let params = payload.get("params").cloned().unwrap_or(Value::Null);
    let param = |key: &str| params.get(key).and_then(Value::as_str).unwrap_or("");
    let account = payload_account(state, &payload).await?;
    match action {
        "send_text" => send_text(state, &account, plugin, openid, param("text")).await,
        "send_template" => send_template(state, &account, plugin, openid, &params).await,
        "tag" | "untag" => {
            let tag_id = params["tag_id"].as_i64().unwrap_or_default();
            let path = if action == "tag" {
                "/cgi-bin/tags/members/batchtagging"
            } else {
                "/cgi-bin/tags/members/batchuntagging"
            };
            let body = json!({ "openid_list": [openid], "tagid": tag_id });
            wechat_post(state, &account, path, body).await?;
            update_fan(state, &account, openid, |stored, fan| {
                let mut tags: Vec<Value> = stored
                    .tags
                    .as_ref()
                    .and_then(|t| t.as_array().cloned())
                    .unwrap_or_default();
                tags.retain(|t| t.as_i64() != Some(tag_id));
                if action == "tag" {
                    tags.push(json!(tag_id));
                }
                fan.tags = Set(Some(Value::Array(tags)));
            })
            .await?;
            audit(state, plugin, &account, action, openid, params.clone()).await;
            Ok(())
        }
        "set_remark" => {
            let remark = param("remark").to_string();
            let body = json!({ "openid": openid, "remark": remark });
            wechat_post(state, &account, "/cgi-bin/user/info/updateremark", body).await?;
            update_fan(state, &account, openid, |_, fan| {
                fan.remark = Set(remark.clone())
            })
            .await?;
            audit(state, plugin, &account, action, openid, params.clone()).await;
            Ok(())
        }
        other => Err(JobError::Failed(format!("unknown plugin action {other:?}"))),
    }
}

async fn wechat_post(
    state: &AppState,
    account: &accounts::Model,
    path: &str,
    body: Value,
) -> Result<Value, JobError> {
    Ok(state
        .wxapi
        .call(account, reqwest::Method::POST, path, &[], Body::Json(body))
        .await?)
}

/// Applies `change` to the stored fan, if there is one.
async fn update_fan(
    state: &AppState,
    account: &accounts::Model,
    openid: &str,
    change: impl FnOnce(&crate::entity::users::Model, &mut crate::entity::users::ActiveModel),
) -> Result<(), JobError> {
    if let Some(fan) = crate::fans::service::load_fan(&state.db, account.id, openid).await {
        let mut active = fan.clone().into_active_model();
        change(&fan, &mut active);
        active.updated_at = Set(crate::db::now());
        active.update(&state.db).await?;
    }
    Ok(())
}

async fn audit(
    state: &AppState,
    plugin: &str,
    account: &accounts::Model,
    action: &str,
    openid: &str,
    params: Value,
) {
    let action = format!("plugin_{action}");
    let change = Change::action(&action, "fan", account.id, params).on(openid);
    record_action(state, &plugin_author(plugin), change).await;
}

async fn send_text(
    state: &AppState,
    account: &accounts::Model,
    plugin: &str,
    openid: &str,
    text: &str,
) -> Result<(), JobError> {
    let fan = crate::fans::service::load_fan(&state.db, account.id, openid).await;
    // Outside the 48-hour window WeChat refuses: so do we, without calling it.
    if let Some(last) = outside_service_window(fan.as_ref()) {
        tracing::warn!(plugin, openid, %last, "plugin message not sent: the fan last wrote more than 48 hours ago");
        return Ok(());
    }
    let reply = Reply::Text {
        content: text.to_string(),
    };
    let author = super::handler_name(plugin);
    let sent = send_and_store(
        &state.db,
        &state.ids,
        &state.wxapi,
        account,
        Outgoing {
            openid,
            reply: &reply,
            reply_to: None,
            answered_by: &author,
        },
    )
    .await;
    match sent {
        Ok(_) => Ok(()),
        // 45015: the window closed after all (WeChat knows better); not retried.
        Err(error) if error.to_string().contains("45015") => {
            tracing::warn!(plugin, openid, %error, "plugin message not sent: outside the 48-hour window");
            Ok(())
        }
        Err(error) => Err(JobError::Failed(error.to_string())),
    }
}

async fn send_template(
    state: &AppState,
    account: &accounts::Model,
    plugin: &str,
    openid: &str,
    params: &Value,
) -> Result<(), JobError> {
    let template_id = params["template_id"].as_str().unwrap_or_default();
    let data = params["data"].as_object().cloned().unwrap_or_default();
    let url = params["url"].as_str().unwrap_or_default();
    let checked =
        crate::templates::service::checked_template(&state.db, account.id, template_id, data).await;
    let (template, values) = match checked {
        Ok(checked) => checked,
        Err(error) => {
            tracing::warn!(plugin, openid, template_id, %error, "plugin template message not sent");
            return Ok(());
        }
    };
    let (_log, sent) = crate::templates::service::send_one(
        &state.db,
        &state.ids,
        &state.wxapi,
        account,
        crate::templates::service::TemplateMessage {
            template: &template,
            openid,
            data: &values,
            url,
            miniprogram: None,
        },
    )
    .await
    .map_err(|e| JobError::Failed(e.to_string()))?;
    sent?;
    audit(
        state,
        plugin,
        account,
        "send_template",
        openid,
        params.clone(),
    )
    .await;
    Ok(())
}
