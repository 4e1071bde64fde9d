//! A plugin's state as admins see it: the live values (expired ones left
//! out) filtered by account, scope, fan and key prefix, listed a page at a
//! time or exported whole, and a key deleted.

use std::collections::HashMap;

use sea_orm::sea_query::{Expr, LikeExpr};
use sea_orm::{
    ColumnTrait, Condition, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect,
};
use serde_json::{json, Value};

use crate::entity::plugin_state::{Column, Entity, Model};
use crate::error::AppError;
use crate::state::AppState;

/// The most rows one export holds.
pub const MAX_EXPORT_ROWS: u64 = 100_000;

/// Which values of one plugin: `?plugin=&account_id=&scope=&openid=&key_prefix=`.
#[derive(Debug, Default)]
pub struct StateFilter {
    pub plugin: String,
    pub account_id: Option<i64>,
    /// `Some(false)`: account-wide values only; `Some(true)`: per-fan only.
    pub per_fan: Option<bool>,
    pub openid: Option<String>,
    pub key_prefix: Option<String>,
}

impl StateFilter {
    /// Reads the filter from query parameters; `plugin` names a loaded
    /// plugin or one that still has state.
    pub async fn from_params(
        state: &AppState,
        params: &HashMap<String, String>,
    ) -> Result<Self, AppError> {
        let given = |name: &str| params.get(name).map(|v| v.trim()).filter(|v| !v.is_empty());
        let plugin = given("plugin")
            .ok_or_else(|| AppError::field("plugin", "give the plugin whose state to show"))?
            .to_string();
        known_plugin(state, &plugin).await?;
        let account_id = given("account_id")
            .map(|raw| {
                raw.parse::<i64>().map_err(|_| {
                    AppError::field("account_id", format!("account_id={raw:?} is not an id"))
                })
            })
            .transpose()?;
        let per_fan = match given("scope") {
            None => None,
            Some("account") => Some(false),
            Some("fan") => Some(true),
            Some(other) => {
                return Err(AppError::field(
                    "scope",
                    format!("scope={other:?}: give account (account-wide values) or fan"),
                ))
            }
        };
        let openid = given("openid").map(str::to_string);
        if openid.is_some() && per_fan == Some(false) {
            return Err(AppError::field(
                "openid",
                "account-wide values belong to no fan: drop openid or use scope=fan",
            ));
        }
        Ok(Self {
            plugin,
            account_id,
            per_fan,
            openid,
            key_prefix: given("key_prefix").map(str::to_string),
        })
    }

    fn condition(&self) -> Condition {
        let now = crate::db::now();
        let mut condition = Condition::all()
            .add(Column::Plugin.eq(self.plugin.as_str()))
            // Placeholders of an update in flight hold NULL; expired values
            // read as missing until the sweep deletes them.
            .add(Column::Value.is_not_null())
            .add(
                Condition::any()
                    .add(Column::ExpiresAt.is_null())
                    .add(Column::ExpiresAt.gt(now)),
            );
        if let Some(account_id) = self.account_id {
            condition = condition.add(Column::AccountId.eq(account_id));
        }
        match self.per_fan {
            Some(true) => condition = condition.add(Column::Openid.ne("")),
            Some(false) => condition = condition.add(Column::Openid.eq("")),
            None => {}
        }
        if let Some(openid) = &self.openid {
            condition = condition.add(Column::Openid.eq(openid.as_str()));
        }
        if let Some(prefix) = &self.key_prefix {
            let escaped = prefix
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            condition = condition.add(
                Expr::col(Column::StateKey).like(LikeExpr::new(format!("{escaped}%")).escape('\\')),
            );
        }
        condition
    }

    fn query(&self) -> sea_orm::Select<Entity> {
        Entity::find()
            .filter(self.condition())
            .order_by_asc(Column::AccountId)
            .order_by_asc(Column::Openid)
            .order_by_asc(Column::StateKey)
    }
}

/// Refuses a name that is neither loaded nor found in the state table.
pub async fn known_plugin(state: &AppState, plugin: &str) -> Result<(), AppError> {
    if state.plugins.get(plugin).is_some() {
        return Ok(());
    }
    let stored = Entity::find()
        .filter(Column::Plugin.eq(plugin))
        .limit(1)
        .one(&state.db)
        .await?;
    match stored {
        Some(_) => Ok(()),
        None => Err(AppError::field(
            "plugin",
            format!("no plugin named {plugin:?} is loaded or has state"),
        )),
    }
}

/// One value as the API shows it.
pub fn row_json(row: &Model) -> Value {
    json!({
        "id": row.id.to_string(),
        "plugin": row.plugin,
        "account_id": row.account_id.to_string(),
        "scope": if row.openid.is_empty() { "account" } else { "fan" },
        "openid": row.openid,
        "key": row.state_key,
        "value": row.value,
        "expires_at": row.expires_at.map(|t| t.to_rfc3339()),
        "created_at": row.created_at.to_rfc3339(),
        "updated_at": row.updated_at.to_rfc3339(),
    })
}

/// One page of values and how many match in all.
pub async fn list(
    db: &DatabaseConnection,
    filter: &StateFilter,
    page: crate::http::listing::Page,
) -> Result<(Vec<Model>, u64), sea_orm::DbErr> {
    let paginator = filter.query().paginate(db, page.page_size);
    let total = paginator.num_items().await?;
    let rows = paginator.fetch_page(page.page - 1).await?;
    Ok((rows, total))
}

/// Every matching value, at most [`MAX_EXPORT_ROWS`].
pub async fn export(
    db: &DatabaseConnection,
    filter: &StateFilter,
) -> Result<Vec<Model>, sea_orm::DbErr> {
    filter.query().limit(MAX_EXPORT_ROWS).all(db).await
}

/// The rows as CSV (RFC 4180: every field quoted, values as JSON text).
pub fn to_csv(rows: &[Model]) -> String {
    let quote = |field: &str| format!("\"{}\"", field.replace('"', "\"\""));
    let mut out =
        String::from("plugin,account_id,scope,openid,key,value,expires_at,updated_at\r\n");
    for row in rows {
        let fields = [
            row.plugin.clone(),
            row.account_id.to_string(),
            if row.openid.is_empty() {
                "account"
            } else {
                "fan"
            }
            .to_string(),
            row.openid.clone(),
            row.state_key.clone(),
            row.value.as_ref().map(Value::to_string).unwrap_or_default(),
            row.expires_at.map(|t| t.to_rfc3339()).unwrap_or_default(),
            row.updated_at.to_rfc3339(),
        ];
        let line: Vec<String> = fields.iter().map(|f| quote(f)).collect();
        out.push_str(&line.join(","));
        out.push_str("\r\n");
    }
    out
}

/// Deletes one value; the row it deleted, if it held a live value (an
/// expired one is deleted too, but it was already missing).
pub async fn delete(
    db: &impl sea_orm::ConnectionTrait,
    plugin: &str,
    account_id: i64,
    openid: &str,
    key: &str,
) -> Result<Option<Model>, sea_orm::DbErr> {
    let found = Entity::find()
        .filter(Column::Plugin.eq(plugin))
        .filter(Column::AccountId.eq(account_id))
        .filter(Column::Openid.eq(openid))
        .filter(Column::StateKey.eq(key))
        .one(db)
        .await?;
    let Some(row) = found else {
        return Ok(None);
    };
    Entity::delete_by_id(row.id).exec(db).await?;
    let live = super::state::live_value(&row, crate::db::now()).is_some();
    Ok(live.then_some(row))
}
