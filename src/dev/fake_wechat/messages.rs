//! Messages: customer-service messages (inside the 48-hour window) and
//! template messages (to templates the account has), both kept in `sent`.

use axum::Json;
use serde_json::{json, Value};

use super::request::{Answer, Call};
use super::{error, Inner};

pub(super) fn handle(inner: &mut Inner, call: &Call, appid: &str) -> Answer {
    Some(match (call.method.as_str(), call.path.as_str()) {
        ("POST", "/cgi-bin/message/custom/send") => custom_send(inner, call),
        ("GET", "/cgi-bin/template/get_all_private_template") => Json(
            json!({ "template_list": inner.templates.get(appid).cloned().unwrap_or_default() }),
        ),
        ("POST", "/cgi-bin/message/template/send") => template_send(inner, call, appid),
        _ => return None,
    })
}

fn custom_send(inner: &mut Inner, call: &Call) -> Json<Value> {
    let touser = call.text("touser");
    let kind = call.text("msgtype");
    if touser.is_empty() {
        return error(40003, "invalid openid");
    }
    if call.json.get(kind).is_none() {
        return error(40008, "invalid message type");
    }
    if inner.closed_windows.contains(touser) {
        return error(
            45015,
            "response out of time limit or subscription is canceled",
        );
    }
    inner.sent.push(call.json.clone());
    error(0, "ok")
}

fn template_send(inner: &mut Inner, call: &Call, appid: &str) -> Json<Value> {
    let known = inner.templates.get(appid).is_some_and(|list| {
        list.iter()
            .any(|t| t["template_id"] == call.json["template_id"])
    });
    if !known {
        return error(40037, "invalid template_id");
    }
    if inner.closed_windows.contains(call.text("touser")) {
        return error(43101, "user refuse to accept the msg");
    }
    inner.next_msgid += 1;
    let msgid = inner.next_msgid;
    inner.sent.push(call.json.clone());
    Json(json!({ "errcode": 0, "errmsg": "ok", "msgid": msgid }))
}
