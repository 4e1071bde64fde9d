//! The conversations list: one row per fan and account, with its flags and
//! counts (see the module doc for what unread and unanswered mean), and the
//! read mark.

use std::collections::HashMap;

use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    Statement,
};
use serde::Serialize;

use crate::auth::CurrentAdmin;
use crate::entity::{conversations, messages, users};
use crate::error::AppError;
use crate::messages::service::SERVICE_WINDOW;

/// The handler name of default replies: a conversation they alone answered
/// is still unanswered.
pub const DEFAULT_REPLY: &str = "builtin:default";

/// Which conversations a list shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Filter {
    All,
    Unread,
    /// The fan's last message got no reply, or only the default reply.
    Unanswered,
}

impl Filter {
    pub fn parse(raw: Option<&str>) -> Result<Self, AppError> {
        match raw.unwrap_or("all") {
            "" | "all" => Ok(Self::All),
            "unread" => Ok(Self::Unread),
            "unanswered" => Ok(Self::Unanswered),
            _ => Err(AppError::field(
                "filter",
                "must be one of all, unread, unanswered",
            )),
        }
    }
}

/// Whose conversations: anyone's, nobody's, or one admin's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Assignee {
    Anyone,
    Nobody,
    Admin(i64),
}

/// What a list asks for.
pub struct ListQuery {
    /// `None`: every account the admin may see.
    pub account_id: Option<i64>,
    pub filter: Filter,
    pub assignee: Assignee,
    pub page: u64,
    pub page_size: u64,
}

/// How many conversations there are, are unread and are unanswered.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct Summary {
    pub conversations: i64,
    pub unread: i64,
    pub unanswered: i64,
}

/// One conversation as the list shows it.
#[derive(Debug, Serialize)]
pub struct Conversation {
    #[serde(with = "crate::ids::json_id")]
    pub account_id: i64,
    pub openid: String,
    pub fan: Option<users::Model>,
    pub last_message: Option<messages::Model>,
    pub message_count: i64,
    pub unread_count: i64,
    pub unread: bool,
    pub unanswered: bool,
    /// When the fan last wrote: the 48-hour window runs from then.
    pub last_fan_message_at: Option<chrono::DateTime<chrono::Utc>>,
    pub window_closes_at: Option<chrono::DateTime<chrono::Utc>>,
    pub window_open: bool,
    #[serde(with = "crate::ids::json_opt_id")]
    pub assigned_admin_id: Option<i64>,
    pub read_at: Option<chrono::DateTime<chrono::Utc>>,
    pub read_by: String,
}

// The grouped expressions, repeated where PostgreSQL does not accept an
// alias (HAVING). Ids are Snowflakes: a larger id is a later message.
const LAST_IN: &str = "MAX(CASE WHEN m.direction = 1 THEN m.id END)";
const UNREAD: &str =
    "COUNT(CASE WHEN m.direction = 1 AND m.id > COALESCE(c.last_read_id, 0) THEN 1 END)";

fn last_answer() -> String {
    format!("MAX(CASE WHEN m.direction = 0 AND m.answered_by <> '{DEFAULT_REPLY}' THEN m.id END)")
}

fn unanswered_condition() -> String {
    format!("{LAST_IN} > COALESCE({}, 0)", last_answer())
}

/// `FROM … WHERE … GROUP BY … HAVING` of the grouped conversations. Every
/// value in it is a number we parsed, so nothing is spliced from the request.
fn grouped(admin: &CurrentAdmin, query: &ListQuery) -> String {
    let mut conditions = vec!["m.msg_type <> 'event'".to_string()];
    match query.account_id {
        Some(id) => conditions.push(format!("m.account_id = {id}")),
        None if admin.is_admin() => {}
        None => {
            let ids: Vec<String> = admin.account_ids.iter().map(i64::to_string).collect();
            // An operator without accounts sees nothing.
            conditions.push(if ids.is_empty() {
                "1 = 0".into()
            } else {
                format!("m.account_id IN ({})", ids.join(", "))
            });
        }
    }
    match query.assignee {
        Assignee::Anyone => {}
        Assignee::Nobody => conditions.push("c.assigned_admin_id IS NULL".into()),
        Assignee::Admin(id) => conditions.push(format!("c.assigned_admin_id = {id}")),
    }
    format!(
        "FROM wx_messages m LEFT JOIN wx_conversations c \
         ON c.account_id = m.account_id AND c.openid = m.openid \
         WHERE {} GROUP BY m.account_id, m.openid HAVING {LAST_IN} IS NOT NULL",
        conditions.join(" AND ")
    )
}

/// A number column of a grouped row. Engines type the same expression
/// differently (PostgreSQL's `CASE … THEN 1` is an INTEGER, its `COUNT` a
/// BIGINT), so both widths are read.
fn int(row: &sea_orm::QueryResult, column: &str) -> Result<i64, AppError> {
    match row.try_get::<Option<i64>>("", column) {
        Ok(value) => Ok(value.unwrap_or(0)),
        Err(_) => Ok(row
            .try_get::<Option<i32>>("", column)?
            .map(i64::from)
            .unwrap_or(0)),
    }
}

/// How many conversations the query's accounts and assignee have, are
/// unread and are unanswered (the filter aside).
pub async fn summary(
    db: &DatabaseConnection,
    admin: &CurrentAdmin,
    query: &ListQuery,
) -> Result<Summary, AppError> {
    let sql = format!(
        "SELECT COUNT(*) AS conversations, \
         COUNT(CASE WHEN t.unread_count > 0 THEN 1 END) AS unread, \
         COUNT(CASE WHEN t.unanswered = 1 THEN 1 END) AS unanswered \
         FROM (SELECT {UNREAD} AS unread_count, \
         CASE WHEN {} THEN 1 ELSE 0 END AS unanswered {}) t",
        unanswered_condition(),
        grouped(admin, query)
    );
    let row = db
        .query_one(Statement::from_string(db.get_database_backend(), sql))
        .await?;
    let Some(row) = row else {
        return Ok(Summary::default());
    };
    Ok(Summary {
        conversations: int(&row, "conversations")?,
        unread: int(&row, "unread")?,
        unanswered: int(&row, "unanswered")?,
    })
}

/// One page of conversations, the latest first, and the summary.
pub async fn list(
    db: &DatabaseConnection,
    admin: &CurrentAdmin,
    query: &ListQuery,
) -> Result<(Vec<Conversation>, Summary), AppError> {
    let summary = summary(db, admin, query).await?;
    let having = match query.filter {
        Filter::All => String::new(),
        Filter::Unread => format!(" AND {UNREAD} > 0"),
        Filter::Unanswered => format!(" AND {}", unanswered_condition()),
    };
    let sql = format!(
        "SELECT m.account_id AS account_id, m.openid AS openid, MAX(m.id) AS last_id, \
         {LAST_IN} AS last_in_id, COUNT(*) AS message_count, {UNREAD} AS unread_count, \
         CASE WHEN {} THEN 1 ELSE 0 END AS unanswered \
         {}{having} ORDER BY last_id DESC LIMIT {} OFFSET {}",
        unanswered_condition(),
        grouped(admin, query),
        query.page_size,
        (query.page - 1) * query.page_size
    );
    let rows = db
        .query_all(Statement::from_string(db.get_database_backend(), sql))
        .await?;
    struct Grouped {
        account_id: i64,
        openid: String,
        last_id: i64,
        last_in_id: i64,
        message_count: i64,
        unread_count: i64,
        unanswered: bool,
    }
    let mut groups = Vec::with_capacity(rows.len());
    for row in &rows {
        groups.push(Grouped {
            account_id: int(row, "account_id")?,
            openid: row.try_get("", "openid")?,
            last_id: int(row, "last_id")?,
            last_in_id: int(row, "last_in_id")?,
            message_count: int(row, "message_count")?,
            unread_count: int(row, "unread_count")?,
            unanswered: int(row, "unanswered")? == 1,
        });
    }
    if groups.is_empty() {
        return Ok((Vec::new(), summary));
    }
    let message_ids: Vec<i64> = groups
        .iter()
        .flat_map(|g| [g.last_id, g.last_in_id])
        .collect();
    let by_id: HashMap<i64, messages::Model> = messages::Entity::find()
        .filter(messages::Column::Id.is_in(message_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|m| (m.id, m))
        .collect();
    let accounts: Vec<i64> = groups.iter().map(|g| g.account_id).collect();
    let openids: Vec<String> = groups.iter().map(|g| g.openid.clone()).collect();
    let mut fans: HashMap<(i64, String), users::Model> = users::Entity::find()
        .filter(users::Column::AccountId.is_in(accounts.clone()))
        .filter(users::Column::Openid.is_in(openids.clone()))
        .all(db)
        .await?
        .into_iter()
        .map(|f| ((f.account_id, f.openid.clone()), f))
        .collect();
    let mut marks: HashMap<(i64, String), conversations::Model> = conversations::Entity::find()
        .filter(conversations::Column::AccountId.is_in(accounts))
        .filter(conversations::Column::Openid.is_in(openids))
        .all(db)
        .await?
        .into_iter()
        .map(|c| ((c.account_id, c.openid.clone()), c))
        .collect();
    let now = chrono::Utc::now();
    let list = groups
        .into_iter()
        .map(|g| {
            let key = (g.account_id, g.openid.clone());
            let fan = fans.remove(&key);
            let mark = marks.remove(&key).unwrap_or_default();
            let last_fan_message_at = by_id.get(&g.last_in_id).map(|m| m.created_at);
            // The fan's bookkeeping counts events too (a menu click opens
            // the window as well); the fan's last message is the fallback.
            let interacted = fan
                .as_ref()
                .and_then(|f| f.last_interact_time)
                .max(last_fan_message_at);
            let window_closes_at = interacted.map(|at| at + SERVICE_WINDOW);
            Conversation {
                account_id: g.account_id,
                openid: g.openid,
                fan,
                last_message: by_id.get(&g.last_id).cloned(),
                message_count: g.message_count,
                unread_count: g.unread_count,
                unread: g.unread_count > 0,
                unanswered: g.unanswered,
                last_fan_message_at,
                window_open: window_closes_at.is_some_and(|closes| closes > now),
                window_closes_at,
                assigned_admin_id: mark.assigned_admin_id,
                read_at: mark.read_at,
                read_by: mark.read_by,
            }
        })
        .collect();
    Ok((list, summary))
}

/// What changes in a conversation's row: the read mark or the assignment.
pub enum MarkChange {
    Read { up_to: i64, by: String },
    Assign(Option<i64>),
}

/// Writes the read mark or the assignment, creating the row when the
/// conversation has none (an upsert, so two operators at once are fine).
/// A read mark only moves forward; returns it (none for an assignment).
pub async fn mark(
    db: &DatabaseConnection,
    ids: &crate::ids::IdGenerator,
    account_id: i64,
    openid: &str,
    change: MarkChange,
) -> Result<Option<i64>, AppError> {
    use sea_orm::ActiveValue::Set;
    let now = crate::db::now();
    let existing = conversations::Entity::find()
        .filter(conversations::Column::AccountId.eq(account_id))
        .filter(conversations::Column::Openid.eq(openid))
        .one(db)
        .await?;
    let mut row = conversations::ActiveModel {
        id: Set(ids.next_id()?),
        account_id: Set(account_id),
        openid: Set(openid.to_string()),
        last_read_id: Set(None),
        read_at: Set(None),
        read_by: Set(String::new()),
        assigned_admin_id: Set(None),
        assigned_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    };
    let mut read_mark = None;
    let columns = match change {
        MarkChange::Read { up_to, by } => {
            read_mark = Some(up_to);
            let before = existing.as_ref().and_then(|c| c.last_read_id).unwrap_or(0);
            if up_to <= before {
                return Ok(Some(before));
            }
            row.last_read_id = Set(Some(up_to));
            row.read_at = Set(Some(now));
            row.read_by = Set(by);
            vec![
                conversations::Column::LastReadId,
                conversations::Column::ReadAt,
                conversations::Column::ReadBy,
                conversations::Column::UpdatedAt,
            ]
        }
        MarkChange::Assign(admin_id) => {
            row.assigned_admin_id = Set(admin_id);
            row.assigned_at = Set(admin_id.map(|_| now));
            vec![
                conversations::Column::AssignedAdminId,
                conversations::Column::AssignedAt,
                conversations::Column::UpdatedAt,
            ]
        }
    };
    conversations::Entity::insert(row)
        .on_conflict(
            OnConflict::columns([
                conversations::Column::AccountId,
                conversations::Column::Openid,
            ])
            .update_columns(columns)
            .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(read_mark)
}

/// The newest message (id) of a conversation, none when there is none.
pub async fn newest_message(
    db: &DatabaseConnection,
    account_id: i64,
    openid: &str,
) -> Result<Option<i64>, AppError> {
    Ok(messages::Entity::find()
        .filter(messages::Column::AccountId.eq(account_id))
        .filter(messages::Column::Openid.eq(openid))
        .order_by_desc(messages::Column::Id)
        .one(db)
        .await?
        .map(|m| m.id))
}
