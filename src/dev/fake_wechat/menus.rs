//! The custom menu: create (with WeChat's size rules), get and delete.

use axum::Json;
use serde_json::{json, Value};

use super::request::{Answer, Call};
use super::{error, Inner};

pub(super) fn handle(inner: &mut Inner, call: &Call, appid: &str) -> Answer {
    Some(match (call.method.as_str(), call.path.as_str()) {
        ("POST", "/cgi-bin/menu/create") => create(inner, call, appid),
        ("GET", "/cgi-bin/menu/get") => match inner.menus.get(appid) {
            Some(menu) => Json(json!({ "menu": menu })),
            None => error(46003, "menu no exist"),
        },
        ("GET", "/cgi-bin/menu/delete") => {
            inner.menus.remove(appid);
            error(0, "ok")
        }
        _ => return None,
    })
}

/// At most three buttons, each with at most five sub-buttons.
fn create(inner: &mut Inner, call: &Call, appid: &str) -> Json<Value> {
    let buttons = call.json["button"].as_array().cloned().unwrap_or_default();
    if buttons.is_empty() || buttons.len() > 3 {
        return error(40016, "invalid button size");
    }
    if buttons
        .iter()
        .any(|b| b["sub_button"].as_array().is_some_and(|s| s.len() > 5))
    {
        return error(40023, "invalid sub button size");
    }
    inner.menus.insert(appid.to_string(), call.json.clone());
    error(0, "ok")
}
