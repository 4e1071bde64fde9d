//! Admin endpoints for conversations: send a customer-service reply, read
//! one fan's messages both ways.

use axum::extract::State;
use axum::routing::{get, post};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};
use serde::Deserialize;
use serde_json::json;
use utoipa::openapi::path::HttpMethod;

use super::service::{
    outside_service_window, send_and_store, Outgoing, ADMIN_SENDER, SERVICE_WINDOW,
};
use crate::audit;
use crate::auth::{account_for, account_in_query, CurrentAdmin};
use crate::entity::{conversations, messages, users};
use crate::error::{ok, ApiResult, AppError};
use crate::http::openapi::{Api, Operation};
use crate::http::{parse_json_body, JsonBody, Query};
use crate::state::AppState;
use crate::wechat::{Reply, ReplyFields};

pub fn register(api: Api) -> Api {
    api.route(
        Operation::new(
            HttpMethod::Post,
            "/wechat/wxmessages/reply",
            "messages",
            "Send a customer-service message: {account_id, openid, msg_type, content | media_id | …}",
        )
        .json_body()
        .calls_upstream(),
        post(reply),
    )
    .route(
        Operation::new(
            HttpMethod::Get,
            "/wechat/wxmessages/conversation",
            "messages",
            "One fan's messages, both ways, in time order",
        )
        .query("account_id", "the account")
        .query("openid", "the fan")
        .query("page", "page number from 1 (1 is the latest)")
        .query("page_size", "1–100"),
        get(conversation),
    )
}

/// Who a customer-service reply goes to; the rest of the body is its
/// [`ReplyFields`].
#[derive(Deserialize)]
struct ReplyRequest {
    #[serde(with = "crate::ids::json_id")]
    account_id: i64,
    openid: String,
    #[serde(default = "text_type")]
    msg_type: String,
}

fn text_type() -> String {
    "text".into()
}

async fn reply(
    State(state): State<AppState>,
    admin: CurrentAdmin,
    JsonBody(mut body): JsonBody,
) -> ApiResult {
    let request: ReplyRequest = parse_json_body(body.clone())?;
    let account = account_for(&state.db, &admin, request.account_id).await?;
    if request.openid.trim().is_empty() {
        return Err(AppError::field("openid", "is required"));
    }
    if let Some(fields) = body.as_object_mut() {
        for name in ["account_id", "openid", "msg_type"] {
            fields.remove(name);
        }
    }
    let fields: ReplyFields = parse_json_body(body)?;
    let reply = Reply::from_fields(&request.msg_type, fields).ok_or_else(|| {
        AppError::field(
            "msg_type",
            format!(
                "{:?} is not text, image, voice, video, music or news",
                request.msg_type
            ),
        )
    })?;
    if let Some((field, problem)) = reply.missing_field() {
        return Err(AppError::field(field, problem));
    }
    // Known to be outside the window: say so without calling WeChat.
    let fan = crate::fans::service::load_fan(&state.db, account.id, &request.openid).await;
    if let Some(last) = outside_service_window(fan.as_ref()) {
        return Err(AppError::Upstream {
            message: format!(
                "WeChat API error 45015: the fan last wrote at {last}{}",
                crate::wxapi::hint(45015)
            ),
            errcode: Some(45015),
            errmsg: "response out of time limit".into(),
        });
    }
    let stored = send_and_store(
        &state.db,
        &state.ids,
        &state.wxapi,
        &account,
        Outgoing {
            openid: &request.openid,
            reply: &reply,
            reply_to: None,
            answered_by: &format!("{ADMIN_SENDER}{}", admin.username),
        },
    )
    .await?;
    state.inbox.message_stored(&stored);
    let change = audit::Change::action(
        "reply",
        "message",
        account.id,
        json!({ "openid": request.openid, "msg_type": request.msg_type }),
    )
    .on(&request.openid);
    audit::record_action(&state, &admin, change).await;
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
    let account = account_in_query(&state.db, &admin, &query.account_id).await?;
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
    // The operators' side of the conversation (see `inbox`): read mark, assignee.
    let inbox = conversations::Entity::find()
        .filter(conversations::Column::AccountId.eq(account.id))
        .filter(conversations::Column::Openid.eq(query.openid.as_str()))
        .one(&state.db)
        .await?;
    let window_open = fan
        .as_ref()
        .and_then(|f| f.last_interact_time)
        .is_some_and(|last| chrono::Utc::now() - last <= SERVICE_WINDOW);
    Ok(ok(json!({
        "fan": fan,
        "window_open": window_open,
        "inbox": inbox,
        "list": rows, "total": total, "page": page, "page_size": page_size,
    })))
}
