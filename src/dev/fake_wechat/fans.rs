//! Fans: the paged openid list (`user/get`) and user info in batches.

use axum::Json;
use serde_json::{json, Value};

use super::request::{Answer, Call};
use super::{error, Inner};

pub(super) fn handle(inner: &mut Inner, call: &Call, appid: &str) -> Answer {
    Some(match (call.method.as_str(), call.path.as_str()) {
        ("GET", "/cgi-bin/user/get") => user_get(inner, call, appid),
        ("POST", "/cgi-bin/user/info/batchget") => batchget(inner, call, appid),
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
