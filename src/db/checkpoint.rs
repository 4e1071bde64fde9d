//! SQLite's WAL checkpoints, moved out of the writer's commits. With
//! automatic checkpoints, the commit that crosses the threshold copies the
//! whole WAL into the database file before it returns: under load that
//! commit took 100–200 ms, and every callback in its batch waited for it.
//! Here every pooled connection has automatic checkpoints off, and this task
//! checkpoints from its own connection, in small steps and without taking
//! the write lock (`PASSIVE`), so writers never wait for one.

use std::time::Duration;

use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};

/// Often enough that each checkpoint copies little (a few MB under load).
const EVERY: Duration = Duration::from_millis(200);
/// A WAL this long (pages of 4 KiB: 400 MB) that passive checkpoints could
/// not bring down, because readers or writers never left it alone, is
/// checkpointed in full (`RESTART`, which waits for writers) so the file
/// stays bounded.
const FORCE_AT_PAGES: i64 = 100_000;

/// Checkpoints the database of `db` forever when it is SQLite; returns at
/// once for other engines.
pub async fn checkpoint_forever(db: DatabaseConnection) {
    if db.get_database_backend() != DbBackend::Sqlite {
        return;
    }
    let mut ticks = tokio::time::interval(EVERY);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        match checkpoint(&db, "PASSIVE").await {
            Ok(Some(left)) if left >= FORCE_AT_PAGES => {
                if let Err(error) = checkpoint(&db, "RESTART").await {
                    tracing::warn!(%error, "WAL checkpoint (restart) failed");
                }
            }
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "WAL checkpoint failed"),
        }
    }
}

/// Runs one checkpoint; the WAL pages it could not copy yet.
async fn checkpoint(db: &DatabaseConnection, mode: &str) -> Result<Option<i64>, sea_orm::DbErr> {
    let row = db
        .query_one(Statement::from_string(
            DbBackend::Sqlite,
            format!("PRAGMA wal_checkpoint({mode})"),
        ))
        .await?;
    // (busy, pages in the WAL, pages copied); -1, -1 outside WAL mode.
    Ok(row.and_then(|row| {
        let in_wal: i64 = row.try_get_by_index(1).ok()?;
        let copied: i64 = row.try_get_by_index(2).ok()?;
        Some(in_wal - copied)
    }))
}
