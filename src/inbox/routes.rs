//! `/wechat/inbox/*`: the conversations list and its summary, read marks,
//! assignment, notes, canned replies, and the live event stream.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use axum::routing::{delete, get, post, put};
use sea_orm::EntityTrait;
use serde::Deserialize;
use serde_json::json;
use utoipa::openapi::path::HttpMethod;

use super::events::InboxEvent;
use super::service::{Assignee, Filter, ListQuery, MarkChange};
use super::{canned, notes, service, stream};
use crate::audit;
use crate::auth::{account_for, account_in_query, CurrentAdmin};
use crate::entity::{accounts, admins};
use crate::error::{ok, ApiResult, AppError};
use crate::http::openapi::{Answers, Api, Operation};
use crate::http::{parse_json_body, JsonBody, Query};
use crate::state::AppState;

pub fn register(api: Api) -> Api {
    use HttpMethod::{Delete, Get, Post, Put};
    let account = |op: Operation| op.query("account_id", "the account").may_fail_with(&[422]);
    let conversation = |op: Operation| account(op).query("openid", "the fan");
    api.route(
        account(Operation::new(Get, "/wechat/inbox/conversations", "inbox",
            "Conversations, the latest first, with unread and unanswered flags, counts and the 48-hour window; without account_id across the admin's accounts"))
            .query("filter", "all (default), unread, or unanswered (no reply, or only the default reply)")
            .query("assigned", "me, none, or an admin's id; anyone when left out")
            .query("page", "page number from 1")
            .query("page_size", "1–100"),
        get(list_conversations),
    )
    .route(
        account(Operation::new(Get, "/wechat/inbox/summary", "inbox",
            "How many conversations there are, are unread and unanswered; without account_id across the admin's accounts")),
        get(summary),
    )
    .route(
        Operation::new(Post, "/wechat/inbox/read", "inbox",
            "Mark a conversation read: {account_id, openid, up_to?: the newest message id on screen}")
            .json_body(),
        post(mark_read),
    )
    .route(
        Operation::new(Post, "/wechat/inbox/assign", "inbox",
            "Assign a conversation: {account_id, openid, admin_id: an admin's id, or null to unassign}")
            .json_body(),
        post(assign),
    )
    .route(
        account(Operation::new(Get, "/wechat/inbox/assignees", "inbox",
            "Who the account's conversations can be assigned to: enabled admins and its operators")),
        get(list_assignees),
    )
    .route(
        conversation(Operation::new(Get, "/wechat/inbox/notes", "inbox",
            "Internal notes on a conversation, oldest first")),
        get(list_notes),
    )
    .route(
        Operation::new(Post, "/wechat/inbox/notes/add", "inbox",
            "Add an internal note: {account_id, openid, body (up to 1000 characters)}")
            .json_body(),
        post(add_note),
    )
    .route(
        Operation::new(Delete, "/wechat/inbox/notes/del", "inbox",
            "Delete a note (its author, or an admin)")
            .query("id", "the note's id"),
        delete(delete_note),
    )
    .route(
        account(Operation::new(Get, "/wechat/inbox/canned", "inbox",
            "The account's canned replies, by title")),
        get(list_canned),
    )
    .route(
        Operation::new(Post, "/wechat/inbox/canned/add", "inbox",
            "Add a canned reply: {account_id, title (up to 64 characters), content (up to 2000)}")
            .json_body(),
        post(add_canned),
    )
    .route(
        Operation::new(Put, "/wechat/inbox/canned/edit", "inbox",
            "Edit a canned reply: {id, title?, content?}")
            .json_body(),
        put(edit_canned),
    )
    .route(
        Operation::new(Delete, "/wechat/inbox/canned/del", "inbox", "Delete a canned reply")
            .query("id", "the canned reply's id"),
        delete(delete_canned),
    )
    .route(
        Operation::new(Post, "/wechat/inbox/ticket", "inbox",
            "A ticket (valid 60 s) to open the event stream with, since EventSource cannot send the Authorization header"),
        post(ticket),
    )
    .route(
        Operation::new(Get, "/wechat/inbox/events", "inbox",
            "Live events (Server-Sent Events): message, read, assigned, note; ready first, lagged when some were lost, expired when the session ends")
            .public()
            .query("ticket", "from POST /wechat/inbox/ticket")
            .answers(Answers::Content(&["text/event-stream"]))
            .may_fail_with(&[401]),
        get(events),
    )
}

fn parse_id(name: &str, raw: &str) -> Result<i64, AppError> {
    raw.trim()
        .parse()
        .map_err(|_| AppError::BadRequest(format!("{name}={raw:?} is not an id")))
}

/// The account an optional `account_id` query names; `None` for all.
async fn optional_account(
    state: &AppState,
    admin: &CurrentAdmin,
    raw: Option<&str>,
) -> Result<Option<accounts::Model>, AppError> {
    match raw.map(str::trim).filter(|raw| !raw.is_empty()) {
        Some(raw) => Ok(Some(account_in_query(&state.db, admin, raw).await?)),
        None => Ok(None),
    }
}

#[derive(Deserialize)]
struct ListParams {
    account_id: Option<String>,
    filter: Option<String>,
    assigned: Option<String>,
    page: Option<u64>,
    page_size: Option<u64>,
}

fn list_query(
    admin: &CurrentAdmin,
    account: Option<&accounts::Model>,
    params: &ListParams,
) -> Result<ListQuery, AppError> {
    let assignee = match params.assigned.as_deref().map(str::trim).unwrap_or("") {
        "" | "anyone" => Assignee::Anyone,
        "me" => Assignee::Admin(admin.id),
        "none" => Assignee::Nobody,
        raw => Assignee::Admin(parse_id("assigned", raw)?),
    };
    Ok(ListQuery {
        account_id: account.map(|a| a.id),
        filter: Filter::parse(params.filter.as_deref())?,
        assignee,
        page: params.page.unwrap_or(1).max(1),
        page_size: params.page_size.unwrap_or(20).clamp(1, 100),
    })
}

async fn list_conversations(
    State(state): State<AppState>,
    admin: CurrentAdmin,
    Query(params): Query<ListParams>,
) -> ApiResult {
    let account = optional_account(&state, &admin, params.account_id.as_deref()).await?;
    let query = list_query(&admin, account.as_ref(), &params)?;
    let (list, summary) = service::list(&state.db, &admin, &query).await?;
    let total = match query.filter {
        Filter::All => summary.conversations,
        Filter::Unread => summary.unread,
        Filter::Unanswered => summary.unanswered,
    };
    Ok(ok(json!({
        "list": list, "total": total, "summary": summary,
        "page": query.page, "page_size": query.page_size,
    })))
}

#[derive(Deserialize)]
struct AccountParams {
    account_id: Option<String>,
}

async fn summary(
    State(state): State<AppState>,
    admin: CurrentAdmin,
    Query(params): Query<AccountParams>,
) -> ApiResult {
    let account = optional_account(&state, &admin, params.account_id.as_deref()).await?;
    let query = ListQuery {
        account_id: account.map(|a| a.id),
        filter: Filter::All,
        assignee: Assignee::Anyone,
        page: 1,
        page_size: 1,
    };
    Ok(ok(service::summary(&state.db, &admin, &query).await?))
}

/// A conversation a body names: its account (checked) and the fan.
#[derive(Deserialize)]
struct ConversationBody {
    #[serde(with = "crate::ids::json_id")]
    account_id: i64,
    openid: String,
}

/// The account and openid of a body, the conversation checked to exist.
async fn conversation_in(
    state: &AppState,
    admin: &CurrentAdmin,
    body: &serde_json::Value,
) -> Result<(accounts::Model, String, i64), AppError> {
    #[derive(Deserialize)]
    struct Named {
        #[serde(flatten)]
        conversation: ConversationBody,
        #[serde(flatten)]
        _rest: serde_json::Map<String, serde_json::Value>,
    }
    let named: Named = parse_json_body(body.clone())?;
    let ConversationBody { account_id, openid } = named.conversation;
    let account = account_for(&state.db, admin, account_id).await?;
    let openid = openid.trim().to_string();
    if openid.is_empty() {
        return Err(AppError::field("openid", "is required"));
    }
    let newest = service::newest_message(&state.db, account.id, &openid)
        .await?
        .ok_or_else(|| AppError::field("openid", "has no conversation with this account"))?;
    Ok((account, openid, newest))
}

async fn mark_read(
    State(state): State<AppState>,
    admin: CurrentAdmin,
    JsonBody(body): JsonBody,
) -> ApiResult {
    #[derive(Deserialize)]
    struct Read {
        #[serde(default, with = "crate::ids::json_opt_id")]
        up_to: Option<i64>,
    }
    let (account, openid, newest) = conversation_in(&state, &admin, &body).await?;
    let read: Read = parse_json_body(json!({ "up_to": body.get("up_to") }))?;
    // Never past what exists: a mark ahead of the messages would hide new ones.
    let up_to = read.up_to.unwrap_or(newest).min(newest);
    let by = admin.username.clone();
    let mark = service::mark(
        &state.db,
        &state.ids,
        account.id,
        &openid,
        MarkChange::Read { up_to, by },
    )
    .await?
    .unwrap_or(up_to);
    state.inbox.publish(InboxEvent::conversation(
        "read",
        account.id,
        &openid,
        &admin.username,
        "",
    ));
    Ok(ok(
        json!({ "account_id": account.id.to_string(), "openid": openid, "last_read_id": mark.to_string() }),
    ))
}

async fn assign(
    State(state): State<AppState>,
    admin: CurrentAdmin,
    JsonBody(body): JsonBody,
) -> ApiResult {
    let (account, openid, _) = conversation_in(&state, &admin, &body).await?;
    let admin_id = match body.get("admin_id") {
        None => return Err(AppError::field("admin_id", "is required")),
        Some(serde_json::Value::Null) => None,
        Some(value) => Some(
            crate::ids::parse_id(value)
                .ok_or_else(|| AppError::field("admin_id", "is not an id"))?,
        ),
    };
    let assignee = match admin_id {
        Some(id) => Some(notes::assignee(&state.db, account.id, id).await?),
        None => None,
    };
    service::mark(
        &state.db,
        &state.ids,
        account.id,
        &openid,
        MarkChange::Assign(admin_id),
    )
    .await?;
    let name = assignee
        .as_ref()
        .map(|a| a.username.clone())
        .unwrap_or_default();
    let change = audit::Change::action(
        "assign",
        "conversation",
        account.id,
        json!({ "openid": openid, "assignee": name }),
    )
    .on(&openid);
    audit::record_action(&state, &admin, change).await;
    state.inbox.publish(InboxEvent::conversation(
        "assigned",
        account.id,
        &openid,
        &admin.username,
        &name,
    ));
    Ok(ok(json!({ "openid": openid, "assignee": assignee })))
}

async fn list_assignees(
    State(state): State<AppState>,
    admin: CurrentAdmin,
    Query(params): Query<AccountParams>,
) -> ApiResult {
    let raw = params.account_id.unwrap_or_default();
    let account = account_in_query(&state.db, &admin, &raw).await?;
    Ok(ok(notes::assignees(&state.db, account.id).await?))
}

#[derive(Deserialize)]
struct ConversationParams {
    account_id: String,
    openid: String,
}

async fn list_notes(
    State(state): State<AppState>,
    admin: CurrentAdmin,
    Query(params): Query<ConversationParams>,
) -> ApiResult {
    let account = account_in_query(&state.db, &admin, &params.account_id).await?;
    Ok(ok(
        notes::list(&state.db, account.id, params.openid.trim()).await?
    ))
}

async fn add_note(
    State(state): State<AppState>,
    admin: CurrentAdmin,
    JsonBody(body): JsonBody,
) -> ApiResult {
    let (account, openid, _) = conversation_in(&state, &admin, &body).await?;
    let text = match body.get("body") {
        Some(serde_json::Value::String(text)) => text.clone(),
        Some(_) => return Err(AppError::field("body", "must be a string")),
        None => return Err(AppError::field("body", "is required")),
    };
    let note = notes::add(&state.db, &state.ids, &admin, account.id, &openid, &text).await?;
    let change = audit::Change::action(
        "add_note",
        "conversation",
        account.id,
        json!({ "openid": openid }),
    )
    .on(note.id);
    audit::record_action(&state, &admin, change).await;
    state.inbox.publish(InboxEvent::conversation(
        "note",
        account.id,
        &openid,
        &admin.username,
        &note.body,
    ));
    Ok(ok(note))
}

#[derive(Deserialize)]
struct IdQuery {
    id: String,
}

async fn delete_note(
    State(state): State<AppState>,
    admin: CurrentAdmin,
    Query(query): Query<IdQuery>,
) -> ApiResult {
    let note = notes::delete(&state.db, &admin, parse_id("id", &query.id)?).await?;
    let change = audit::Change::action(
        "delete_note",
        "conversation",
        note.account_id,
        json!({ "openid": note.openid }),
    )
    .on(note.id);
    audit::record_action(&state, &admin, change).await;
    state.inbox.publish(InboxEvent::conversation(
        "note",
        note.account_id,
        &note.openid,
        &admin.username,
        "",
    ));
    Ok(ok(json!({ "deleted": 1 })))
}

async fn list_canned(
    State(state): State<AppState>,
    admin: CurrentAdmin,
    Query(params): Query<AccountParams>,
) -> ApiResult {
    let raw = params.account_id.unwrap_or_default();
    let account = account_in_query(&state.db, &admin, &raw).await?;
    Ok(ok(canned::list(&state.db, account.id).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CannedBody {
    #[serde(with = "crate::ids::json_id")]
    account_id: i64,
    title: String,
    content: String,
}

async fn add_canned(
    State(state): State<AppState>,
    admin: CurrentAdmin,
    JsonBody(body): JsonBody,
) -> ApiResult {
    let request: CannedBody = parse_json_body(body)?;
    let account = account_for(&state.db, &admin, request.account_id).await?;
    let row = canned::add(
        &state.db,
        &state.ids,
        account.id,
        &request.title,
        &request.content,
    )
    .await?;
    let change = audit::Change::action(
        "add",
        "canned_reply",
        account.id,
        json!({ "title": row.title }),
    )
    .on(row.id);
    audit::record_action(&state, &admin, change).await;
    Ok(ok(row))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CannedEdit {
    #[serde(with = "crate::ids::json_id")]
    id: i64,
    title: Option<String>,
    content: Option<String>,
}

async fn edit_canned(
    State(state): State<AppState>,
    admin: CurrentAdmin,
    JsonBody(body): JsonBody,
) -> ApiResult {
    let request: CannedEdit = parse_json_body(body)?;
    let existing = canned::find(&state.db, &admin, request.id).await?;
    let row = canned::edit(
        &state.db,
        existing,
        request.title.as_deref(),
        request.content.as_deref(),
    )
    .await?;
    let change = audit::Change::action(
        "edit",
        "canned_reply",
        row.account_id,
        json!({ "title": row.title }),
    )
    .on(row.id);
    audit::record_action(&state, &admin, change).await;
    Ok(ok(row))
}

async fn delete_canned(
    State(state): State<AppState>,
    admin: CurrentAdmin,
    Query(query): Query<IdQuery>,
) -> ApiResult {
    let existing = canned::find(&state.db, &admin, parse_id("id", &query.id)?).await?;
    canned::delete(&state.db, &existing).await?;
    let change = audit::Change::action(
        "delete",
        "canned_reply",
        existing.account_id,
        json!({ "title": existing.title }),
    )
    .on(existing.id);
    audit::record_action(&state, &admin, change).await;
    Ok(ok(json!({ "deleted": 1 })))
}

async fn ticket(
    State(state): State<AppState>,
    admin: CurrentAdmin,
    headers: HeaderMap,
) -> ApiResult {
    let session = state.jwt.verify(crate::auth::bearer_token(&headers)?)?;
    let model = admins::Entity::find_by_id(admin.id)
        .one(&state.db)
        .await?
        .ok_or_else(|| AppError::Unauthorized("the token's admin no longer exists".into()))?;
    let (ticket, exp) = stream::issue_ticket(&state, &model, session.exp)?;
    let expires_at = chrono::DateTime::from_timestamp(exp, 0);
    Ok(ok(json!({ "ticket": ticket, "expires_at": expires_at })))
}

#[derive(Deserialize)]
struct EventsQuery {
    #[serde(default)]
    ticket: String,
}

async fn events(
    State(state): State<AppState>,
    Query(query): Query<EventsQuery>,
) -> Result<impl IntoResponse, AppError> {
    let (admin, session_exp) = stream::redeem(&state, query.ticket.trim()).await?;
    Ok(stream::events(&state, admin, session_exp))
}
