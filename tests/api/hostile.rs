//! Hostile input from the outside: slow bodies, cross-origin requests,
//! injection through every list parameter, oversized and deeply nested JSON.

use std::time::Duration;

use crate::helpers::TestApp;
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

fn urlencode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
