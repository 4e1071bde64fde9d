//! Change epochs: a counter per kind of shared configuration, bumped by every
//! change that cached copies depend on. Each instance polls it (one indexed
//! read) and drops its caches when it moved, so a change made through one
//! instance is seen by all within the poll interval.

use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};

use crate::entity::cluster_epochs::{self, Column};

/// Accounts, their rules and replies, plugin switches.
pub const CONFIG: &str = "config";

pub async fn bump(conn: &impl ConnectionTrait, name: &str) -> Result<(), DbErr> {
    cluster_epochs::Entity::update_many()
        .col_expr(Column::Epoch, Expr::col(Column::Epoch).add(1))
        .filter(Column::Name.eq(name))
        .exec(conn)
        .await?;
    Ok(())
}

pub async fn read(conn: &impl ConnectionTrait, name: &str) -> Result<i64, DbErr> {
    Ok(cluster_epochs::Entity::find_by_id(name.to_string())
        .one(conn)
        .await?
        .map_or(0, |row| row.epoch))
}
