//! Template messages: sync an account's templates from WeChat, check the
//! data for a template's placeholders, send one message and log it.

use std::collections::{BTreeMap, BTreeSet};

use reqwest::Method;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, TransactionTrait,
};
use serde_json::{json, Map, Value};

use crate::entity::{accounts, template_logs, templates};
use crate::error::AppError;
use crate::ids::IdGenerator;
use crate::wxapi::WxApi;
use crate::wxapi::{Body, WxError};
use sea_orm::DatabaseConnection;

/// Makes the stored templates match WeChat's: new ones added, changed ones
/// updated, deleted ones kept (for the log's history) but marked gone.
pub async fn sync_from_wechat(
    db: &DatabaseConnection,
    ids: &IdGenerator,
    wxapi: &WxApi,
    account: &accounts::Model,
) -> Result<Value, AppError> {
    let remote = wxapi
        .call(
            account,
            Method::GET,
            "/cgi-bin/template/get_all_private_template",
            &[],
            Body::Empty,
        )
        .await?;
    let list = remote["template_list"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let existing: BTreeMap<String, templates::Model> = templates::Entity::find()
        .filter(templates::Column::AccountId.eq(account.id))
        .all(db)
        .await?
        .into_iter()
        .map(|t| (t.template_id.clone(), t))
        .collect();
    let now = crate::db::now();
    let (mut added, mut updated, mut removed) = (0, 0, 0);
    let mut seen = BTreeSet::new();
    let txn = db.begin().await?;
    for item in &list {
        let text = |key: &str| item[key].as_str().unwrap_or_default().to_string();
        let template_id = text("template_id");
        if template_id.is_empty() {
            continue;
        }
        seen.insert(template_id.clone());
        let fresh = |id: i64, created_at| templates::Model {
            id,
            account_id: account.id,
            template_id: template_id.clone(),
            title: text("title"),
            content: text("content"),
            status: 1,
            primary_industry: text("primary_industry"),
            deputy_industry: text("deputy_industry"),
            example: text("example"),
            created_at,
            updated_at: now,
        };
        match existing.get(&template_id) {
            Some(old) => {
                let new = fresh(old.id, old.created_at);
                let unchanged = (
                    &new.title,
                    &new.content,
                    &new.example,
                    new.status,
                    &new.primary_industry,
                    &new.deputy_industry,
                ) == (
                    &old.title,
                    &old.content,
                    &old.example,
                    old.status,
                    &old.primary_industry,
                    &old.deputy_industry,
                );
                if !unchanged {
                    new.into_active_model().reset_all().update(&txn).await?;
                    updated += 1;
                }
            }
            None => {
                fresh(ids.next_id()?, now)
                    .into_active_model()
                    .reset_all()
                    .insert(&txn)
                    .await?;
                added += 1;
            }
        }
    }
    // Templates deleted on WeChat stay in the log's history, marked gone.
    for (template_id, old) in &existing {
        if !seen.contains(template_id) && old.status != 0 {
            templates::Entity::update_many()
                .col_expr(templates::Column::Status, Expr::value(0i16))
                .col_expr(templates::Column::UpdatedAt, Expr::value(now))
                .filter(templates::Column::Id.eq(old.id))
                .exec(&txn)
                .await?;
            removed += 1;
        }
    }
    txn.commit().await?;
    Ok(json!({ "remote": list.len(), "added": added, "updated": updated, "removed": removed }))
}

/// The `{{key.DATA}}` placeholders of a template's content.
pub fn placeholders(content: &str) -> BTreeSet<String> {
    let mut keys = BTreeSet::new();
    let mut rest = content;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else { break };
        if let Some(key) = after[..end].trim().strip_suffix(".DATA") {
            keys.insert(key.to_string());
        }
        rest = &after[end + 2..];
    }
    keys
}

/// The template and the checked `data` for it: every `{{key.DATA}}`
/// placeholder filled, nothing else; plain strings become `{"value": …}`.
pub async fn checked_template(
    db: &DatabaseConnection,
    account_id: i64,
    template_id: &str,
    data: Map<String, Value>,
) -> Result<(templates::Model, Map<String, Value>), AppError> {
    let template = templates::Entity::find()
        .filter(templates::Column::AccountId.eq(account_id))
        .filter(templates::Column::TemplateId.eq(template_id))
        .one(db)
        .await?
        .ok_or_else(|| {
            AppError::field(
                "template_id",
                "unknown template: sync the account's templates first",
            )
        })?;
    let expected = placeholders(&template.content);
    let given: BTreeSet<String> = data.keys().cloned().collect();
    let missing: Vec<_> = expected.difference(&given).cloned().collect();
    let unknown: Vec<_> = given.difference(&expected).cloned().collect();
    if !missing.is_empty() || !unknown.is_empty() {
        let mut problems = Vec::new();
        if !missing.is_empty() {
            problems.push(format!("missing {}", missing.join(", ")));
        }
        if !unknown.is_empty() {
            problems.push(format!("not in the template: {}", unknown.join(", ")));
        }
        return Err(AppError::field("data", problems.join("; ")));
    }
    // WeChat has ignored `color` since 2023: only the value is sent.
    let mut values = Map::new();
    for (key, value) in data {
        let text = match value {
            Value::String(s) => s,
            Value::Object(mut o) if o.get("value").is_some_and(Value::is_string) => o
                .remove("value")
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            _ => {
                return Err(AppError::field(
                    "data",
                    format!("{key}: expected a string or {{\"value\": \"…\"}}"),
                ))
            }
        };
        values.insert(key, json!({ "value": text }));
    }
    // Each value as the type its key names allows (thing2: up to 20 characters, …).
    let problems: crate::error::FieldErrors = super::fields::fields(&template.content)
        .iter()
        .filter_map(|field| {
            let value = values[&field.key]["value"].as_str().unwrap_or_default();
            super::fields::problem(field, value)
                .map(|reason| (format!("data.{}", field.key), reason.to_string()))
        })
        .collect();
    if !problems.is_empty() {
        return Err(AppError::Validation(problems));
    }
    Ok((template, values))
}

/// What one template message carries.
pub struct TemplateMessage<'a> {
    pub template: &'a templates::Model,
    pub openid: &'a str,
    pub data: &'a Map<String, Value>,
    pub url: &'a str,
    pub miniprogram: Option<&'a Value>,
}

/// Sends one template message and logs it (sending → sent with msgid, or
/// failed with WeChat's errcode).
pub async fn send_one(
    db: &DatabaseConnection,
    ids: &IdGenerator,
    wxapi: &WxApi,
    account: &accounts::Model,
    message: TemplateMessage<'_>,
) -> Result<(template_logs::Model, Result<(), WxError>), AppError> {
    let now = crate::db::now();
    let log = template_logs::Model {
        id: ids.next_id()?,
        account_id: account.id,
        template_id: message.template.template_id.clone(),
        openid: message.openid.to_string(),
        data: Some(Value::Object(message.data.clone())),
        url: message.url.to_string(),
        miniprogram: message.miniprogram.cloned(),
        status: "sending".into(),
        created_at: now,
        updated_at: now,
        ..Default::default()
    };
    let log = log.into_active_model().reset_all().insert(db).await?;
    let mut payload = json!({
        "touser": message.openid,
        "template_id": message.template.template_id,
        "data": message.data,
        "client_msg_id": log.id.to_string(),
    });
    if !message.url.is_empty() {
        payload["url"] = json!(message.url);
    }
    if let Some(miniprogram) = message.miniprogram {
        payload["miniprogram"] = miniprogram.clone();
    }
    let result = wxapi
        .call(
            account,
            Method::POST,
            "/cgi-bin/message/template/send",
            &[],
            Body::Json(payload),
        )
        .await;
    let mut active = log.into_active_model();
    active.updated_at = sea_orm::Set(crate::db::now());
    match &result {
        Ok(value) => {
            active.status = sea_orm::Set("sent".into());
            active.msgid = sea_orm::Set(crate::ids::wechat_id::from_json(&value["msgid"]));
            active.sent_at = sea_orm::Set(Some(crate::db::now()));
        }
        Err(error) => {
            active.status = sea_orm::Set("failed".into());
            active.errcode = sea_orm::Set(error.errcode().unwrap_or(-2) as i32);
            active.errmsg = sea_orm::Set(error.to_string().chars().take(500).collect());
        }
    }
    Ok((active.update(db).await?, result.map(|_| ())))
}

/// Delivery status of a template message from `TEMPLATESENDJOBFINISH`.
pub fn delivery_status(status: &str) -> &'static str {
    match status {
        "success" => "delivered",
        s if s.contains("user block") => "user_block",
        _ => "system_failed",
    }
}
