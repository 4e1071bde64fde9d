//! Credentials: access tokens (plain ones replace the app's earlier tokens,
//! stable ones are reused until they expire), web OAuth (which takes the
//! account's secret, not its token) and JS-SDK tickets.

use axum::Json;
use serde_json::{json, Value};

use super::request::{Answer, Call};
use super::{error, FakeWeChat, Inner};

/// The calls that need no access token; `None` for every other path.
pub(super) fn without_token(inner: &mut Inner, call: &Call) -> Answer {
    Some(match call.path.as_str() {
        "/cgi-bin/stable_token" => stable_token(inner, call),
        "/cgi-bin/token" => token(inner, call),
        "/sns/oauth2/access_token" => oauth_access_token(inner, call),
        "/sns/userinfo" => userinfo(call),
        _ => return None,
    })
}

/// `None` when the app may have a token: a known appid with its secret, or any in sandbox mode.
fn check_app(inner: &Inner, appid: &str, secret: &str) -> Option<Json<Value>> {
    if inner.apps.is_empty() {
        return None;
    }
    match inner.apps.get(appid) {
        None => Some(error(40013, "invalid appid")),
        Some(expected) if expected != secret => Some(error(40125, "invalid appsecret")),
        Some(_) => None,
    }
}

fn stable_token(inner: &mut Inner, call: &Call) -> Json<Value> {
    inner.token_requests += 1;
    let appid = call.text("appid").to_string();
    if call.json["grant_type"] != "client_credential" {
        return error(40002, "invalid grant_type");
    }
    if let Some(refused) = check_app(inner, &appid, call.text("secret")) {
        return refused;
    }
    let now = chrono::Utc::now().timestamp();
    let current = inner
        .stable
        .get(&appid)
        .cloned()
        .filter(|t| inner.tokens.get(t).is_some_and(|(_, e)| *e > now));
    let token = match (
        current,
        call.json["force_refresh"].as_bool().unwrap_or(false),
    ) {
        (Some(token), false) => token,
        _ => {
            let token = FakeWeChat::issue(inner, &appid);
            inner.stable.insert(appid, token.clone());
            token
        }
    };
    let expires_in = inner
        .tokens
        .get(&token)
        .map(|(_, e)| e - now)
        .unwrap_or(7200);
    Json(json!({ "access_token": token, "expires_in": expires_in }))
}

fn token(inner: &mut Inner, call: &Call) -> Json<Value> {
    inner.token_requests += 1;
    let appid = call.query("appid").to_string();
    if let Some(refused) = check_app(inner, &appid, call.query("secret")) {
        return refused;
    }
    // A plain token replaces every earlier one of the app.
    inner.tokens.retain(|_, (owner, _)| owner != &appid);
    let token = FakeWeChat::issue(inner, &appid);
    Json(json!({ "access_token": token, "expires_in": 7200 }))
}

fn oauth_access_token(inner: &mut Inner, call: &Call) -> Json<Value> {
    let appid = call.query("appid");
    if let Some(refused) = check_app(inner, appid, call.query("secret")) {
        return refused;
    }
    match inner.codes.remove(call.query("code")) {
        Some((owner, openid, scope)) if owner == appid => Json(json!({
            "access_token": format!("WEB_{openid}"), "expires_in": 7200, "refresh_token": "R",
            "openid": openid, "scope": scope,
        })),
        _ => error(40029, "invalid code"),
    }
}

fn userinfo(call: &Call) -> Json<Value> {
    let openid = call.query("openid");
    if call.query("access_token") != format!("WEB_{openid}") {
        return error(40001, "invalid credential");
    }
    Json(
        json!({ "openid": openid, "nickname": "微信用户", "headimgurl": "https://thirdwx.qlogo.cn/x/0" }),
    )
}

/// `GET /cgi-bin/ticket/getticket?type=jsapi`: the JS-SDK ticket.
pub(super) fn ticket(_: &mut Inner, call: &Call, appid: &str) -> Answer {
    if (call.method.as_str(), call.path.as_str()) != ("GET", "/cgi-bin/ticket/getticket") {
        return None;
    }
    if call.query("type") != "jsapi" {
        return Some(error(40097, "invalid args"));
    }
    Some(Json(
        json!({ "errcode": 0, "errmsg": "ok", "ticket": format!("TICKET_{appid}"), "expires_in": 7200 }),
    ))
}
