//! WeChat's rules for a custom menu (three top buttons, five sub-buttons,
//! byte limits, the fields each button type needs), and the menu as WeChat's
//! JSON. Used to refuse a bad menu before it is stored and before it is published.

use serde_json::{json, Value};

use crate::entity::menus;

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
