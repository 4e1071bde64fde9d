//! `GET /wechat/dashboard/stats`: what the dashboard shows for one account,
//! or for all the accounts the admin may see (admins: every account;
//! operators: theirs) — messages and follows per day, who answered, the
//! auto-reply rules that answered most, and plugin calls and errors from
//! `plugin_counters` (callback calls only, kept across restarts). Counts come
//! from indexed range and grouped queries, so they stay cheap and work the
//! same on every database.

use axum::extract::State;
use axum::routing::get;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, Condition, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};
use serde::Deserialize;
use serde_json::json;
use utoipa::openapi::path::HttpMethod;

use crate::auth::CurrentAdmin;
use crate::entity::enums::Direction;
use crate::entity::{auto_replies, messages, users};
use crate::error::{ok, ApiResult, AppError};
use crate::http::openapi::{Api, Operation};
use crate::http::Query;
use crate::state::AppState;

/// Rules listed under "answered most".
const TOP_RULES: u64 = 10;

pub fn register(api: Api) -> Api {
    api.route(
        Operation::new(
            HttpMethod::Get,
            "/wechat/dashboard/stats",
            "dashboard",
            "Figures per day of an account, or of every account the admin may see",
        )
        .query(
            "account_id",
            "the account; omitted or empty: all the admin's accounts",
        )
        .query("days", "how many days back, 1–90 (default 14)")
        .query("tz", "time zone of the days (default Asia/Shanghai)"),
        get(stats),
    )
}

#[derive(Deserialize)]
struct StatsQuery {
    account_id: Option<String>,
    days: Option<u32>,
    tz: Option<String>,
}

async fn count(state: &AppState, filter: Condition) -> Result<u64, AppError> {
    Ok(messages::Entity::find()
        .filter(filter)
        .count(&state.db)
        .await?)
}

/// The accounts the figures are about: one, or all the admin may see
/// (`None`: every account, for admins).
fn accounts_of(
    admin: &CurrentAdmin,
    account_id: Option<&str>,
) -> Result<Option<Vec<i64>>, AppError> {
    match account_id.map(str::trim).filter(|a| !a.is_empty()) {
        Some(text) => {
            let id: i64 = text
                .parse()
                .map_err(|_| AppError::BadRequest(format!("account_id={text:?} is not an id")))?;
            admin.require_account(id)?;
            Ok(Some(vec![id]))
        }
        None if admin.is_admin() => Ok(None),
        None => Ok(Some(admin.account_ids.clone())),
    }
}

/// `column IN accounts`, or nothing for all accounts.
fn in_scope(column: impl ColumnTrait, accounts: &Option<Vec<i64>>) -> Condition {
    match accounts {
        Some(ids) => Condition::all().add(column.is_in(ids.clone())),
        None => Condition::all(),
    }
}

async fn stats(
    State(state): State<AppState>,
    admin: CurrentAdmin,
    Query(query): Query<StatsQuery>,
) -> ApiResult {
    let accounts = accounts_of(&admin, query.account_id.as_deref())?;
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
    let mut since = None;
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
        since.get_or_insert(start);
        let in_day = in_scope(messages::Column::AccountId, &accounts)
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
    let since = since.unwrap_or_else(chrono::Utc::now);
    let replies = in_scope(messages::Column::AccountId, &accounts)
        .add(messages::Column::Direction.eq(Direction::Sent))
        .add(messages::Column::CreatedAt.gte(since));

    let by_handler: Vec<(String, i64)> = messages::Entity::find()
        .select_only()
        .column(messages::Column::AnsweredBy)
        .column_as(Expr::col(messages::Column::Id).count(), "n")
        .filter(replies.clone())
        .group_by(messages::Column::AnsweredBy)
        .order_by_desc(Expr::col(messages::Column::Id).count())
        .order_by_asc(messages::Column::AnsweredBy)
        .into_tuple()
        .all(&state.db)
        .await?;
    let answered_by: Vec<_> = by_handler
        .into_iter()
        .map(|(name, n)| {
            let name = if name.is_empty() {
                "unknown".into()
            } else {
                name
            };
            json!({ "handler": name, "replies": n })
        })
        .collect();

    let top_rules = top_rules(&state, replies).await?;
    let subscribed = users::Entity::find()
        .filter(in_scope(users::Column::AccountId, &accounts))
        .filter(users::Column::SubscribeStatus.eq(1))
        .count(&state.db)
        .await?;
    let plugins = plugin_figures(&state, &accounts, since).await?;
    let plugin_errors: Vec<_> = plugins
        .iter()
        .filter(|p| p["errors"].as_i64().unwrap_or(0) > 0 || !p["compile_error"].is_null())
        .cloned()
        .collect();
    Ok(ok(json!({
        "scope": if query.account_id.as_deref().is_some_and(|a| !a.trim().is_empty()) { "account" } else { "all" },
        "days": per_day,
        "subscribed_fans": subscribed,
        "answered_by": answered_by,
        "top_rules": top_rules,
        "plugins": plugins,
        "plugin_errors": plugin_errors,
    })))
}

/// The auto-reply rules behind the most replies in `replies`, most first
/// (a rule deleted since is listed by its id, `deleted: true`).
async fn top_rules(
    state: &AppState,
    replies: Condition,
) -> Result<Vec<serde_json::Value>, AppError> {
    let counted: Vec<(i64, i64)> = messages::Entity::find()
        .select_only()
        .column(messages::Column::RuleId)
        .column_as(Expr::col(messages::Column::Id).count(), "n")
        .filter(replies)
        .filter(messages::Column::RuleId.is_not_null())
        .group_by(messages::Column::RuleId)
        .order_by_desc(Expr::col(messages::Column::Id).count())
        .order_by_asc(messages::Column::RuleId)
        .limit(TOP_RULES)
        .into_tuple()
        .all(&state.db)
        .await?;
    let rules: std::collections::HashMap<i64, auto_replies::Model> = auto_replies::Entity::find()
        .filter(auto_replies::Column::Id.is_in(counted.iter().map(|(id, _)| *id)))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|r| (r.id, r))
        .collect();
    Ok(counted
        .into_iter()
        .map(|(id, hits)| match rules.get(&id) {
            Some(rule) => json!({
                "rule_id": id.to_string(), "account_id": rule.account_id.to_string(),
                "reply_type": rule.reply_type, "keyword": rule.keyword, "match_type": rule.match_type,
                "hits": hits, "deleted": false,
            }),
            None => json!({ "rule_id": id.to_string(), "hits": hits, "deleted": true }),
        })
        .collect())
}

/// Each plugin's calls and errors in the accounts since `since` (callback
/// calls only), with its last error and compile error as loaded now.
async fn plugin_figures(
    state: &AppState,
    accounts: &Option<Vec<i64>>,
    since: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<serde_json::Value>, AppError> {
    let totals = match &state.plugins.runtime().counters {
        Some(counters) => counters.totals(accounts.as_deref(), Some(since)).await?,
        None => Default::default(),
    };
    Ok(state
        .plugins
        .infos()
        .into_iter()
        .map(|p| {
            let counts = totals.get(&p.name).copied().unwrap_or_default();
            json!({
                "name": p.name, "calls": counts.calls, "errors": counts.errors,
                "mean_run_ms": if counts.calls == 0 { 0.0 } else { counts.micros as f64 / counts.calls as f64 / 1000.0 },
                "last_error": if counts.errors > 0 { p.last_error } else { None },
                "compile_error": p.compile_error,
            })
        })
        .collect())
}
