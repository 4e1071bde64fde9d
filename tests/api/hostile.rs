//! Hostile input from the outside: slow bodies, cross-origin requests,
//! injection through every list parameter, oversized and deeply nested JSON.

use std::time::Duration;

use crate::helpers::{urlencode, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Every generic list endpoint, each with its own filters.
const LISTS: [&str; 11] = [
    "/wechat/wxaccounts/list",
    "/wechat/wxautoreplies/list",
    "/wechat/wxmaterials/list",
    "/wechat/wxmenus/list",
    "/wechat/wxmessages/list",
    "/wechat/wxusers/list",
    "/wechat/wxtemplates/list",
    "/wechat/wxtemplates/logs",
    "/wechat/wxpay/orders",
    "/wechat/wxpay/refunds",
    "/wechat/wxpay/notifications",
];

#[tokio::test]
async fn a_body_sent_too_slowly_gets_408_and_frees_the_connection() {
    let app = TestApp::spawn_with(|config| config.request_timeout_secs = 1).await;
    let mut stream = tokio::net::TcpStream::connect(app.server.addr)
        .await
        .unwrap();
    stream
        .write_all(
            b"POST /auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"user",
        )
        .await
        .unwrap();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer)).await;
    assert!(
        read.is_ok(),
        "the server answered and closed the connection"
    );
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("\"code\":408"), "an envelope: {answer}");
}

#[tokio::test]
async fn cross_origin_requests_are_not_allowed_by_default() {
    let app = TestApp::spawn().await;
    let preflight = app
        .client
        .request(Method::OPTIONS, app.url("/wechat/wxaccounts/list"))
        .header("Origin", "https://evil.example")
        .header("Access-Control-Request-Method", "GET")
        .header("Access-Control-Request-Headers", "authorization")
        .send()
        .await
        .unwrap();
    assert!(!preflight.status().is_success(), "{}", preflight.status());
    assert!(preflight
        .headers()
        .get("access-control-allow-origin")
        .is_none());
    let read = app
        .client
        .get(app.url("/wechat/wxaccounts/list"))
        .bearer_auth(&app.token)
        .header("Origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert!(read.headers().get("access-control-allow-origin").is_none());
    assert!(read
        .headers()
        .get("access-control-allow-credentials")
        .is_none());
}

#[tokio::test]
async fn injection_through_any_list_parameter_is_only_ever_a_value() {
    let app = TestApp::spawn().await;
    let account = app.add_account("wxinject00000001").await;
    app.seed(&account)
        .rule(json!({"reply_type": 2, "keyword": "k", "match_type": 1, "content": "c"}))
        .await;
    let payloads = [
        "' OR '1'='1",
        "1 OR 1=1",
        "1; DROP TABLE wx_accounts; --",
        "\") OR 1=1 --",
        "%' UNION SELECT password_hash FROM admins --",
        "`",
        "\\",
        "1e309",
        "-9223372036854775809",
        "2026-13-45",
    ];
    let params = [
        "keyword",
        "account_id",
        "id",
        "status",
        "reply_type",
        "openid",
        "media_type",
        "page",
        "page_size",
        "start",
        "end",
        "msgid",
        "direction",
        "sort",
    ];
    for list in LISTS {
        for param in params {
            for payload in payloads {
                let path = format!("{list}?{param}={}", urlencode(payload));
                let (status, body) = app.get(&path).await;
                assert!(!status.is_server_error(), "{path}: {status} {body}");
                assert!(body["code"].is_number(), "{path}: an envelope {body}");
                if status.is_success() {
                    let rows = body["data"]["list"].as_array().unwrap();
                    assert!(
                        !body.to_string().contains("$argon2"),
                        "{path}: no password hashes"
                    );
                    if param == "account_id" && list != "/wechat/wxaccounts/list" {
                        assert!(rows.is_empty(), "{path}: {body}");
                    }
                }
            }
        }
    }
    // Everything is still there.
    let (_, accounts) = app.get("/wechat/wxaccounts/list").await;
    assert_eq!(accounts["data"]["total"], 1);
    let (_, rules) = app.get("/wechat/wxautoreplies/list").await;
    assert_eq!(rules["data"]["total"], 1);
}

#[tokio::test]
async fn oversized_and_deeply_nested_json_is_refused_with_a_reason() {
    let app = TestApp::spawn().await;
    let huge = json!({"account_name": "x".repeat(3 * 1024 * 1024)});
    let (status, body) = app.post("/wechat/wxaccounts/add", huge).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert!(body["msg"].is_string());

    let nested = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let response = app
        .client
        .post(app.url("/wechat/wxaccounts/add"))
        .bearer_auth(&app.token)
        .header("Content-Type", "application/json")
        .body(nested)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.unwrap();
    assert!(body["msg"].as_str().unwrap().contains("JSON"), "{body}");

    // The server is still well.
    let (status, _) = app.send(Method::GET, "/healthz", None, None).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn an_operator_reaches_no_row_and_no_action_of_another_account() {
    let app = TestApp::spawn().await;
    let mine = app.add_account("wxopmine00000001").await;
    let other = app.add_account("wxopother0000001").await;
    let theirs = app.seed(&other);
    let rule = theirs
        .rule(json!({"reply_type": 2, "keyword": "secret", "match_type": 1, "content": "theirs"}))
        .await;
    theirs.fan(json!({"openid": "o_theirs"})).await;
    app.add(
        "/wechat/admins/add",
        json!({"username": "op2", "password": "operator-pass-2", "role": "operator", "account_ids": [mine]}),
    )
    .await;
    let token = app.login("op2", "operator-pass-2").await;
    let refused =
        |status: StatusCode| status == StatusCode::FORBIDDEN || status == StatusCode::NOT_FOUND;

    // Lists: filtered to another account, refused or empty; unfiltered, none of its rows.
    for list in LISTS.iter().filter(|l| !l.contains("wxaccounts")) {
        let path = format!("{list}?account_id={other}");
        let (status, body) = app.send(Method::GET, &path, Some(&token), None).await;
        assert!(
            refused(status) || body["data"]["total"] == 0,
            "{path}: {status} {body}"
        );
        let (status, body) = app.send(Method::GET, list, Some(&token), None).await;
        assert!(status.is_success() || refused(status), "{list}: {status}");
        assert!(!body.to_string().contains(other.as_str()), "{list}: {body}");
    }
    // Rows by id.
    let rule_id = rule["id"].as_str().unwrap();
    let (status, body) = app
        .send(
            Method::PUT,
            "/wechat/wxautoreplies/edit",
            Some(&token),
            Some(json!({"id": rule_id, "content": "mine now"})),
        )
        .await;
    assert!(refused(status), "edit: {status} {body}");
    let path = format!("/wechat/wxautoreplies/del?id={rule_id}");
    let (status, body) = app.send(Method::DELETE, &path, Some(&token), None).await;
    assert!(refused(status), "del: {status} {body}");
    // Reads and actions naming the other account.
    for path in [
        format!("/wechat/wxmessages/conversation?account_id={other}&openid=o_theirs"),
        format!("/wechat/dashboard/stats?account_id={other}"),
        format!("/wechat/plugins/ahead_of_rules?account_id={other}"),
        format!("/wechat/wxmenus/live?account_id={other}"),
        format!("/wechat/wxtemplates/fields?account_id={other}&template_id=T"),
    ] {
        let (status, body) = app.send(Method::GET, &path, Some(&token), None).await;
        assert!(refused(status), "{path}: {status} {body}");
    }
    for (path, body) in [
        (
            "/wechat/wxmaterials/material_count",
            json!({"account_id": other}),
        ),
        ("/wechat/wxmenus/pull_menu", json!({"account_id": other})),
        ("/wechat/wxmenus/sync_menu", json!({"account_id": other})),
        ("/wechat/wxmenus/check_menu", json!({"account_id": other})),
        (
            "/wechat/wxmenus/delete_remote_menu",
            json!({"account_id": other}),
        ),
        (
            "/wechat/wxmessages/reply",
            json!({"account_id": other, "openid": "o_theirs", "msg_type": "text", "content": "x"}),
        ),
        ("/wechat/wxtemplates/sync", json!({"account_id": other})),
        (
            "/wechat/wxtemplates/send",
            json!({"account_id": other, "template_id": "T", "openid": "o_theirs", "data": {}}),
        ),
        ("/wechat/wxusers/sync", json!({"account_id": other})),
        (
            "/wechat/wxmaterials/sync_materials",
            json!({"account_id": other}),
        ),
        (
            "/wechat/wxpay/query_order",
            json!({"account_id": other, "out_trade_no": "T1"}),
        ),
        (
            "/wechat/wxpay/create_order",
            json!({"account_id": other, "description": "d", "total_fee": 1, "trade_type": "NATIVE"}),
        ),
        (
            "/wechat/plugins/test",
            json!({"account_id": other, "text": "secret"}),
        ),
    ] {
        let (status, answer) = app.post_as(&token, path, body).await;
        assert!(refused(status), "{path}: {status} {answer}");
    }
    // The dashboard of "all accounts" is theirs only: none of the other's rules.
    let (status, body) = app
        .send(Method::GET, "/wechat/dashboard/stats", Some(&token), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(!body.to_string().contains(rule_id), "{body}");
    // Their rule is untouched.
    let (_, rules) = app
        .get(&format!("/wechat/wxautoreplies/list?account_id={other}"))
        .await;
    assert_eq!(rules["data"]["list"][0]["content"], "theirs");
}
