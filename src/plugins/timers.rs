//! Timers: `schedule(after, name, data)` in a script keeps a request that,
//! once the call succeeded, becomes a durable job (`plugin_timer`) due at
//! that time; the job calls the plugin's `on_timer(name, data, ctx)` — after
//! restarts, once across instances (the job queue's claim and lease). A
//! plugin has at most MAX_PENDING_TIMERS pending per account, each at least
//! MIN_DELAY_SECONDS away, so a timer that schedules itself cannot spin.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use rhai::{Dynamic, EvalAltResult};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{json, Value};

use super::call::{with_call, CallState, MAX_TTL_SECONDS};
use super::{plugin_context, state};
use crate::entity::jobs;
use crate::ids::IdGenerator;
use crate::jobs::{new_job, payload_account, Job, JobError, JobFuture, PENDING, RUNNING};
use crate::state::AppState;

/// The soonest a timer may fire, in seconds from now.
pub const MIN_DELAY_SECONDS: i64 = 5;
/// Timers one plugin may have waiting in one account.
pub const MAX_PENDING_TIMERS: u64 = 100;
/// Timers one call may schedule.
pub const MAX_TIMERS_PER_CALL: usize = 10;
/// The largest `data` a timer carries, as JSON.
pub const MAX_TIMER_DATA: usize = 16 * 1024;

/// A timer a call asked for; saved only if the call succeeds.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct TimerRequest {
    pub name: String,
    pub data: Value,
    pub due_at: DateTime<Utc>,
}

/// Where timers are counted and saved (none without a database).
pub struct TimerStore {
    db: DatabaseConnection,
    ids: Arc<IdGenerator>,
    runtime: tokio::runtime::Handle,
    /// Wakes the job worker for actions, due at once.
    signal: crate::jobs::JobSignal,
}

/// The owner a plugin's timers are counted by.
fn owner(plugin: &str, account_id: i64) -> String {
    format!("plugin:{plugin}:{account_id}")
}

impl TimerStore {
    pub fn new(
        db: DatabaseConnection,
        ids: Arc<IdGenerator>,
        runtime: tokio::runtime::Handle,
        signal: crate::jobs::JobSignal,
    ) -> Self {
        Self {
            db,
            ids,
            runtime,
            signal,
        }
    }

    /// Jobs of `owner` not run yet, or (with `since`) created since then.
    /// Called from the script's blocking thread.
    pub(super) fn count(&self, owner: &str, since: Option<DateTime<Utc>>) -> Result<u64, String> {
        let mut query = jobs::Entity::find().filter(jobs::Column::Owner.eq(owner));
        query = match since {
            Some(since) => query.filter(jobs::Column::CreatedAt.gt(since)),
            None => query.filter(jobs::Column::Status.is_in([PENDING, RUNNING])),
        };
        super::engine::wait_for(&self.runtime, query.count(&self.db))?
            .map_err(|e| format!("cannot count this plugin's jobs: {e}"))
    }

    /// Saves the timers and actions of a call that succeeded, as jobs (the
    /// timers due at their time, the actions at once), in one insert.
    pub async fn save(
        &self,
        plugin: &str,
        account_id: i64,
        openid: &str,
        timers: Vec<TimerRequest>,
        actions: Vec<super::actions::ActionRequest>,
    ) -> Result<(), String> {
        let now = crate::db::now();
        let mut rows = Vec::with_capacity(timers.len());
        for timer in timers {
            let payload = json!({
                "plugin": plugin,
                "account_id": account_id.to_string(),
                "openid": openid,
                "name": timer.name,
                "data": timer.data,
            });
            let id = self.ids.next_id().map_err(|e| e.to_string())?;
            let mut job = new_job(id, PluginTimer::NAME, payload, now);
            job.run_at = timer.due_at;
            job.owner = owner(plugin, account_id);
            rows.push(sea_orm::IntoActiveModel::into_active_model(job));
        }
        let has_actions = !actions.is_empty();
        for job in super::actions::action_jobs(plugin, account_id, actions, &self.ids)? {
            rows.push(sea_orm::IntoActiveModel::into_active_model(job));
        }
        if rows.is_empty() {
            return Ok(());
        }
        jobs::Entity::insert_many(rows)
            .exec_without_returning(&self.db)
            .await
            .map_err(|e| format!("timers and actions not saved: {e}"))?;
        if has_actions {
            self.signal.notify();
        }
        Ok(())
    }
}

/// When `after` (whole seconds from now, or an RFC 3339 time) is, checked
/// against the minimum delay and the longest (a year).
fn due_at(after: &Dynamic, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    let due = if let Ok(seconds) = after.as_int() {
        now + chrono::Duration::seconds(seconds.clamp(-MAX_TTL_SECONDS, MAX_TTL_SECONDS + 1))
    } else if after.is_string() {
        let text = super::engine::text_of(after);
        DateTime::parse_from_rfc3339(&text)
            .map_err(|_| {
                format!("schedule: {text:?} is not a time like \"2026-12-08T09:00:00+08:00\"")
            })?
            .with_timezone(&Utc)
    } else {
        return Err(format!(
            "schedule: the first argument is seconds from now or an RFC 3339 time, not {}",
            super::engine::plain_types(after.type_name())
        ));
    };
    let seconds = (due - now).num_seconds();
    if seconds < MIN_DELAY_SECONDS {
        return Err(format!(
            "schedule: a timer fires at least {MIN_DELAY_SECONDS} seconds from now (this one: {seconds})"
        ));
    }
    if seconds > MAX_TTL_SECONDS {
        return Err(format!(
            "schedule: a timer fires at most {MAX_TTL_SECONDS} seconds (a year) from now"
        ));
    }
    Ok(due)
}

impl CallState {
    /// `schedule(after, name, data)`: checked now, saved with the call's writes.
    pub(super) fn schedule(
        &self,
        after: &Dynamic,
        name: &str,
        data: &Dynamic,
    ) -> Result<(), Box<EvalAltResult>> {
        let due_at = due_at(after, super::call::script_now())?;
        if name.is_empty() || name.chars().count() > 64 || crate::text::has_nul(name) {
            return Err("schedule: a timer's name is 1–64 characters".into());
        }
        let data: Value = rhai::serde::from_dynamic(data)?;
        if data.to_string().len() > MAX_TIMER_DATA
            || crate::text::json_path_with_nul(&data).is_some()
        {
            return Err(format!(
                "schedule: a timer's data is at most {MAX_TIMER_DATA} bytes of JSON, without NUL"
            )
            .into());
        }
        let mut timers = self.timers.lock().unwrap_or_else(|p| p.into_inner());
        if timers.len() >= MAX_TIMERS_PER_CALL {
            return Err(format!("schedule: at most {MAX_TIMERS_PER_CALL} timers per call").into());
        }
        if let Some(store) = &self.timer_store {
            let pending = store.count(&owner(&self.plugin, self.account_id), None)?;
            if pending + timers.len() as u64 >= MAX_PENDING_TIMERS {
                return Err(format!(
                    "schedule: this plugin already has {MAX_PENDING_TIMERS} timers waiting in this account"
                )
                .into());
            }
        }
        timers.push(TimerRequest {
            name: name.to_string(),
            data,
            due_at,
        });
        Ok(())
    }
}

pub(super) fn schedule(
    after: Dynamic,
    name: &str,
    data: Dynamic,
) -> Result<(), Box<EvalAltResult>> {
    with_call(|call| call.schedule(&after, name, &data))
}

/// The job: calls the plugin's `on_timer` with the timer's name and data.
pub struct PluginTimer;

impl Job for PluginTimer {
    const NAME: &'static str = "plugin_timer";

    fn run<'a>(state: &'a AppState, job: &'a jobs::Model) -> JobFuture<'a> {
        Box::pin(fire(state, job.payload.clone().unwrap_or(Value::Null)))
    }
}

async fn fire(state: &AppState, payload: Value) -> Result<(), JobError> {
    let text = |key: &str| payload.get(key).and_then(Value::as_str).unwrap_or("");
    let (name, openid) = (text("name").to_string(), text("openid").to_string());
    let Some(plugin) = state.plugins.get(text("plugin")) else {
        tracing::warn!(plugin = text("plugin"), timer = %name, "timer of a plugin no longer loaded; dropped");
        return Ok(());
    };
    if !plugin.script.has_on_timer {
        tracing::warn!(plugin = %plugin.name(), timer = %name, "the plugin has no on_timer(name, data, ctx); timer dropped");
        return Ok(());
    }
    let account = payload_account(state, &payload).await?;
    if !plugin.runs_for_account(&account).await {
        tracing::info!(plugin = %plugin.name(), timer = %name, "plugin switched off for the account; timer dropped");
        return Ok(());
    }
    let fan = crate::fans::service::load_fan(&state.db, account.id, &openid).await;
    let fan = super::engine::LazyFan::ready(super::fan_map(fan.as_ref(), &openid));
    let ctx = plugin_context(fan, plugin.name(), &account, false);
    let data = payload.get("data").cloned().unwrap_or(Value::Null);
    let report = plugin
        .run_timer(name.clone(), data, ctx, account.id, &openid)
        .await;
    if let Err(error) = report.outcome {
        return Err(JobError::Failed(format!(
            "on_timer({name:?}) failed: {error}"
        )));
    }
    state::apply_writes(&state.db, &state.ids, report.writes)
        .await
        .map_err(|e| JobError::Failed(format!("plugin state not saved: {e}")))?;
    plugin
        .save_queued(account.id, &openid, report.timers, report.actions)
        .await?;
    Ok(())
}
