//! The menu editor's tree, read and saved whole: every button of an account
//! in order (`sort_order` is the position among its siblings), and on click
//! buttons the reply set right there, as WeChat's console does (发送消息).
//!
//! A click is answered by one path only: the keyword rules (`builtin:keyword`
//! matches a click by its key). So a button's reply *is* a keyword rule with
//! exact match whose keyword is exactly the button's key; saving the tree
//! writes the buttons and those rules in one transaction, so the menu and its
//! replies never disagree, and reading the tree shows each click button the
//! reply of the rule that exactly matches its key.

use std::collections::{BTreeMap, HashMap, HashSet};

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    IntoActiveModel, QueryFilter, QueryOrder, TransactionTrait,
};
use serde::{Deserialize, Deserializer};
use serde_json::{json, Value};

use super::rules::button_errors;
use crate::auth::CurrentAdmin;
use crate::entity::auto_replies::{self, RuleReply};
use crate::entity::enums::{MatchType, ReplyType};
use crate::entity::menus;
use crate::error::{AppError, FieldErrors};
use crate::ids::IdGenerator;

/// WeChat's limits: top-level buttons, and sub-buttons under each.
pub const MAX_TOP: usize = 3;
pub const MAX_SUB: usize = 5;

/// `POST /wechat/wxmenus/save_tree`: the whole menu of an account.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TreeRequest {
    #[serde(with = "crate::ids::json_id")]
    pub account_id: i64,
    pub buttons: Vec<ButtonIn>,
}

/// One button as the editor sends it; `id` absent for a new one.
#[derive(Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct ButtonIn {
    #[serde(with = "crate::ids::json_opt_id")]
    pub id: Option<i64>,
    pub menu_name: String,
    pub menu_type: String,
    pub menu_key: String,
    pub url: String,
    pub media_id: String,
    pub article_id: String,
    pub appid: String,
    pub pagepath: String,
    /// Click buttons only. Absent: the rule of the key (if any) is left as
    /// it is; `null`: the button has no reply; an object: its reply.
    #[serde(deserialize_with = "present")]
    pub reply: Option<Option<RuleReply>>,
    pub sub_button: Vec<ButtonIn>,
}

/// `null` read as `Some(None)`, so that it differs from an absent field.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

/// `rule` with `reply` as its first reply, enabled: a reply set on a button answers.
fn answering(reply: &RuleReply, mut rule: auto_replies::Model) -> auto_replies::Model {
    rule.set_first_reply(reply);
    rule.status = 1;
    rule
}

/// The account's keyword rules with exact match and one keyword, by keyword;
/// each list in the order the callback tries them (enabled first, then by
/// priority, then oldest).
async fn exact_rules(
    db: &impl ConnectionTrait,
    account_id: i64,
) -> Result<HashMap<String, Vec<auto_replies::Model>>, AppError> {
    let rows = auto_replies::Entity::find()
        .filter(auto_replies::Column::AccountId.eq(account_id))
        .filter(auto_replies::Column::ReplyType.eq(ReplyType::Keyword))
        .filter(auto_replies::Column::MatchType.eq(MatchType::Exact))
        .order_by_desc(auto_replies::Column::Status)
        .order_by_desc(auto_replies::Column::Priority)
        .order_by_asc(auto_replies::Column::Id)
        .all(db)
        .await?;
    let mut by_key: HashMap<String, Vec<auto_replies::Model>> = HashMap::new();
    for row in rows {
        let keyword = row.keyword.trim();
        if !keyword.is_empty() && !keyword.contains('\n') {
            by_key.entry(keyword.to_string()).or_default().push(row);
        }
    }
    Ok(by_key)
}

/// A click button that answers: no sub-buttons, type click.
fn is_click(row: &menus::Model, has_subs: bool) -> bool {
    !has_subs && row.menu_type == "click"
}

/// The account's menu as the editor shows it: `{"buttons": [{…row,
/// "reply", "reply_rule_id", "sub_button": […]}]}`, in order.
pub async fn read(db: &DatabaseConnection, account_id: i64) -> Result<Value, AppError> {
    let rows = menus::Entity::find()
        .filter(menus::Column::AccountId.eq(account_id))
        .order_by_asc(menus::Column::SortOrder)
        .order_by_asc(menus::Column::Id)
        .all(db)
        .await?;
    let rules = exact_rules(db, account_id).await?;
    let shown = |row: &menus::Model, subs: Vec<Value>| -> Result<Value, AppError> {
        let mut value = serde_json::to_value(row).map_err(AppError::internal)?;
        if is_click(row, !subs.is_empty()) {
            let rule = rules.get(row.menu_key.trim()).and_then(|r| r.first());
            value["reply"] = json!(rule.map(auto_replies::Model::first_reply));
            value["reply_rule_id"] = json!(rule.map(|r| r.id.to_string()));
        }
        value["sub_button"] = json!(subs);
        Ok(value)
    };
    let mut buttons = Vec::new();
    for top in rows.iter().filter(|r| r.parent_id == 0) {
        let subs = rows
            .iter()
            .filter(|r| r.parent_id == top.id)
            .map(|sub| shown(sub, Vec::new()))
            .collect::<Result<Vec<_>, _>>()?;
        buttons.push(shown(top, subs)?);
    }
    Ok(json!({ "buttons": buttons }))
}

/// A button checked and placed: its row, where its errors go, its reply.
struct Placed {
    row: menus::Model,
    path: String,
    reply: Option<Option<RuleReply>>,
}

/// Turns the request into rows (ids kept, new ones given), or every field
/// error, keyed by the button's path (`buttons[0].sub_button[1].menu_key`).
fn place(
    buttons: Vec<ButtonIn>,
    account_id: i64,
    existing: &HashMap<i64, menus::Model>,
    ids: &IdGenerator,
) -> Result<Vec<Placed>, AppError> {
    let mut errors = FieldErrors::new();
    let mut placed = Vec::new();
    let mut seen = HashSet::new();
    let now = crate::db::now();
    if buttons.len() > MAX_TOP {
        errors.insert(
            "buttons".into(),
            format!(
                "WeChat allows {MAX_TOP} top-level buttons, not {}",
                buttons.len()
            ),
        );
    }
    let mut place_one = |button: ButtonIn,
                         path: String,
                         parent_id: i64,
                         order: usize,
                         errors: &mut FieldErrors|
     -> Result<(i64, Vec<ButtonIn>), AppError> {
        let id = match button.id {
            Some(id) if !existing.contains_key(&id) => {
                errors.insert(
                    format!("{path}.id"),
                    format!("no menu button of this account has id {id}"),
                );
                id
            }
            Some(id) if !seen.insert(id) => {
                errors.insert(format!("{path}.id"), "is in the menu twice".into());
                id
            }
            Some(id) => id,
            None => ids.next_id()?,
        };
        let has_subs = !button.sub_button.is_empty();
        // A group opens its sub-buttons: it has no action of its own.
        let action = |value: String| if has_subs { String::new() } else { value };
        let created_at = existing.get(&id).map_or(now, |row| row.created_at);
        let mut row = menus::Model {
            id,
            account_id,
            parent_id,
            menu_name: button.menu_name,
            menu_type: action(button.menu_type),
            menu_key: action(button.menu_key.trim().to_string()),
            url: action(button.url),
            media_id: action(button.media_id),
            article_id: action(button.article_id),
            appid: action(button.appid),
            pagepath: action(button.pagepath),
            sort_order: i32::try_from(order).unwrap_or(i32::MAX),
            created_at,
            updated_at: now,
        };
        let click = is_click(&row, has_subs);
        let reply = match button.reply {
            Some(Some(_)) if !click => {
                errors.insert(format!("{path}.reply"), "is only for click buttons".into());
                None
            }
            Some(Some(reply)) => {
                // A button that answers needs a key to be answered by: one is made up.
                if row.menu_key.is_empty() {
                    row.menu_key = format!("menu_{}", ids.next_id()?);
                }
                let mut reply_errors = FieldErrors::new();
                let rule = answering(&reply, auto_replies::Model::default());
                crate::callback::rule_check::reply_errors(&rule, &mut reply_errors);
                for (field, reason) in reply_errors {
                    errors.insert(format!("{path}.reply.{field}"), reason);
                }
                Some(Some(reply))
            }
            other if click => other,
            _ => None,
        };
        let mut row_errors = FieldErrors::new();
        button_errors(&row, &mut row_errors);
        for (field, reason) in row_errors {
            errors.insert(format!("{path}.{field}"), reason);
        }
        placed.push(Placed { row, path, reply });
        Ok((id, button.sub_button))
    };
    for (i, top) in buttons.into_iter().enumerate() {
        let path = format!("buttons[{i}]");
        let (parent_id, subs) = place_one(top, path.clone(), 0, i, &mut errors)?;
        if subs.len() > MAX_SUB {
            errors.insert(
                format!("{path}.sub_button"),
                format!(
                    "WeChat allows {MAX_SUB} sub-buttons under a button, not {}",
                    subs.len()
                ),
            );
        }
        for (j, sub) in subs.into_iter().enumerate() {
            let sub_path = format!("{path}.sub_button[{j}]");
            let (_, nested) = place_one(sub, sub_path.clone(), parent_id, j, &mut errors)?;
            if !nested.is_empty() {
                errors.insert(
                    format!("{sub_path}.sub_button"),
                    "must be empty: menus have two levels".into(),
                );
            }
        }
    }
    // One key, one rule: two buttons with a key must not ask for different replies.
    let mut replies: BTreeMap<&str, &Option<RuleReply>> = BTreeMap::new();
    for button in &placed {
        if let Some(reply) = &button.reply {
            match replies.get(button.row.menu_key.as_str()) {
                Some(other) if *other != reply => {
                    errors.insert(
                        format!("{}.reply", button.path),
                        "differs from the reply of another button with the same key".into(),
                    );
                }
                _ => {
                    replies.insert(&button.row.menu_key, reply);
                }
            }
        }
    }
    if errors.is_empty() {
        Ok(placed)
    } else {
        Err(AppError::Validation(errors))
    }
}

/// What a save did, for the audit trail and the callback cache.
pub struct Saved {
    /// Whether a reply rule was written: the account's cached rules are stale.
    pub rules_changed: bool,
    pub buttons: usize,
}

/// Replaces the account's menu with `buttons` and writes the replies of its
/// click buttons, in one transaction with its audit record.
///
/// A reply set on a button creates the exact keyword rule of its key, or
/// updates the one there is. A reply removed in the editor (`null`) deletes
/// the exact single-keyword rule of that key, whoever made it: the simplest
/// rule, and what the editor shows (the reply is that rule). Rules that
/// match the key another way (several keywords, contains, regex) are never
/// touched; nor are rules of buttons that are deleted or whose key changes.
pub async fn save(
    db: &DatabaseConnection,
    ids: &IdGenerator,
    who: &CurrentAdmin,
    account_id: i64,
    buttons: Vec<ButtonIn>,
) -> Result<Saved, AppError> {
    let existing: HashMap<i64, menus::Model> = menus::Entity::find()
        .filter(menus::Column::AccountId.eq(account_id))
        .all(db)
        .await?
        .into_iter()
        .map(|row| (row.id, row))
        .collect();
    let placed = place(buttons, account_id, &existing, ids)?;
    let keep: Vec<i64> = placed.iter().map(|b| b.row.id).collect();

    let txn = db.begin().await?;
    menus::Entity::delete_many()
        .filter(menus::Column::AccountId.eq(account_id))
        .filter(menus::Column::Id.is_not_in(keep))
        .exec(&txn)
        .await?;
    // Top-level buttons come first, so sub-buttons follow their parents.
    for button in &placed {
        let row = button.row.clone();
        match existing.get(&row.id) {
            Some(before) if same_button(before, &row) => {}
            Some(_) => {
                row.into_active_model().reset_all().update(&txn).await?;
            }
            None => {
                menus::Entity::insert(row.into_active_model().reset_all())
                    .exec_without_returning(&txn)
                    .await?;
            }
        }
    }

    let mut rules = exact_rules(&txn, account_id).await?;
    let mut written = Vec::new();
    let mut done = HashSet::new();
    for button in &placed {
        let key = button.row.menu_key.as_str();
        let Some(reply) = &button.reply else { continue };
        if !done.insert(key) {
            continue;
        }
        let found = rules.remove(key).unwrap_or_default();
        match (reply, found.first()) {
            (Some(reply), Some(rule)) => {
                let updated = answering(reply, rule.clone());
                if &updated != rule {
                    let mut updated = updated;
                    updated.updated_at = crate::db::now();
                    updated.into_active_model().reset_all().update(&txn).await?;
                    written.push(
                        json!({ "key": key, "rule_id": rule.id.to_string(), "action": "update" }),
                    );
                }
            }
            (Some(reply), None) => {
                let now = crate::db::now();
                let rule = answering(
                    reply,
                    auto_replies::Model {
                        id: ids.next_id()?,
                        account_id,
                        reply_type: ReplyType::Keyword.code(),
                        match_type: MatchType::Exact.code(),
                        keyword: key.to_string(),
                        created_at: now,
                        updated_at: now,
                        ..Default::default()
                    },
                );
                written.push(
                    json!({ "key": key, "rule_id": rule.id.to_string(), "action": "create" }),
                );
                auto_replies::Entity::insert(rule.into_active_model().reset_all())
                    .exec_without_returning(&txn)
                    .await?;
            }
            (None, _) => {
                for rule in &found {
                    written.push(
                        json!({ "key": key, "rule_id": rule.id.to_string(), "action": "delete" }),
                    );
                }
                if !found.is_empty() {
                    auto_replies::Entity::delete_many()
                        .filter(auto_replies::Column::Id.is_in(found.iter().map(|r| r.id)))
                        .exec(&txn)
                        .await?;
                }
            }
        }
    }
    let rules_changed = !written.is_empty();
    let change = crate::audit::Change::action(
        "save_menu",
        "menu",
        account_id,
        json!({ "buttons": placed.len(), "replies": written }),
    );
    crate::audit::record(&txn, ids, who, change).await?;
    if rules_changed {
        // Other instances drop their cached rules when this commits.
        crate::db::epoch::bump(&txn, crate::db::epoch::CONFIG).await?;
    }
    txn.commit().await?;
    Ok(Saved {
        rules_changed,
        buttons: placed.len(),
    })
}

/// Whether two rows are the same button in the same place.
fn same_button(a: &menus::Model, b: &menus::Model) -> bool {
    menus::Model {
        updated_at: b.updated_at,
        ..a.clone()
    } == *b
}
