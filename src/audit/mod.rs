//! The audit trail: every change made through the admin API — who made it,
//! from where, when, to which resource and id, and what changed — in the
//! `audit_log` table, with secrets masked. A change to a row and its audit
//! record commit in one transaction; an action on WeChat or WeChat Pay is
//! recorded once it succeeded. Listed by admins at `/wechat/audit_log/list`.

pub mod routes;
mod service;

pub use service::{record, record_action, Change};

use serde_json::{Map, Value};

/// Parameter names whose values are secrets wherever they appear in an
/// action's parameters.
const SECRET_FIELDS: &[&str] = &[
    "password",
    "old_password",
    "new_password",
    "app_secret",
    "token",
    "encoding_aes_key",
    "access_token",
    "pay_api_v3_key",
    "pay_private_key",
];

/// What a masked secret shows as in the trail.
const MASKED: &str = "****";
/// Longer text values are cut to this many characters: the trail says what
/// changed, it is not a copy of every article body.
const MAX_VALUE_CHARS: usize = 300;
/// Fields the server sets on every write; their changes say nothing.
const NOISE: [&str; 3] = ["id", "created_at", "updated_at"];

/// `value` as the trail shows it: secrets masked, long text cut.
fn shown(field: &str, value: &Value, secrets: &[&str]) -> Value {
    match value {
        Value::String(s) if secrets.contains(&field) && !s.is_empty() => MASKED.into(),
        Value::String(s) if s.chars().count() > MAX_VALUE_CHARS => {
            let head: String = s.chars().take(MAX_VALUE_CHARS).collect();
            format!("{head}… ({} characters)", s.chars().count()).into()
        }
        Value::Object(_) | Value::Array(_) if secrets.contains(&field) => MASKED.into(),
        Value::Object(fields) => Value::Object(
            fields
                .iter()
                .map(|(k, v)| (k.clone(), shown(k, v, secrets)))
                .collect(),
        ),
        Value::Array(items) => {
            Value::Array(items.iter().map(|v| shown(field, v, secrets)).collect())
        }
        other => other.clone(),
    }
}

fn is_blank(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        _ => false,
    }
}

/// The fields of a new row, as `{field: {to}}` (empty ones left out).
pub fn created(row: &Value, secrets: &[&str]) -> Value {
    one_side(row, secrets, "to")
}

/// The fields of a deleted row, as `{field: {from}}` (empty ones left out).
pub fn deleted(row: &Value, secrets: &[&str]) -> Value {
    one_side(row, secrets, "from")
}

fn one_side(row: &Value, secrets: &[&str], side: &str) -> Value {
    let mut changes = Map::new();
    for (field, value) in row.as_object().into_iter().flatten() {
        if !NOISE.contains(&field.as_str()) && !is_blank(value) {
            let mut change = Map::new();
            change.insert(side.into(), shown(field, value, secrets));
            changes.insert(field.clone(), Value::Object(change));
        }
    }
    Value::Object(changes)
}

/// The fields that differ between two versions of a row, as
/// `{field: {from, to}}`. A changed secret shows `****` on both sides: the
/// trail says that it changed, never what it was or became.
pub fn updated(before: &Value, after: &Value, secrets: &[&str]) -> Value {
    let empty = Map::new();
    let before = before.as_object().unwrap_or(&empty);
    let after = after.as_object().unwrap_or(&empty);
    let mut changes = Map::new();
    for (field, new) in after {
        let old = before.get(field).unwrap_or(&Value::Null);
        if NOISE.contains(&field.as_str()) || old == new || (is_blank(old) && is_blank(new)) {
            continue;
        }
        let mut change = Map::new();
        change.insert("from".into(), shown(field, old, secrets));
        change.insert("to".into(), shown(field, new, secrets));
        changes.insert(field.clone(), Value::Object(change));
    }
    Value::Object(changes)
}

/// An action's parameters as the trail shows them (secrets masked, long
/// text cut).
pub fn parameters(params: &Value, secrets: &[&str]) -> Value {
    shown("", params, secrets)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_edit_lists_only_changed_fields_and_masks_secrets_on_both_sides() {
        let before = json!({"id": "1", "name": "a", "app_secret": "old-secret", "same": 1, "note": null, "updated_at": "x"});
        let after = json!({"id": "1", "name": "b", "app_secret": "new-secret", "same": 1, "note": "", "updated_at": "y"});
        assert_eq!(
            updated(&before, &after, &["app_secret"]),
            json!({"name": {"from": "a", "to": "b"}, "app_secret": {"from": "****", "to": "****"}})
        );
    }

    #[test]
    fn creates_and_deletes_show_the_set_fields_and_cut_long_text() {
        let long = "字".repeat(MAX_VALUE_CHARS + 5);
        let row =
            json!({"id": "1", "title": long, "token": "abc123", "empty": "", "created_at": "t"});
        let shown = created(&row, &["token"]);
        assert_eq!(shown["token"], json!({"to": "****"}));
        assert!(shown.get("empty").is_none() && shown.get("id").is_none());
        let title = shown["title"]["to"].as_str().unwrap();
        assert!(title.ends_with(&format!("… ({} characters)", MAX_VALUE_CHARS + 5)));
        assert_eq!(deleted(&row, &["token"])["token"], json!({"from": "****"}));
    }

    #[test]
    fn nested_secrets_in_action_parameters_are_masked() {
        let params =
            json!({"account_id": "7", "pay": {"pay_api_v3_key": "k"}, "list": [{"password": "p"}]});
        assert_eq!(
            parameters(&params, &["pay_api_v3_key", "password"]),
            json!({"account_id": "7", "pay": {"pay_api_v3_key": "****"}, "list": [{"password": "****"}]})
        );
    }
}
