//! Database connection, migrations, the clock every row is stamped with, and
//! what instances sharing the database coordinate through (leases, epochs).

pub mod checkpoint;
pub mod epoch;
pub mod lease;

use std::path::Path;
use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend};

/// How long a request waits for a pooled connection before it fails: well
/// inside the 5 s WeChat waits for a callback, so an unreachable database
/// gives a clear error rather than a hang.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);

/// Connects to `url`; for SQLite creates the file's folder and turns on WAL
/// and foreign keys.
pub async fn connect(url: &str) -> anyhow::Result<DatabaseConnection> {
    let url = normalize_url(url);
    if let Some(path) = sqlite_file(&url) {
        if let Some(parent) = Path::new(path)
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
        {
            std::fs::create_dir_all(parent).map_err(|e| {
                anyhow::anyhow!(
                    "cannot create the database folder {}: {e}",
                    parent.display()
                )
            })?;
        }
    }
    let mut options = ConnectOptions::new(url.clone());
    options
        .connect_timeout(Duration::from_secs(10))
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .sqlx_logging(false);
    if url.starts_with("sqlite:") {
        // One writer at a time is all SQLite offers; a small pool keeps
        // readers concurrent without piling up writers on the lock.
        options.max_connections(4).min_connections(1);
        // A file on this machine: no round trip to check a connection each
        // time it is taken (the writer takes one per batch).
        options.test_before_acquire(false);
        // On every pooled connection (a PRAGMA run once reaches one of them):
        // WAL with synchronous=NORMAL (durable at each checkpoint, never
        // corrupt), and no automatic checkpoint in a commit: the server
        // checkpoints from a task of its own (see `checkpoint`). A process
        // that runs no such task (a CLI command) checkpoints when its last
        // connection closes.
        options.map_sqlx_sqlite_opts(|sqlite| {
            sqlite
                .journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
                .pragma("wal_autocheckpoint", "0")
        });
    } else {
        options.max_connections(16);
    }
    let db = Database::connect(options)
        .await
        .map_err(|e| anyhow::anyhow!("cannot connect to the database ({}): {e}", redact(&url)))?;
    Ok(db)
}

/// `column LIKE '%text%'` with `%`, `_` and the escape character itself
/// taken literally: a search box is a substring search, not a pattern.
/// (`!` escapes, not a backslash, which MySQL would also read in the SQL text.)
pub fn contains_text(
    column: impl sea_orm::ColumnTrait,
    text: &str,
) -> sea_orm::sea_query::SimpleExpr {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '!') {
            pattern.push('!');
        }
        pattern.push(c);
    }
    pattern.push('%');
    column.like(sea_orm::sea_query::LikeExpr::new(pattern).escape('!'))
}

/// The statement failed because of a value it carried (too long, out of
/// range, not valid text): SQLSTATE class 22, as PostgreSQL and MySQL report.
pub fn is_data_error(error: &sea_orm::DbErr) -> bool {
    use sea_orm::{DbErr, RuntimeErr};
    match error {
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => e
            .as_database_error()
            .and_then(|e| e.code())
            .is_some_and(|code| code.starts_with("22")),
        _ => false,
    }
}

/// The transaction lost a race with another one (a deadlock or a
/// serialization failure: SQLSTATE 40001 or 40P01) and may simply be run
/// again. Instances inserting the same message at once meet it on InnoDB.
pub fn is_lost_race(error: &sea_orm::DbErr) -> bool {
    use sea_orm::{DbErr, RuntimeErr};
    match error {
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => e
            .as_database_error()
            .and_then(|e| e.code())
            .is_some_and(|code| code == "40001" || code == "40P01"),
        _ => false,
    }
}

/// No connection could be had (the server is down or the pool exhausted).
pub fn is_unreachable(error: &sea_orm::DbErr) -> bool {
    use sea_orm::{DbErr, RuntimeErr};
    matches!(
        error,
        DbErr::ConnectionAcquire(_)
            | DbErr::Conn(_)
            | DbErr::Exec(RuntimeErr::SqlxError(
                sea_orm::sqlx::Error::Io(_)
                    | sea_orm::sqlx::Error::PoolTimedOut
                    | sea_orm::sqlx::Error::PoolClosed
            ))
            | DbErr::Query(RuntimeErr::SqlxError(
                sea_orm::sqlx::Error::Io(_)
                    | sea_orm::sqlx::Error::PoolTimedOut
                    | sea_orm::sqlx::Error::PoolClosed
            ))
    )
}

/// Now, at the millisecond precision every database keeps.
pub fn now() -> chrono::DateTime<chrono::Utc> {
    use chrono::SubsecRound;
    chrono::Utc::now().trunc_subsecs(3)
}

/// Applies the migrations not applied yet. Instances starting together
/// take turns: on MySQL and PostgreSQL one at a time holds a database lock
/// (on a connection kept aside for it) while it migrates, and the others
/// find the work done. SQLite's file is not shared between machines.
pub async fn migrate(db: &DatabaseConnection) -> anyhow::Result<()> {
    use sea_orm::TransactionTrait;
    let (take, give_back) = match db.get_database_backend() {
        DbBackend::Postgres => (
            "SELECT pg_advisory_lock(7705820261207)",
            "SELECT pg_advisory_unlock(7705820261207)",
        ),
        DbBackend::MySql => (
            "SELECT GET_LOCK('wxmp_migrate', 120)",
            "SELECT RELEASE_LOCK('wxmp_migrate')",
        ),
        DbBackend::Sqlite => ("", ""),
    };
    let holder = if take.is_empty() {
        None
    } else {
        let holder = db.begin().await?;
        holder.execute_unprepared(take).await?;
        Some(holder)
    };
    let migrated = Migrator::up(db, None)
        .await
        .map_err(|e| anyhow::anyhow!("database migration failed: {e}"));
    if let Some(holder) = holder {
        holder.execute_unprepared(give_back).await?;
        holder.commit().await?;
    }
    migrated
}

/// sqlx speaks `mysql://`; accept the `mariadb://` spelling too.
fn normalize_url(url: &str) -> String {
    match url.strip_prefix("mariadb://") {
        Some(rest) => format!("mysql://{rest}"),
        None => url.to_string(),
    }
}

fn sqlite_file(url: &str) -> Option<&str> {
    let rest = url.strip_prefix("sqlite:")?;
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let path = rest.split('?').next()?;
    (!path.is_empty() && path != ":memory:").then_some(path)
}

/// The URL without its password, for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let credentials = &url[scheme_end + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:****{}", &url[..scheme_end + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_paths_and_redaction() {
        assert_eq!(
            sqlite_file("sqlite://data/wxmp.db?mode=rwc"),
            Some("data/wxmp.db")
        );
        assert_eq!(sqlite_file("sqlite::memory:"), None);
        assert_eq!(
            redact("postgres://wx:secret@127.0.0.1/db"),
            "postgres://wx:****@127.0.0.1/db"
        );
        assert_eq!(normalize_url("mariadb://a@b/c"), "mysql://a@b/c");
    }
}
