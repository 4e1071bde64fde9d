//! `GET /wechat/dashboard/stats`: what an account's dashboard shows — messages
//! and follows per day, who answered, the texts keyword rules answered most,
//! and plugin errors. Counts come from indexed range queries, one per day, so
//! they stay cheap and work the same on every database.

use std::collections::HashMap;

use axum::extract::State;
use axum::routing::get;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::Deserialize;
use serde_json::json;
use utoipa::openapi::path::HttpMethod;

use crate::auth::CurrentAdmin;
use crate::entity::enums::Direction;
use crate::entity::{messages, users};
use crate::error::{ok, ApiResult, AppError};
use crate::http::openapi::{Api, Operation};
use crate::http::Query;
use crate::state::AppState;

/// Replies looked at for the "who answered" and "top keywords" figures.
const SAMPLE: u64 = 5000;

pub fn register(api: Api) -> Api {
    api.route(
        Operation::new(
            HttpMethod::Get,
            "/wechat/dashboard/stats",
            "dashboard",
            "An account's figures per day",
        )
        .query("account_id", "the account")
        .query("days", "how many days back, 1–90 (default 14)")
        .query("tz", "time zone of the days (default Asia/Shanghai)"),
        get(stats),
    )
}

#[derive(Deserialize)]
struct StatsQuery {
    account_id: String,
    days: Option<u32>,
    tz: Option<String>,
}

async fn count(state: &AppState, filter: sea_orm::Condition) -> Result<u64, AppError> {
    Ok(messages::Entity::find()
        .filter(filter)
        .count(&state.db)
        .await?)
}

async fn stats(
    State(state): State<AppState>,
    admin: CurrentAdmin,
    Query(query): Query<StatsQuery>,
) -> ApiResult {
    use sea_orm::Condition;
    let account_id: i64 = query.account_id.parse().map_err(|_| {
        AppError::BadRequest(format!("account_id={:?} is not an id", query.account_id))
    })?;
    admin.require_account(account_id)?;
    let days = query.days.unwrap_or(14);
    if !(1..=90).contains(&days) {
        return Err(AppError::BadRequest("days must be from 1 to 90".into()));
    }
    let tz: chrono_tz::Tz = query
        .tz
        .as_deref()
        .unwrap_or("Asia/Shanghai")
        .parse()
        .map_err(|_| AppError::BadRequest("tz is not a time zone (e.g. Asia/Shanghai)".into()))?;

    let today = chrono::Utc::now().with_timezone(&tz).date_naive();
    let mut per_day = Vec::new();
    for back in (0..days).rev() {
        let day = today - chrono::Duration::days(i64::from(back));
        let start = day
            .and_hms_opt(0, 0, 0)
            .and_then(|t| t.and_local_timezone(tz).earliest());
        let end = (day + chrono::Duration::days(1))
            .and_hms_opt(0, 0, 0)
            .and_then(|t| t.and_local_timezone(tz).earliest());
        let (Some(start), Some(end)) = (start, end) else {
            continue;
        };
        let (start, end) = (
            start.with_timezone(&chrono::Utc),
            end.with_timezone(&chrono::Utc),
        );
        let in_day = Condition::all()
            .add(messages::Column::AccountId.eq(account_id))
            .add(messages::Column::CreatedAt.gte(start))
            .add(messages::Column::CreatedAt.lt(end));
        let received = count(
            &state,
            in_day
                .clone()
                .add(messages::Column::Direction.eq(Direction::Received)),
        )
        .await?;
        let sent = count(
            &state,
            in_day
                .clone()
                .add(messages::Column::Direction.eq(Direction::Sent)),
        )
        .await?;
        let followed = count(
            &state,
            in_day
                .clone()
                .add(messages::Column::EventType.eq("subscribe")),
        )
        .await?;
        let left = count(
            &state,
            in_day.add(messages::Column::EventType.eq("unsubscribe")),
        )
        .await?;
        per_day.push(json!({
            "date": day.to_string(), "received": received, "sent": sent, "followed": followed, "unfollowed": left,
        }));
    }

    let since = chrono::Utc::now() - chrono::Duration::days(i64::from(days));
    let replies = messages::Entity::find()
        .filter(messages::Column::AccountId.eq(account_id))
        .filter(messages::Column::Direction.eq(Direction::Sent))
        .filter(messages::Column::CreatedAt.gte(since))
        .order_by_desc(messages::Column::Id)
        .limit(SAMPLE)
        .all(&state.db)
        .await?;
    let mut by_handler: HashMap<String, u64> = HashMap::new();
    for reply in &replies {
        let name = if reply.answered_by.is_empty() {
            "unknown".to_string()
        } else {
            reply.answered_by.clone()
        };
        *by_handler.entry(name).or_default() += 1;
    }
    // The texts keyword rules answered, most frequent first.
    let keyword_answered: Vec<i64> = replies
        .iter()
        .filter(|r| r.answered_by == "builtin:keyword")
        .filter_map(|r| r.reply_to)
        .collect();
    let mut top_texts: HashMap<String, u64> = HashMap::new();
    for chunk in keyword_answered.chunks(500) {
        let asked = messages::Entity::find()
            .filter(messages::Column::Id.is_in(chunk.to_vec()))
            .all(&state.db)
            .await?;
        for message in asked {
            let text = if message.msg_type == "event" {
                message.event_key
            } else {
                message.content
            };
            *top_texts.entry(text.trim().to_lowercase()).or_default() += 1;
        }
    }
    let mut top_texts: Vec<(String, u64)> = top_texts.into_iter().collect();
    top_texts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    top_texts.truncate(10);
    let mut by_handler: Vec<(String, u64)> = by_handler.into_iter().collect();
    by_handler.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));

    let subscribed = users::Entity::find()
        .filter(users::Column::AccountId.eq(account_id))
        .filter(users::Column::SubscribeStatus.eq(1))
        .count(&state.db)
        .await?;
    let plugin_errors: Vec<_> = state
        .plugins
        .infos()
        .into_iter()
        .filter(|p| p.errors > 0 || p.compile_error.is_some())
        .map(|p| json!({ "name": p.name, "errors": p.errors, "last_error": p.last_error, "compile_error": p.compile_error }))
        .collect();
    Ok(ok(json!({
        "days": per_day,
        "subscribed_fans": subscribed,
        "answered_by": by_handler.into_iter().map(|(name, n)| json!({ "handler": name, "replies": n })).collect::<Vec<_>>(),
        "top_keywords": top_texts.into_iter().map(|(text, n)| json!({ "text": text, "hits": n })).collect::<Vec<_>>(),
        "plugin_errors": plugin_errors,
    })))
}
