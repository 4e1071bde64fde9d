//! Named leases in the database: one instance holds `name` until the lease
//! expires or it lets go. Instances sharing a database use them for what
//! only one of them may do at a time (a Snowflake worker id, an account's
//! token refresh). Works the same on SQLite, MySQL and PostgreSQL: an update
//! that only matches a lease we hold or one long expired, else an insert
//! that does nothing when the row exists.

use std::time::Duration;

use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set};

use crate::entity::cluster_leases::{self, Column};

/// An expired lease is taken over only this long after it expired, so that
/// clocks a little apart never let two instances hold it at once.
pub const CLOCK_GRACE: Duration = Duration::from_secs(5);

fn span(duration: Duration) -> chrono::Duration {
    chrono::Duration::from_std(duration).unwrap_or_else(|_| chrono::Duration::seconds(60))
}

/// Takes or renews `name` for `holder` for `ttl`; false when another holder
/// has it. `info` is stored with it (what the holder says about itself).
pub async fn try_acquire(
    conn: &impl ConnectionTrait,
    name: &str,
    holder: &str,
    ttl: Duration,
    info: Option<String>,
) -> Result<bool, DbErr> {
    let now = super::now();
    let expires_at = now + span(ttl);
    let renewed = cluster_leases::Entity::update_many()
        .col_expr(Column::Holder, Expr::value(holder))
        .col_expr(Column::ExpiresAt, Expr::value(expires_at))
        .col_expr(Column::Info, Expr::value(info.clone()))
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .filter(Column::Name.eq(name))
        .filter(
            Condition::any()
                .add(Column::Holder.eq(holder))
                .add(Column::ExpiresAt.lt(now - span(CLOCK_GRACE))),
        )
        .exec(conn)
        .await?;
    if renewed.rows_affected == 1 {
        return Ok(true);
    }
    let inserted = cluster_leases::Entity::insert(cluster_leases::ActiveModel {
        name: Set(name.to_string()),
        holder: Set(holder.to_string()),
        expires_at: Set(expires_at),
        info: Set(info),
        updated_at: Set(now),
    })
    .on_conflict(
        OnConflict::column(Column::Name)
            .do_nothing_on([Column::Name])
            .to_owned(),
    )
    .exec_without_returning(conn)
    .await?;
    if conn.get_database_backend() != sea_orm::DbBackend::MySql {
        return Ok(inserted == 1);
    }
    // MySQL counts a row found by ON DUPLICATE KEY as affected: whether the
    // lease is ours is in the row. (Were it ours already, the update above
    // would have renewed it.)
    let row = cluster_leases::Entity::find_by_id(name.to_string())
        .one(conn)
        .await?;
    Ok(row.is_some_and(|r| r.holder == holder && r.expires_at == expires_at))
}

/// Lets go of `name` if `holder` has it.
pub async fn release(conn: &impl ConnectionTrait, name: &str, holder: &str) -> Result<(), DbErr> {
    cluster_leases::Entity::delete_many()
        .filter(Column::Name.eq(name))
        .filter(Column::Holder.eq(holder))
        .exec(conn)
        .await?;
    Ok(())
}

/// The leases whose name starts with `prefix` and that have not expired.
pub async fn live(
    conn: &impl ConnectionTrait,
    prefix: &str,
) -> Result<Vec<cluster_leases::Model>, DbErr> {
    cluster_leases::Entity::find()
        .filter(Column::Name.starts_with(prefix))
        .filter(Column::ExpiresAt.gt(super::now()))
        .all(conn)
        .await
}
