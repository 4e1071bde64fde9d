//! WeChat's rules for a custom menu (three top buttons, five sub-buttons,
//! byte limits, the fields each button type needs), and the menu as WeChat's
//! JSON (to publish it, and read back from WeChat). Used to refuse a bad menu
//! before it is stored and before it is published.

use serde_json::{json, Value};

use crate::entity::menus;
use crate::error::check::{max_bytes, required, url};
use crate::error::FieldErrors;
use crate::ids::{IdError, IdGenerator};

/// Checks a stored menu tree against WeChat's rules; returns it as WeChat's
/// `{"button": […]}`, or every problem found.
pub fn menu_json(rows: &[menus::Model]) -> Result<Value, Vec<String>> {
    let mut problems = Vec::new();
    let mut tops: Vec<&menus::Model> = rows.iter().filter(|m| m.parent_id == 0).collect();
    tops.sort_by_key(|m| (m.sort_order, m.id));
    if tops.is_empty() {
        problems.push("the menu is empty: add at least one button".to_string());
    }
    if tops.len() > 3 {
        problems.push(format!("{} top-level buttons; WeChat allows 3", tops.len()));
    }
    let mut buttons = Vec::new();
    for top in tops {
        let mut children: Vec<&menus::Model> =
            rows.iter().filter(|m| m.parent_id == top.id).collect();
        children.sort_by_key(|m| (m.sort_order, m.id));
        if top.menu_name.len() > 16 {
            problems.push(format!(
                "{:?}: a top-level name is at most 16 bytes",
                top.menu_name
            ));
        }
        if children.len() > 5 {
            problems.push(format!(
                "{:?} has {} sub-buttons; WeChat allows 5",
                top.menu_name,
                children.len()
            ));
        }
        if children.is_empty() {
            buttons.push(button_json(top, &mut problems));
        } else {
            let subs: Vec<Value> = children
                .iter()
                .map(|child| {
                    if child.menu_name.len() > 60 {
                        problems.push(format!(
                            "{:?}: a sub-button name is at most 60 bytes",
                            child.menu_name
                        ));
                    }
                    button_json(child, &mut problems)
                })
                .collect();
            buttons.push(json!({ "name": top.menu_name, "sub_button": subs }));
        }
    }
    if problems.is_empty() {
        Ok(json!({ "button": buttons }))
    } else {
        Err(problems)
    }
}

/// The menu as WeChat's `{"button": […]}` whether or not it keeps WeChat's
/// rules (a draft being edited, a menu read back): as published when it does,
/// else each button with its name, type and non-empty fields. Two menus with
/// the same buttons give the same JSON.
pub fn menu_json_of(rows: &[menus::Model]) -> Value {
    if let Ok(menu) = menu_json(rows) {
        return menu;
    }
    let plain = |m: &menus::Model| {
        let mut button = serde_json::Map::new();
        button.insert("name".into(), json!(m.menu_name));
        for (key, value) in [
            ("type", &m.menu_type),
            ("key", &m.menu_key),
            ("url", &m.url),
            ("media_id", &m.media_id),
            ("article_id", &m.article_id),
            ("appid", &m.appid),
            ("pagepath", &m.pagepath),
        ] {
            if !value.is_empty() {
                button.insert(key.into(), json!(value));
            }
        }
        button
    };
    let mut tops: Vec<&menus::Model> = rows.iter().filter(|m| m.parent_id == 0).collect();
    tops.sort_by_key(|m| (m.sort_order, m.id));
    let buttons: Vec<Value> = tops
        .into_iter()
        .map(|top| {
            let mut subs: Vec<&menus::Model> =
                rows.iter().filter(|m| m.parent_id == top.id).collect();
            subs.sort_by_key(|m| (m.sort_order, m.id));
            if subs.is_empty() {
                Value::Object(plain(top))
            } else {
                let subs: Vec<Value> = subs.into_iter().map(|s| Value::Object(plain(s))).collect();
                json!({ "name": top.menu_name, "sub_button": subs })
            }
        })
        .collect();
    json!({ "button": buttons })
}

/// The button types WeChat knows.
pub const MENU_TYPES: [&str; 12] = [
    "click",
    "view",
    "scancode_push",
    "scancode_waitmsg",
    "pic_sysphoto",
    "pic_photo_or_album",
    "pic_weixin",
    "location_select",
    "media_id",
    "article_id",
    "article_view_limited",
    "miniprogram",
];

/// A field a button type needs.
pub struct Need {
    /// Column of `wx_menus`.
    pub column: &'static str,
    /// Key in WeChat's JSON.
    pub key: &'static str,
    /// For messages: "needs a key".
    pub what: &'static str,
    /// Byte limit.
    pub limit: usize,
}

const fn need(column: &'static str, key: &'static str, what: &'static str, limit: usize) -> Need {
    Need {
        column,
        key,
        what,
        limit,
    }
}

/// The fields a button of `menu_type` needs; `None` for a type WeChat does not know.
pub fn needs(menu_type: &str) -> Option<&'static [Need]> {
    const KEY: &[Need] = &[need("menu_key", "key", "a key", 128)];
    const URL: &[Need] = &[need("url", "url", "a url", 1024)];
    const MEDIA: &[Need] = &[need("media_id", "media_id", "a media_id", 255)];
    const ARTICLE: &[Need] = &[need("article_id", "article_id", "an article_id", 255)];
    // Old clients open the url instead of the mini program.
    const MINIPROGRAM: &[Need] = &[
        need("appid", "appid", "an appid", 64),
        need("pagepath", "pagepath", "a pagepath", 1024),
        need("url", "url", "a fallback url", 1024),
    ];
    Some(match menu_type {
        "click" | "scancode_push" | "scancode_waitmsg" | "pic_sysphoto" | "pic_photo_or_album"
        | "pic_weixin" | "location_select" => KEY,
        "view" => URL,
        "media_id" => MEDIA,
        "article_id" | "article_view_limited" => ARTICLE,
        "miniprogram" => MINIPROGRAM,
        _ => return None,
    })
}

/// The field checks of one button row (its own fields; the tree it sits in
/// is checked by whoever writes it).
pub fn button_errors(m: &menus::Model, errors: &mut FieldErrors) {
    required(errors, "menu_name", &m.menu_name);
    let name_limit = if m.parent_id == 0 { 16 } else { 60 };
    max_bytes(errors, "menu_name", &m.menu_name, name_limit);
    // A top-level button with sub-buttons has no type of its own.
    if !m.menu_type.is_empty() && !MENU_TYPES.contains(&m.menu_type.as_str()) {
        errors.insert(
            "menu_type".into(),
            format!("must be empty (a parent) or one of {MENU_TYPES:?}"),
        );
    }
    if m.menu_type.is_empty() && m.parent_id != 0 {
        errors.insert("menu_type".into(), "is required for a sub-button".into());
    }
    for need in needs(&m.menu_type).unwrap_or_default() {
        required(errors, need.column, value(m, need.column));
    }
    max_bytes(errors, "menu_key", &m.menu_key, 128);
    url(errors, "url", &m.url);
    max_bytes(errors, "pagepath", &m.pagepath, 1024);
}

/// The value of a button's column named in a [`Need`].
pub fn value<'a>(button: &'a menus::Model, column: &str) -> &'a str {
    match column {
        "menu_key" => &button.menu_key,
        "url" => &button.url,
        "media_id" => &button.media_id,
        "article_id" => &button.article_id,
        "appid" => &button.appid,
        "pagepath" => &button.pagepath,
        _ => "",
    }
}

fn button_json(button: &menus::Model, problems: &mut Vec<String>) -> Value {
    let name = &button.menu_name;
    let kind = button.menu_type.as_str();
    let Some(needs) = needs(kind) else {
        if kind.is_empty() {
            problems.push(format!("{name:?} has no type and no sub-buttons"));
        } else {
            problems.push(format!("{name:?}: unknown type {kind:?}"));
        }
        return json!({ "name": name });
    };
    let mut json = json!({ "type": kind, "name": name });
    for need in needs {
        let value = value(button, need.column);
        if value.is_empty() {
            problems.push(format!("{name:?} ({kind}) needs {}", need.what));
        } else if value.len() > need.limit {
            problems.push(format!(
                "{name:?}: {} is at most {} bytes",
                need.key, need.limit
            ));
        }
        json[need.key] = json!(value);
    }
    json
}

/// WeChat's menu (`GET /cgi-bin/menu/get`: `{"menu": {"button": […]}}`) as
/// rows of `account_id`, each parent before its sub-buttons. Whatever WeChat
/// sends is taken as it is (missing fields are empty); [`menu_json`] judges it.
pub fn rows_from_wechat(
    remote: &Value,
    account_id: i64,
    ids: &IdGenerator,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<menus::Model>, IdError> {
    let mut rows = Vec::new();
    let buttons = remote["menu"]["button"].as_array().into_iter().flatten();
    for (order, button) in buttons.enumerate() {
        let parent = imported_row(ids.next_id()?, account_id, 0, order, button, now);
        let parent_id = parent.id;
        rows.push(parent);
        let subs = button["sub_button"].as_array().into_iter().flatten();
        for (sub_order, sub) in subs.enumerate() {
            rows.push(imported_row(
                ids.next_id()?,
                account_id,
                parent_id,
                sub_order,
                sub,
                now,
            ));
        }
    }
    Ok(rows)
}

fn imported_row(
    id: i64,
    account_id: i64,
    parent_id: i64,
    order: usize,
    button: &Value,
    now: chrono::DateTime<chrono::Utc>,
) -> menus::Model {
    let text = |key: &str| button[key].as_str().unwrap_or_default().to_string();
    let has_children = button["sub_button"]
        .as_array()
        .is_some_and(|s| !s.is_empty());
    menus::Model {
        id,
        account_id,
        parent_id,
        menu_name: text("name"),
        menu_type: if has_children {
            String::new()
        } else {
            text("type")
        },
        menu_key: text("key"),
        url: text("url"),
        media_id: text("media_id"),
        article_id: text("article_id"),
        appid: text("appid"),
        pagepath: text("pagepath"),
        sort_order: i32::try_from(order).unwrap_or(i32::MAX),
        created_at: now,
        updated_at: now,
    }
}

/// How many buttons a menu in WeChat's JSON has: top-level buttons plus
/// sub-buttons (a group counts once, as do each of its sub-buttons). Publish
/// and sync both report this count, so their toasts agree.
pub fn count_buttons(menu: &Value) -> usize {
    menu["button"].as_array().map_or(0, |tops| {
        tops.iter()
            .map(|top| 1 + top["sub_button"].as_array().map_or(0, Vec::len))
            .sum()
    })
}
