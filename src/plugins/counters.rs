//! Plugin calls, errors and run time per plugin, account and UTC hour, kept
//! in `plugin_counters` so they survive restarts and add up across
//! instances. The callback only adds to a map in memory; a background task
//! writes the map every few seconds (and at shutdown), one transaction per
//! flush, so no message waits for a counter's write. Dry runs are not counted.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Timelike, Utc};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DbBackend,
    EntityTrait, IntoActiveModel, QueryFilter, QuerySelect, TransactionTrait,
};

use crate::entity::plugin_counters;
use crate::ids::IdGenerator;

/// How often counts in memory are written.
pub const FLUSH_EVERY: Duration = Duration::from_secs(5);

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Key {
    plugin: String,
    account_id: i64,
    hour: DateTime<Utc>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counts {
    pub calls: i64,
    pub errors: i64,
    pub micros: i64,
}

impl Counts {
    fn add(&mut self, other: Counts) {
        self.calls += other.calls;
        self.errors += other.errors;
        self.micros += other.micros;
    }
}

/// Counts not yet written, and the database they go to.
pub struct Counters {
    db: DatabaseConnection,
    ids: Arc<IdGenerator>,
    pending: Mutex<HashMap<Key, Counts>>,
    /// One flush at a time in this instance.
    flushing: tokio::sync::Mutex<()>,
}

fn hour_of(at: DateTime<Utc>) -> DateTime<Utc> {
    at.with_minute(0)
        .and_then(|t| t.with_second(0))
        .and_then(|t| t.with_nanosecond(0))
        .unwrap_or(at)
}

/// `SUM(column)` as a 64-bit integer (PostgreSQL and MySQL sum into decimals).
fn sum_of(backend: DbBackend, column: &str) -> sea_orm::sea_query::SimpleExpr {
    Expr::cust(match backend {
        DbBackend::Postgres => format!("CAST(SUM(\"{column}\") AS BIGINT)"),
        DbBackend::MySql => format!("CAST(SUM(`{column}`) AS SIGNED)"),
        DbBackend::Sqlite => format!("SUM(\"{column}\")"),
    })
}

impl Counters {
    pub fn new(db: DatabaseConnection, ids: Arc<IdGenerator>) -> Self {
        Self {
            db,
            ids,
            pending: Mutex::new(HashMap::new()),
            flushing: tokio::sync::Mutex::new(()),
        }
    }

    /// Counts one call of `plugin` for `account_id` (in memory).
    pub fn count(&self, plugin: &str, account_id: i64, failed: bool, micros: u64) {
        let key = Key {
            plugin: plugin.to_string(),
            account_id,
            hour: hour_of(Utc::now()),
        };
        let counts = Counts {
            calls: 1,
            errors: i64::from(failed),
            micros: i64::try_from(micros).unwrap_or(i64::MAX),
        };
        self.pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(key)
            .or_default()
            .add(counts);
    }

    /// Writes the counts in memory. On failure they are kept for the next flush.
    pub async fn flush(&self) -> Result<(), sea_orm::DbErr> {
        let _one = self.flushing.lock().await;
        let taken = std::mem::take(&mut *self.pending.lock().unwrap_or_else(|p| p.into_inner()));
        if taken.is_empty() {
            return Ok(());
        }
        let written = self.write(&taken).await;
        if written.is_err() {
            let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
            for (key, counts) in taken {
                pending.entry(key).or_default().add(counts);
            }
        }
        written
    }

    /// Each row is created (zeros) if missing, then added to in SQL, so
    /// instances flushing the same row at once never lose a count.
    async fn write(&self, counts: &HashMap<Key, Counts>) -> Result<(), sea_orm::DbErr> {
        let txn = self.db.begin().await?;
        let now = crate::db::now();
        for (key, add) in counts {
            let row = plugin_counters::Model {
                id: self
                    .ids
                    .next_id()
                    .map_err(|e| sea_orm::DbErr::Custom(e.to_string()))?,
                plugin: key.plugin.clone(),
                account_id: key.account_id,
                hour: key.hour,
                calls: 0,
                errors: 0,
                micros: 0,
                created_at: now,
                updated_at: now,
            };
            plugin_counters::Entity::insert(row.into_active_model().reset_all())
                .on_conflict(
                    OnConflict::columns([
                        plugin_counters::Column::Plugin,
                        plugin_counters::Column::AccountId,
                        plugin_counters::Column::Hour,
                    ])
                    .do_nothing_on([plugin_counters::Column::Id])
                    .to_owned(),
                )
                .exec_without_returning(&txn)
                .await?;
            use plugin_counters::Column as C;
            plugin_counters::Entity::update_many()
                .col_expr(C::Calls, Expr::col(C::Calls).add(add.calls))
                .col_expr(C::Errors, Expr::col(C::Errors).add(add.errors))
                .col_expr(C::Micros, Expr::col(C::Micros).add(add.micros))
                .col_expr(C::UpdatedAt, Expr::value(now))
                .filter(C::Plugin.eq(key.plugin.as_str()))
                .filter(C::AccountId.eq(key.account_id))
                .filter(C::Hour.eq(key.hour))
                .exec(&txn)
                .await?;
        }
        txn.commit().await
    }

    /// Flushes every [`FLUSH_EVERY`] until the task is dropped.
    pub async fn run(self: Arc<Self>) {
        let mut tick = tokio::time::interval(FLUSH_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(error) = self.flush().await {
                tracing::warn!(%error, "plugin counters not written; kept for the next try");
            }
        }
    }

    /// Totals per plugin since `since` (all time: `None`) for the accounts
    /// `accounts` (all: `None`), counts in memory included.
    pub async fn totals(
        &self,
        accounts: Option<&[i64]>,
        since: Option<DateTime<Utc>>,
    ) -> Result<HashMap<String, Counts>, sea_orm::DbErr> {
        if let Err(error) = self.flush().await {
            tracing::warn!(%error, "plugin counters not written; totals from the database and memory");
        }
        use plugin_counters::Column as C;
        let mut filter = Condition::all();
        if let Some(accounts) = accounts {
            filter = filter.add(C::AccountId.is_in(accounts.to_vec()));
        }
        if let Some(since) = since {
            filter = filter.add(C::Hour.gte(hour_of(since)));
        }
        let backend = self.db.get_database_backend();
        let rows: Vec<(String, i64, i64, i64)> = plugin_counters::Entity::find()
            .select_only()
            .column(C::Plugin)
            .column_as(sum_of(backend, "calls"), "calls")
            .column_as(sum_of(backend, "errors"), "errors")
            .column_as(sum_of(backend, "micros"), "micros")
            .filter(filter)
            .group_by(C::Plugin)
            .into_tuple()
            .all(&self.db)
            .await?;
        let mut totals: HashMap<String, Counts> = HashMap::new();
        for (plugin, calls, errors, micros) in rows {
            totals.entry(plugin).or_default().add(Counts {
                calls,
                errors,
                micros,
            });
        }
        // What a failed flush kept in memory.
        let pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        for (key, counts) in pending.iter() {
            let wanted = accounts.is_none_or(|a| a.contains(&key.account_id))
                && since.is_none_or(|s| key.hour >= hour_of(s));
            if wanted {
                totals.entry(key.plugin.clone()).or_default().add(*counts);
            }
        }
        Ok(totals)
    }
}
