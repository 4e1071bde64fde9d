//! Fans: the paged openid list (`user/get`), user info in batches, tagging
//! and untagging (kept in the fan's `tagid_list`) and remarks.

use axum::Json;
use serde_json::{json, Value};

use super::request::{Answer, Call};
use super::{error, Inner};

pub(super) fn handle(inner: &mut Inner, call: &Call, appid: &str) -> Answer {
    Some(match (call.method.as_str(), call.path.as_str()) {
        ("GET", "/cgi-bin/user/get") => user_get(inner, call, appid),
        ("POST", "/cgi-bin/user/info/batchget") => batchget(inner, call, appid),
        ("POST", "/cgi-bin/tags/members/batchtagging") => tagging(inner, call, appid, true),
        ("POST", "/cgi-bin/tags/members/batchuntagging") => tagging(inner, call, appid, false),
        ("POST", "/cgi-bin/user/info/updateremark") => remark(inner, call, appid),
        _ => return None,
    })
}

/// One page of openids after `next_openid`, `user_page` at most.
fn user_get(inner: &Inner, call: &Call, appid: &str) -> Json<Value> {
    let fans = inner.fans.get(appid).cloned().unwrap_or_default();
    let start = match Some(call.query("next_openid")).filter(|o| !o.is_empty()) {
        Some(next) => fans
            .iter()
            .position(|f| f["openid"] == next)
            .map(|p| p + 1)
            .unwrap_or(fans.len()),
        None => 0,
    };
    let page: Vec<Value> = fans
        .iter()
        .skip(start)
        .take(inner.user_page)
        .map(|f| f["openid"].clone())
        .collect();
    let next = page.last().cloned().unwrap_or(json!(""));
    Json(
        json!({ "total": fans.len(), "count": page.len(), "data": { "openid": page }, "next_openid": next }),
    )
}

/// Info for 1 to 100 openids; unknown ones come back unsubscribed.
fn batchget(inner: &Inner, call: &Call, appid: &str) -> Json<Value> {
    let wanted = call.json["user_list"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if wanted.is_empty() || wanted.len() > 100 {
        return error(45035, "user_list must hold 1 to 100 openids");
    }
    let fans = inner.fans.get(appid).cloned().unwrap_or_default();
    let list: Vec<Value> = wanted
        .iter()
        .map(|w| {
            fans.iter()
                .find(|f| f["openid"] == w["openid"])
                .cloned()
                .unwrap_or_else(|| json!({ "subscribe": 0, "openid": w["openid"] }))
        })
        .collect();
    Json(json!({ "user_info_list": list }))
}

/// Tags (or untags) 1 to 50 openids with `tagid`; fans the fake knows keep it.
fn tagging(inner: &mut Inner, call: &Call, appid: &str, tag: bool) -> Json<Value> {
    let openids = call.json["openid_list"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if openids.is_empty() || openids.len() > 50 {
        return error(40032, "invalid openid_list size");
    }
    let Some(tagid) = call.json["tagid"].as_i64().filter(|t| *t > 0) else {
        return error(45159, "invalid tag id");
    };
    for fan in inner.fans.entry(appid.to_string()).or_default() {
        if openids.contains(&fan["openid"]) {
            let mut tags = fan["tagid_list"].as_array().cloned().unwrap_or_default();
            tags.retain(|t| t.as_i64() != Some(tagid));
            if tag {
                tags.push(json!(tagid));
            }
            fan["tagid_list"] = Value::Array(tags);
        }
    }
    error(0, "ok")
}

/// Sets a fan's remark (up to 30 characters).
fn remark(inner: &mut Inner, call: &Call, appid: &str) -> Json<Value> {
    let openid = call.text("openid");
    let remark = call.text("remark");
    if openid.is_empty() {
        return error(40003, "invalid openid");
    }
    if remark.chars().count() > 30 {
        return error(45030, "remark too long");
    }
    for fan in inner.fans.entry(appid.to_string()).or_default() {
        if fan["openid"] == openid {
            fan["remark"] = json!(remark);
        }
    }
    error(0, "ok")
}
