//! Per-account plugin settings: a plugin declares them in `PLUGIN.settings`
//! (name, type, default, description), admins set values per account
//! (`settings_routes`), and the script reads them with `settings()` — the
//! account's value, else the default. Values are checked against the
//! declared type when they are set; a stored value that no longer fits
//! (the plugin changed the type) reads as the default.

use std::collections::HashMap;
use std::sync::Arc;

use rhai::{Array, Dynamic, Map};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    IntoActiveModel, QueryFilter,
};
use serde_json::{json, Value};

use crate::entity::plugin_config;
use crate::ids::IdGenerator;

/// The types a setting may have.
pub const SETTING_TYPES: &[&str] = &["string", "int", "float", "bool"];
/// The keys of one declared setting.
pub const SETTING_KEYS: &[&str] = &["name", "type", "default", "description"];
/// Settings one plugin may declare.
pub const MAX_SETTINGS: usize = 50;
/// The longest string value, in characters.
pub const MAX_STRING_CHARS: usize = 4096;

/// One declared setting.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Setting {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub default: Value,
    pub description: String,
}

/// Reads `PLUGIN.settings` (a list of maps); the error names the setting.
pub fn declared(value: Option<&Dynamic>) -> Result<Vec<Setting>, String> {
    let Some(value) = value else {
        return Ok(Vec::new());
    };
    let shape = "PLUGIN.settings is a list of #{ name: \"…\", type: \"string\" | \"int\" | \
                 \"float\" | \"bool\", default: …, description: \"…\" }";
    let items = value.clone().try_cast::<Array>().ok_or(shape)?;
    if items.len() > MAX_SETTINGS {
        return Err(format!("PLUGIN.settings: at most {MAX_SETTINGS} settings"));
    }
    let mut settings: Vec<Setting> = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        let map = item.try_cast::<Map>().ok_or(shape)?;
        let text = |key: &str| map.get(key).map(super::engine::text_of);
        let name = text("name").unwrap_or_default();
        let at = if name.is_empty() {
            format!("PLUGIN.settings[{i}]")
        } else {
            format!("PLUGIN.settings {name:?}")
        };
        if let Some(unknown) = map.keys().find(|k| !SETTING_KEYS.contains(&k.as_str())) {
            return Err(format!(
                "{at}: no key {unknown:?}; a setting has {}",
                SETTING_KEYS.join(", ")
            ));
        }
        if name.is_empty()
            || name.len() > 64
            || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return Err(format!(
                "{at}: a setting's name is 1–64 letters, digits or '_'"
            ));
        }
        if settings.iter().any(|s| s.name == name) {
            return Err(format!("{at} is declared twice"));
        }
        let kind = text("type").unwrap_or_default();
        if !SETTING_TYPES.contains(&kind.as_str()) {
            return Err(format!(
                "{at}: type {kind:?} is not one of {}",
                SETTING_TYPES.join(", ")
            ));
        }
        let Some(default) = map.get("default") else {
            return Err(format!("{at}: give a default"));
        };
        let default: Value =
            rhai::serde::from_dynamic(default).map_err(|e| format!("{at}: {e}"))?;
        let default = check(&kind, &default).map_err(|why| format!("{at}: the default {why}"))?;
        settings.push(Setting {
            name,
            kind,
            default,
            description: text("description").unwrap_or_default(),
        });
    }
    Ok(settings)
}

/// `value` as a setting of type `kind`, or why it is not one.
pub fn check(kind: &str, value: &Value) -> Result<Value, String> {
    let fits = match (kind, value) {
        ("string", Value::String(s)) => {
            if s.chars().count() > MAX_STRING_CHARS || crate::text::has_nul(s) {
                return Err(format!(
                    "is at most {MAX_STRING_CHARS} characters, without NUL"
                ));
            }
            true
        }
        ("int", Value::Number(n)) => n.is_i64(),
        ("float", Value::Number(n)) => n.as_f64().is_some_and(f64::is_finite),
        ("bool", Value::Bool(_)) => true,
        _ => false,
    };
    if !fits {
        let expected = match kind {
            "string" => "a string",
            "int" => "a whole number",
            "float" => "a number",
            _ => "true or false",
        };
        return Err(format!("must be {expected}, not {}", json_kind(value)));
    }
    Ok(match (kind, value) {
        ("float", Value::Number(n)) => json!(n.as_f64().unwrap_or_default()),
        _ => value.clone(),
    })
}

fn json_kind(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) if n.is_i64() || n.is_u64() => format!("the whole number {n}"),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) => format!("the string {:?}", s.chars().take(40).collect::<String>()),
        Value::Array(_) => "a list".into(),
        Value::Object(_) => "an object".into(),
    }
}

/// The values a script sees: each declared setting's stored value when it
/// still fits its type, else its default.
pub fn effective(
    declared: &[Setting],
    stored: &HashMap<String, Value>,
) -> serde_json::Map<String, Value> {
    declared
        .iter()
        .map(|setting| {
            let value = stored
                .get(&setting.name)
                .and_then(|v| check(&setting.kind, v).ok())
                .unwrap_or_else(|| setting.default.clone());
            (setting.name.clone(), value)
        })
        .collect()
}

/// The settings as a Rhai map, for `settings()`.
pub fn to_map(values: &serde_json::Map<String, Value>) -> Map {
    values
        .iter()
        .map(|(k, v)| {
            let value = rhai::serde::to_dynamic(v).unwrap_or(Dynamic::UNIT);
            (k.as_str().into(), value)
        })
        .collect()
}

/// Where the settings' values are kept: the database, or (for plugin test
/// files) fixed values.
pub struct SettingsStore {
    db: Option<DatabaseConnection>,
    fixed: HashMap<String, Value>,
}

impl SettingsStore {
    pub fn new(db: DatabaseConnection) -> Arc<Self> {
        Arc::new(Self {
            db: Some(db),
            fixed: HashMap::new(),
        })
    }

    /// The same values for every account, without a database.
    pub fn fixed(values: HashMap<String, Value>) -> Arc<Self> {
        Arc::new(Self {
            db: None,
            fixed: values,
        })
    }

    pub async fn stored(
        &self,
        plugin: &str,
        account_id: i64,
    ) -> Result<HashMap<String, Value>, sea_orm::DbErr> {
        match &self.db {
            Some(db) => stored(db, plugin, account_id).await,
            None => Ok(self.fixed.clone()),
        }
    }
}

/// The values stored for `plugin` in `account_id`, by setting.
pub async fn stored(
    db: &impl ConnectionTrait,
    plugin: &str,
    account_id: i64,
) -> Result<HashMap<String, Value>, sea_orm::DbErr> {
    Ok(plugin_config::Entity::find()
        .filter(plugin_config::Column::Plugin.eq(plugin))
        .filter(plugin_config::Column::AccountId.eq(account_id))
        .all(db)
        .await?
        .into_iter()
        .filter_map(|row| row.value.map(|v| (row.setting, v)))
        .collect())
}

/// Saves checked values (`None`: back to the default) in one go.
pub async fn save(
    db: &impl ConnectionTrait,
    ids: &IdGenerator,
    plugin: &str,
    account_id: i64,
    values: Vec<(String, Option<Value>)>,
) -> Result<(), crate::error::AppError> {
    let now = crate::db::now();
    for (setting, value) in values {
        let Some(value) = value else {
            plugin_config::Entity::delete_many()
                .filter(plugin_config::Column::Plugin.eq(plugin))
                .filter(plugin_config::Column::AccountId.eq(account_id))
                .filter(plugin_config::Column::Setting.eq(&setting))
                .exec(db)
                .await?;
            continue;
        };
        let row = plugin_config::Model {
            id: ids.next_id()?,
            plugin: plugin.to_string(),
            account_id,
            setting,
            value: Some(value),
            created_at: now,
            updated_at: now,
        };
        plugin_config::Entity::insert(row.into_active_model().reset_all())
            .on_conflict(
                OnConflict::columns([
                    plugin_config::Column::Plugin,
                    plugin_config::Column::AccountId,
                    plugin_config::Column::Setting,
                ])
                .update_columns([
                    plugin_config::Column::Value,
                    plugin_config::Column::UpdatedAt,
                ])
                .to_owned(),
            )
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}
