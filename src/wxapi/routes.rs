//! Admin endpoints that push work to WeChat: menus, customer-service
//! replies, the conversation view, and template messages.

use std::collections::{BTreeMap, BTreeSet};

use axum::extract::{Query, State};
use axum::routing::{get, post};
use reqwest::Method;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, PaginatorTrait, QueryFilter,
    QueryOrder, TransactionTrait,
};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use utoipa::openapi::path::HttpMethod;

use super::Body;
use crate::api::{Api, Operation};
use crate::auth::CurrentAdmin;
use crate::entity::{accounts, menus, messages, template_logs, templates, users};
use crate::error::{ok, ApiResult, AppError};
use crate::http::{parse_json_body, JsonBody};
use crate::state::AppState;
use crate::wechat::{Article, Reply};

pub fn register(api: Api) -> Api {
    use HttpMethod::{Get, Post};
    let op = |method, path: &str, tag: &str, summary: &str| {
        Operation::new(method, path, tag, summary).json_body()
    };
    api.route(op(Post, "/wechat/wxmenus/pull_menu", "menus", "Publish the stored menu to WeChat: {account_id}"), post(pull_menu))
        .route(
            op(Post, "/wechat/wxmenus/sync_menu", "menus", "Replace the stored menu with WeChat's: {account_id}"),
            post(sync_menu),
        )
        .route(
            op(Post, "/wechat/wxmenus/delete_remote_menu", "menus", "Delete the menu on WeChat: {account_id}"),
            post(delete_remote_menu),
        )
        .route(
            op(
                Post,
                "/wechat/wxmessages/reply",
                "messages",
                "Send a customer-service message: {account_id, openid, msg_type, content | media_id | …}",
            ),
            post(reply),
        )
        .route(
            Operation::new(Get, "/wechat/wxmessages/conversation", "messages", "One fan's messages, both ways, in time order")
                .query("account_id", "the account")
                .query("openid", "the fan")
                .query("page", "page number from 1 (1 is the latest)")
                .query("page_size", "1–100"),
            get(conversation),
        )
        .route(
            op(Post, "/wechat/wxtemplates/sync", "templates", "Sync the account's templates from WeChat: {account_id}"),
            post(sync_templates),
        )
        .route(
            op(
                Post,
                "/wechat/wxtemplates/send",
                "templates",
                "Send a template message: {account_id, template_id, openid, data, url?, miniprogram?}",
            ),
            post(send_template),
        )
        .route(
            op(
                Post,
                "/wechat/wxtemplates/send_bulk",
                "templates",
                "Send a template message to many fans as a paced background job: {account_id, template_id, openids, data, url?}",
            ),
            post(send_bulk),
        )
}

#[derive(Deserialize)]
struct AccountRequest {
    #[serde(with = "crate::ids::json_id")]
    account_id: i64,
}

/// The account a `{"account_id": …}` body names, checked against the admin's accounts.
pub async fn account_in_body(
    state: &AppState,
    admin: &CurrentAdmin,
    body: Value,
) -> Result<accounts::Model, AppError> {
    let request: AccountRequest = parse_json_body(body)?;
    account_for(state, admin, request.account_id).await
}

/// The account of a request, checked against the admin's accounts.
pub async fn account_for(
    state: &AppState,
    admin: &CurrentAdmin,
    account_id: i64,
) -> Result<accounts::Model, AppError> {
    admin.require_account(account_id)?;
    accounts::Entity::find_by_id(account_id)
        .one(&state.db)
        .await?
        .ok_or_else(|| AppError::field("account_id", format!("no account with id {account_id}")))
}

// ---------------------------------------------------------------- menus

/// Checks a stored menu tree against WeChat's rules; returns it as WeChat's
/// `{"button": […]}`, or every problem found.
pub fn menu_json(rows: &[menus::Model]) -> Result<Value, Vec<String>> {
    let mut problems = Vec::new();
    let mut tops: Vec<&menus::Model> = rows.iter().filter(|m| m.parent_id == 0).collect();
    tops.sort_by_key(|m| (m.sort_order, m.id));
    if tops.is_empty() {
        problems.push("the menu is empty: add at least one button".to_string());
    }
    if tops.len() > 3 {
        problems.push(format!("{} top-level buttons; WeChat allows 3", tops.len()));
    }
    let mut buttons = Vec::new();
    for top in tops {
        let mut children: Vec<&menus::Model> =
            rows.iter().filter(|m| m.parent_id == top.id).collect();
        children.sort_by_key(|m| (m.sort_order, m.id));
        if top.menu_name.len() > 16 {
            problems.push(format!(
                "{:?}: a top-level name is at most 16 bytes",
                top.menu_name
            ));
        }
        if children.len() > 5 {
            problems.push(format!(
                "{:?} has {} sub-buttons; WeChat allows 5",
                top.menu_name,
                children.len()
            ));
        }
        if children.is_empty() {
            buttons.push(button_json(top, &mut problems));
        } else {
            let subs: Vec<Value> = children
                .iter()
                .map(|child| {
                    if child.menu_name.len() > 60 {
                        problems.push(format!(
                            "{:?}: a sub-button name is at most 60 bytes",
                            child.menu_name
                        ));
                    }
                    button_json(child, &mut problems)
                })
                .collect();
            buttons.push(json!({ "name": top.menu_name, "sub_button": subs }));
        }
    }
    if problems.is_empty() {
        Ok(json!({ "button": buttons }))
    } else {
        Err(problems)
    }
}

fn button_json(button: &menus::Model, problems: &mut Vec<String>) -> Value {
    let name = &button.menu_name;
    let mut need = |field: &str, value: &str, limit: usize| {
        if value.is_empty() {
            problems.push(format!("{name:?} ({}) needs {field}", button.menu_type));
        } else if value.len() > limit {
            problems.push(format!("{name:?}: {field} is at most {limit} bytes"));
        }
    };
    let kind = button.menu_type.as_str();
    match kind {
        "click" | "scancode_push" | "scancode_waitmsg" | "pic_sysphoto" | "pic_photo_or_album"
        | "pic_weixin" | "location_select" => {
            need("a key", &button.menu_key, 128);
            json!({ "type": kind, "name": name, "key": button.menu_key })
        }
        "view" => {
            need("a url", &button.url, 1024);
            json!({ "type": kind, "name": name, "url": button.url })
        }
        "media_id" => {
            need("a media_id", &button.media_id, 255);
            json!({ "type": kind, "name": name, "media_id": button.media_id })
        }
        "article_id" | "article_view_limited" => {
            need("an article_id", &button.article_id, 255);
            json!({ "type": kind, "name": name, "article_id": button.article_id })
        }
        "miniprogram" => {
            need("an appid", &button.appid, 64);
            need("a pagepath", &button.pagepath, 1024);
            need("a fallback url", &button.url, 1024);
            json!({ "type": kind, "name": name, "appid": button.appid, "pagepath": button.pagepath, "url": button.url })
        }
        "" => {
            problems.push(format!("{name:?} has no type and no sub-buttons"));
            json!({ "name": name })
        }
        other => {
            problems.push(format!("{name:?}: unknown type {other:?}"));
            json!({ "name": name })
        }
    }
}

async fn pull_menu(
    State(state): State<AppState>,
    admin: CurrentAdmin,
    JsonBody(body): JsonBody,
) -> ApiResult {
    let account = account_in_body(&state, &admin, body).await?;
    let rows = menus::Entity::find()
        .filter(menus::Column::AccountId.eq(account.id))
        .all(&state.db)
        .await?;
    let menu = menu_json(&rows).map_err(|problems| {
        AppError::BadRequest(format!(
            "the menu cannot be published: {}",
            problems.join("; ")
        ))
    })?;
    state
        .wxapi
        .call(
            &account,
            Method::POST,
            "/cgi-bin/menu/create",
            &[],
            Body::Json(menu.clone()),
        )
        .await?;
    tracing::info!(admin = %admin.username, app_id = %account.app_id, "menu published");
    Ok(ok(
        json!({ "published": menu["button"].as_array().map(Vec::len).unwrap_or(0), "menu": menu }),
    ))
}

async fn sync_menu(
    State(state): State<AppState>,
    admin: CurrentAdmin,
    JsonBody(body): JsonBody,
) -> ApiResult {
    let account = account_in_body(&state, &admin, body).await?;
    let remote = match state
        .wxapi
        .call(&account, Method::GET, "/cgi-bin/menu/get", &[], Body::Empty)
        .await
    {
        Ok(remote) => remote,
        // 46003: the account has no menu.
        Err(error) if error.errcode() == Some(46003) => json!({ "menu": { "button": [] } }),
        Err(error) => return Err(error.into()),
    };
    let buttons = remote["menu"]["button"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let now = crate::admin::now();
    let txn = state.db.begin().await?;
    menus::Entity::delete_many()
        .filter(menus::Column::AccountId.eq(account.id))
        .exec(&txn)
        .await?;
    let mut stored = 0;
    for (order, button) in buttons.iter().enumerate() {
        let parent = menu_row(&state, account.id, 0, order, button, now)?;
        let parent_id = parent.id;
        parent.into_active_model().reset_all().insert(&txn).await?;
        stored += 1;
        for (sub_order, sub) in button["sub_button"]
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
        {
            menu_row(&state, account.id, parent_id, sub_order, sub, now)?
                .into_active_model()
                .reset_all()
                .insert(&txn)
                .await?;
            stored += 1;
        }
    }
    txn.commit().await?;
    Ok(ok(json!({ "stored": stored })))
}

fn menu_row(
    state: &AppState,
    account_id: i64,
    parent_id: i64,
    order: usize,
    button: &Value,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<menus::Model, AppError> {
    let text = |key: &str| button[key].as_str().unwrap_or_default().to_string();
    let has_children = button["sub_button"]
        .as_array()
        .is_some_and(|s| !s.is_empty());
    Ok(menus::Model {
        id: state.ids.next_id()?,
        account_id,
        parent_id,
        menu_name: text("name"),
        menu_type: if has_children {
            String::new()
        } else {
            text("type")
        },
        menu_key: text("key"),
        url: text("url"),
        media_id: text("media_id"),
        article_id: text("article_id"),
        appid: text("appid"),
        pagepath: text("pagepath"),
        sort_order: order as i32,
        created_at: now,
        updated_at: now,
    })
}

async fn delete_remote_menu(
    State(state): State<AppState>,
    admin: CurrentAdmin,
    JsonBody(body): JsonBody,
) -> ApiResult {
    let account = account_in_body(&state, &admin, body).await?;
    state
        .wxapi
        .call(
            &account,
            Method::GET,
            "/cgi-bin/menu/delete",
            &[],
            Body::Empty,
        )
        .await?;
    Ok(ok(json!({ "deleted": true })))
}

// ---------------------------------------------------------------- customer-service messages

/// A reply as WeChat's customer-service message; `None` for kinds that only
/// exist as passive replies.
pub fn custom_message(openid: &str, reply: &Reply) -> Option<Value> {
    let (kind, body) = match reply {
        Reply::Text { content } => ("text", json!({ "content": content })),
        Reply::Image { media_id } => ("image", json!({ "media_id": media_id })),
        Reply::Voice { media_id } => ("voice", json!({ "media_id": media_id })),
        Reply::Video {
            media_id,
            title,
            description,
        } => (
            "video",
            json!({ "media_id": media_id, "title": title, "description": description }),
        ),
        Reply::Music {
            title,
            description,
            music_url,
            hq_music_url,
            thumb_media_id,
        } => (
            "music",
            json!({ "title": title, "description": description, "musicurl": music_url,
                    "hqmusicurl": hq_music_url, "thumb_media_id": thumb_media_id }),
        ),
        Reply::News { articles } => (
            "news",
            json!({ "articles": articles.iter().map(|a| json!({
                "title": a.title, "description": a.description, "url": a.url, "picurl": a.pic_url,
            })).collect::<Vec<_>>() }),
        ),
        Reply::TransferCustomerService => return None,
    };
    Some(json!({ "touser": openid, "msgtype": kind, kind: body }))
}

/// Sends `reply` as a customer-service message and stores it (direction 0).
pub async fn send_and_store(
    state: &AppState,
    account: &accounts::Model,
    openid: &str,
    reply: &Reply,
    reply_to: Option<i64>,
    answered_by: &str,
) -> Result<messages::Model, AppError> {
    let message = custom_message(openid, reply).ok_or_else(|| {
        AppError::field(
            "msg_type",
            "this kind cannot be sent as a customer-service message",
        )
    })?;
    state
        .wxapi
        .call(
            account,
            Method::POST,
            "/cgi-bin/message/custom/send",
            &[],
            Body::Json(message),
        )
        .await?;
    let row =
        crate::pipeline::outbound_message(state, account.id, openid, reply, reply_to, answered_by)?;
    Ok(row
        .into_active_model()
        .reset_all()
        .insert(&state.db)
        .await?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReplyRequest {
    #[serde(with = "crate::ids::json_id")]
    account_id: i64,
    openid: String,
    #[serde(default = "text_type")]
    msg_type: String,
    #[serde(default)]
    content: String,
    #[serde(default)]
    media_id: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    music_url: String,
    #[serde(default)]
    hq_music_url: String,
    #[serde(default)]
    thumb_media_id: String,
    #[serde(default)]
    articles: Vec<Article>,
}

fn text_type() -> String {
    "text".into()
}

/// The window in which customer-service messages may be sent.
pub const SERVICE_WINDOW: chrono::Duration = chrono::Duration::hours(48);

async fn reply(
    State(state): State<AppState>,
    admin: CurrentAdmin,
    JsonBody(body): JsonBody,
) -> ApiResult {
    let request: ReplyRequest = parse_json_body(body)?;
    let account = account_for(&state, &admin, request.account_id).await?;
    let required = |field: &str, value: &str| {
        if value.trim().is_empty() {
            Err(AppError::field(field, "is required"))
        } else {
            Ok(())
        }
    };
    required("openid", &request.openid)?;
    let reply = match request.msg_type.as_str() {
        "text" => {
            required("content", &request.content)?;
            Reply::Text {
                content: request.content,
            }
        }
        "image" => {
            required("media_id", &request.media_id)?;
            Reply::Image {
                media_id: request.media_id,
            }
        }
        "voice" => {
            required("media_id", &request.media_id)?;
            Reply::Voice {
                media_id: request.media_id,
            }
        }
        "video" => {
            required("media_id", &request.media_id)?;
            Reply::Video {
                media_id: request.media_id,
                title: request.title,
                description: request.description,
            }
        }
        "music" => {
            required("music_url", &request.music_url)?;
            required("thumb_media_id", &request.thumb_media_id)?;
            Reply::Music {
                title: request.title,
                description: request.description,
                music_url: request.music_url,
                hq_music_url: request.hq_music_url,
                thumb_media_id: request.thumb_media_id,
            }
        }
        "news" => {
            if request.articles.is_empty() || request.articles.len() > 8 {
                return Err(AppError::field("articles", "1 to 8 articles"));
            }
            Reply::News {
                articles: request.articles,
            }
        }
        other => {
            return Err(AppError::field(
                "msg_type",
                format!("{other:?} is not text, image, voice, video, music or news"),
            ))
        }
    };
    // Known to be outside the window: say so without calling WeChat.
    let fan = crate::pipeline::chain::load_fan(&state.db, account.id, &request.openid).await;
    if let Some(last) = fan.as_ref().and_then(|f| f.last_interact_time) {
        if chrono::Utc::now() - last > SERVICE_WINDOW {
            return Err(AppError::Upstream {
                message: format!(
                    "WeChat API error 45015: the fan last wrote at {last}{}",
                    super::hint(45015)
                ),
                errcode: Some(45015),
                errmsg: "response out of time limit".into(),
            });
        }
    }
    let stored = send_and_store(
        &state,
        &account,
        &request.openid,
        &reply,
        None,
        &format!("{}{}", crate::pipeline::ADMIN_SENDER, admin.username),
    )
    .await?;
    Ok(ok(stored))
}

#[derive(Deserialize)]
struct ConversationQuery {
    account_id: String,
    openid: String,
    page: Option<u64>,
    page_size: Option<u64>,
}

async fn conversation(
    State(state): State<AppState>,
    admin: CurrentAdmin,
    Query(query): Query<ConversationQuery>,
) -> ApiResult {
    let account_id: i64 = query.account_id.parse().map_err(|_| {
        AppError::BadRequest(format!("account_id={:?} is not an id", query.account_id))
    })?;
    let account = account_for(&state, &admin, account_id).await?;
    let page = query.page.unwrap_or(1).max(1);
    let page_size = query.page_size.unwrap_or(50).clamp(1, 100);
    // Newest first for paging; each page is then put in time order.
    let paginator = messages::Entity::find()
        .filter(messages::Column::AccountId.eq(account.id))
        .filter(messages::Column::Openid.eq(query.openid.as_str()))
        .order_by_desc(messages::Column::Id)
        .paginate(&state.db, page_size);
    let total = paginator.num_items().await?;
    let mut rows = paginator.fetch_page(page - 1).await?;
    rows.reverse();
    let fan = users::Entity::find()
        .filter(users::Column::AccountId.eq(account.id))
        .filter(users::Column::Openid.eq(query.openid.as_str()))
        .one(&state.db)
        .await?;
    let window_open = fan
        .as_ref()
        .and_then(|f| f.last_interact_time)
        .is_some_and(|last| chrono::Utc::now() - last <= SERVICE_WINDOW);
    Ok(ok(json!({
        "fan": fan,
        "window_open": window_open,
        "list": rows, "total": total, "page": page, "page_size": page_size,
    })))
}

// ---------------------------------------------------------------- templates

async fn sync_templates(
    State(state): State<AppState>,
    admin: CurrentAdmin,
    JsonBody(body): JsonBody,
) -> ApiResult {
    let account = account_in_body(&state, &admin, body).await?;
    let remote = state
        .wxapi
        .call(
            &account,
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
        .all(&state.db)
        .await?
        .into_iter()
        .map(|t| (t.template_id.clone(), t))
        .collect();
    let now = crate::admin::now();
    let (mut added, mut updated, mut removed) = (0, 0, 0);
    let mut seen = BTreeSet::new();
    let txn = state.db.begin().await?;
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
                fresh(state.ids.next_id()?, now)
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
    Ok(ok(
        json!({ "remote": list.len(), "added": added, "updated": updated, "removed": removed }),
    ))
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SendTemplate {
    #[serde(with = "crate::ids::json_id")]
    account_id: i64,
    template_id: String,
    openid: String,
    data: Map<String, Value>,
    #[serde(default)]
    url: String,
    miniprogram: Option<Value>,
}

/// The template and the checked `data` for it: every `{{key.DATA}}`
/// placeholder filled, nothing else; plain strings become `{"value": …}`.
async fn checked_template(
    state: &AppState,
    account_id: i64,
    template_id: &str,
    data: Map<String, Value>,
) -> Result<(templates::Model, Map<String, Value>), AppError> {
    let template = templates::Entity::find()
        .filter(templates::Column::AccountId.eq(account_id))
        .filter(templates::Column::TemplateId.eq(template_id))
        .one(&state.db)
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
    let data: Map<String, Value> = data
        .into_iter()
        .map(|(k, v)| match v {
            Value::String(s) => (k, json!({ "value": s })),
            other => (k, other),
        })
        .collect();
    if let Some((key, _)) = data.iter().find(|(_, v)| !v["value"].is_string()) {
        return Err(AppError::field(
            "data",
            format!("{key}: expected a string or {{\"value\": \"…\"}}"),
        ));
    }
    Ok((template, data))
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
    state: &AppState,
    account: &accounts::Model,
    message: TemplateMessage<'_>,
) -> Result<(template_logs::Model, Result<(), super::WxError>), AppError> {
    let now = crate::admin::now();
    let log = template_logs::Model {
        id: state.ids.next_id()?,
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
    let log = log
        .into_active_model()
        .reset_all()
        .insert(&state.db)
        .await?;
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
    let result = state
        .wxapi
        .call(
            account,
            Method::POST,
            "/cgi-bin/message/template/send",
            &[],
            Body::Json(payload),
        )
        .await;
    let mut active = log.into_active_model();
    active.updated_at = sea_orm::Set(crate::admin::now());
    match &result {
        Ok(value) => {
            active.status = sea_orm::Set("sent".into());
            active.msgid = sea_orm::Set(value["msgid"].as_i64());
            active.sent_at = sea_orm::Set(Some(crate::admin::now()));
        }
        Err(error) => {
            active.status = sea_orm::Set("failed".into());
            active.errcode = sea_orm::Set(error.errcode().unwrap_or(-2) as i32);
            active.errmsg = sea_orm::Set(error.to_string().chars().take(500).collect());
        }
    }
    Ok((active.update(&state.db).await?, result.map(|_| ())))
}

async fn send_template(
    State(state): State<AppState>,
    admin: CurrentAdmin,
    JsonBody(body): JsonBody,
) -> ApiResult {
    let request: SendTemplate = parse_json_body(body)?;
    let account = account_for(&state, &admin, request.account_id).await?;
    if request.openid.trim().is_empty() {
        return Err(AppError::field("openid", "is required"));
    }
    let (template, data) =
        checked_template(&state, account.id, &request.template_id, request.data).await?;
    let message = TemplateMessage {
        template: &template,
        openid: &request.openid,
        data: &data,
        url: &request.url,
        miniprogram: request.miniprogram.as_ref(),
    };
    match send_one(&state, &account, message).await? {
        (log, Ok(())) => Ok(ok(log)),
        (_, Err(error)) => Err(error.into()),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SendBulk {
    #[serde(with = "crate::ids::json_id")]
    account_id: i64,
    template_id: String,
    openids: Vec<String>,
    data: Map<String, Value>,
    #[serde(default)]
    url: String,
    miniprogram: Option<Value>,
}

pub const SEND_TEMPLATES: &str = "send_templates";
/// At most this many template messages a second from one job.
const BULK_RATE_PER_SECOND: u64 = 50;

async fn send_bulk(
    State(state): State<AppState>,
    admin: CurrentAdmin,
    JsonBody(body): JsonBody,
) -> ApiResult {
    let request: SendBulk = parse_json_body(body)?;
    let account = account_for(&state, &admin, request.account_id).await?;
    let openids: Vec<String> = request
        .openids
        .iter()
        .map(|o| o.trim().to_string())
        .filter(|o| !o.is_empty())
        .collect();
    if openids.is_empty() || openids.len() > 10_000 {
        return Err(AppError::field("openids", "1 to 10 000 openids"));
    }
    let (template, data) =
        checked_template(&state, account.id, &request.template_id, request.data).await?;
    let job = crate::jobs::new_job(
        state.ids.next_id()?,
        SEND_TEMPLATES,
        json!({
            "account_id": account.id.to_string(), "template_id": template.template_id, "openids": openids,
            "data": data, "url": request.url, "miniprogram": request.miniprogram,
            "total": openids.len(), "next": 0, "sent": 0, "failed": 0,
        }),
        crate::admin::now(),
    );
    let job = job
        .into_active_model()
        .reset_all()
        .insert(&state.db)
        .await?;
    state.jobs.notify();
    Ok(ok(job))
}

/// The bulk-send job: resumes where it stopped, paced, progress in its payload.
pub async fn send_templates_job(
    state: &AppState,
    job: &crate::entity::jobs::Model,
) -> Result<(), String> {
    let mut payload = job.payload.clone().unwrap_or_default();
    let account = crate::jobs::payload_account(state, &payload).await?;
    let template_id = payload["template_id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let template = templates::Entity::find()
        .filter(templates::Column::AccountId.eq(account.id))
        .filter(templates::Column::TemplateId.eq(template_id.as_str()))
        .one(&state.db)
        .await
        .map_err(|e| e.to_string())?
        .ok_or("the template no longer exists")?;
    let openids: Vec<String> =
        serde_json::from_value(payload["openids"].clone()).map_err(|e| e.to_string())?;
    let data: Map<String, Value> =
        serde_json::from_value(payload["data"].clone()).map_err(|e| e.to_string())?;
    let url = payload["url"].as_str().unwrap_or_default().to_string();
    let miniprogram = Some(payload["miniprogram"].clone()).filter(|m| m.is_object());
    let pace = std::time::Duration::from_millis(1000 / BULK_RATE_PER_SECOND);
    let mut next = payload["next"].as_u64().unwrap_or(0) as usize;
    while next < openids.len() {
        let message = TemplateMessage {
            template: &template,
            openid: &openids[next],
            data: &data,
            url: &url,
            miniprogram: miniprogram.as_ref(),
        };
        let (_, result) = send_one(state, &account, message)
            .await
            .map_err(|e| e.to_string())?;
        match result {
            Ok(()) => payload["sent"] = json!(payload["sent"].as_u64().unwrap_or(0) + 1),
            // Out of quota: stop here; the job is retried later and resumes.
            Err(error) if error.errcode() == Some(45009) => {
                crate::jobs::save_payload(state, job.id, &payload).await;
                return Err(error.to_string());
            }
            Err(_) => payload["failed"] = json!(payload["failed"].as_u64().unwrap_or(0) + 1),
        }
        next += 1;
        payload["next"] = json!(next);
        if next.is_multiple_of(10) || next == openids.len() {
            crate::jobs::save_payload(state, job.id, &payload).await;
        }
        tokio::time::sleep(pace).await;
    }
    Ok(())
}

/// Delivery status of a template message from `TEMPLATESENDJOBFINISH`.
pub fn delivery_status(status: &str) -> &'static str {
    match status {
        "success" => "delivered",
        s if s.contains("user block") => "user_block",
        _ => "system_failed",
    }
}
