//! Hostile input from the outside: slow bodies, cross-origin requests,
//! injection through every list parameter, oversized and deeply nested JSON.

use std::time::Duration;

use crate::helpers::{urlencode, TestApp};
use reqwest::{Method, StatusCode};
use sea_orm::{EntityTrait, IntoActiveModel, PaginatorTrait};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wxmp::dev::fake_pay::{self, FakePay, SignWith};
use wxmp::dev::fake_wechat::FakeWeChat;
use wxmp::entity::{audit_log, jobs, pay_orders, pay_refunds};

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
async fn headers_sent_too_slowly_close_the_connection_in_bounded_time() {
    let app = TestApp::spawn_with(|config| config.request_timeout_secs = 1).await;
    let mut stream = tokio::net::TcpStream::connect(app.server.addr)
        .await
        .unwrap();
    let started = std::time::Instant::now();
    // A byte every 200 ms, the head never finished: the router's request
    // timeout never starts, so only the header read timeout can end it.
    let head = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    let mut closed = false;
    for byte in head.iter() {
        if stream.write_all(&[*byte]).await.is_err() {
            closed = true;
            break;
        }
        let mut buffer = [0u8; 256];
        match tokio::time::timeout(Duration::from_millis(200), stream.read(&mut buffer)).await {
            Ok(Ok(0)) | Ok(Err(_)) => {
                closed = true;
                break;
            }
            Ok(Ok(n)) => panic!(
                "an answer to a head never finished: {}",
                String::from_utf8_lossy(&buffer[..n])
            ),
            Err(_) => {} // still open: the next byte
        }
    }
    let elapsed = started.elapsed();
    assert!(closed, "the connection was still open after {elapsed:?}");
    assert!(
        elapsed >= Duration::from_millis(900) && elapsed < Duration::from_secs(3),
        "closed after {elapsed:?}, expected about the 1 s timeout"
    );
    // An idle connection that never sends a byte is closed too.
    let mut idle = tokio::net::TcpStream::connect(app.server.addr)
        .await
        .unwrap();
    let mut buffer = [0u8; 16];
    let read = tokio::time::timeout(Duration::from_secs(3), idle.read(&mut buffer)).await;
    assert!(
        matches!(read, Ok(Ok(0)) | Ok(Err(_))),
        "an idle connection is closed: {read:?}"
    );
    // Others are served all along, and requests sent in time are answered.
    let (status, _) = app.send(Method::GET, "/healthz", None, None).await;
    assert_eq!(status, StatusCode::OK);
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

/// The other account's pay rows an operator must not reach: a NATIVE order
/// still open (it has a QR code), a paid one and a refund of it.
async fn seed_pay_rows(theirs: &crate::helpers::Seed<'_>) -> (String, String, String) {
    let now = chrono::Utc::now();
    let order = |id: i64, no: &str, state: &str, code_url: &str| pay_orders::Model {
        id,
        account_id: theirs.account_id(),
        out_trade_no: no.into(),
        total_fee: 100,
        trade_state: state.into(),
        code_url: code_url.into(),
        description: "theirs".into(),
        trade_type: "NATIVE".into(),
        expire_at: Some(now + chrono::Duration::hours(1)),
        created_at: now,
        updated_at: now,
        ..Default::default()
    };
    let (open, paid, refund) = (theirs.next_id(), theirs.next_id(), theirs.next_id());
    let code_url = "weixin://wxpay/bizpayurl?pr=theirs";
    theirs
        .row(order(open, "OPEN0001", "NOTPAY", code_url).into_active_model())
        .await;
    theirs
        .row(order(paid, "PAID0001", "SUCCESS", "").into_active_model())
        .await;
    let refunded = pay_refunds::Model {
        id: refund,
        account_id: theirs.account_id(),
        order_id: paid,
        out_trade_no: "PAID0001".into(),
        out_refund_no: "RTHEIRS0001".into(),
        refund_fee: 10,
        total_fee: 100,
        status: "PROCESSING".into(),
        created_at: now,
        updated_at: now,
        ..Default::default()
    };
    theirs.row(refunded.into_active_model()).await;
    (open.to_string(), paid.to_string(), refund.to_string())
}

/// Posts a multipart form with `token`.
async fn upload_as(app: &TestApp, token: &str, path: &str, fields: &[(&str, &str)]) -> StatusCode {
    let mut form = reqwest::multipart::Form::new();
    for (name, value) in fields {
        form = form.text(name.to_string(), value.to_string());
    }
    let png = crate::media::PNG.to_vec();
    form = form.part(
        "file",
        reqwest::multipart::Part::bytes(png).file_name("pic.png"),
    );
    let response = app
        .client
        .post(app.url(path))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    response.status()
}

#[tokio::test]
async fn an_operator_reaches_no_row_and_no_action_of_another_account() {
    // Both WeChats are fakes: had a call been let through, it would show.
    let wechat = FakeWeChat::new(&[]);
    let wechat_addr = wechat.start("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let pay = FakePay::start(SignWith::PublicKey).await;
    let pay_base = pay.base_url();
    let app = TestApp::spawn_with(|config| {
        config.wechat_api_base = format!("http://{wechat_addr}");
        config.pay_api_base = pay_base;
    })
    .await;
    let mine = app.add_account("wxopmine00000001").await;
    let other = app.add_account(fake_pay::APP_ID).await;
    let (status, body) = app
        .put(
            "/wechat/wxaccounts/edit",
            json!({
                "id": other, "mch_id": fake_pay::MCH_ID, "pay_api_v3_key": fake_pay::API_V3_KEY,
                "pay_cert_serial": fake_pay::MERCHANT_SERIAL,
                "pay_private_key": fake_pay::private_pem(&fake_pay::keys().merchant),
                "pay_public_key_id": fake_pay::PUB_KEY_ID,
                "pay_public_key": fake_pay::public_pem(&fake_pay::keys().wechat),
            }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let theirs = app.seed(&other);
    let (open_order, paid_order, refund) = seed_pay_rows(&theirs).await;
    theirs
        .template(json!({"template_id": "T", "title": "t", "content": "{{first.DATA}}"}))
        .await;
    theirs
        .material(json!({"media_type": "image", "media_id": "M_theirs", "name": "theirs"}))
        .await;
    let mut job = wxmp::jobs::new_job(
        theirs.next_id(),
        "send_templates",
        json!({"account_id": other}),
        chrono::Utc::now(),
    );
    job.status = wxmp::jobs::DONE.into();
    let job_id = job.id;
    theirs.row(job.into_active_model()).await;
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
        // Pay: refunds, their status, closing, certificates; by row id and
        // by the account's own numbers.
        (
            "/wechat/wxpay/refund",
            json!({"order_id": paid_order, "refund_fee": 1}),
        ),
        (
            "/wechat/wxpay/refund",
            json!({"account_id": other, "out_trade_no": "PAID0001", "refund_fee": 1}),
        ),
        ("/wechat/wxpay/query_refund", json!({"id": refund})),
        (
            "/wechat/wxpay/query_refund",
            json!({"account_id": other, "out_refund_no": "RTHEIRS0001"}),
        ),
        ("/wechat/wxpay/query_order", json!({"order_id": open_order})),
        ("/wechat/wxpay/close_order", json!({"order_id": open_order})),
        (
            "/wechat/wxpay/close_order",
            json!({"account_id": other, "out_trade_no": "OPEN0001"}),
        ),
        (
            "/wechat/wxpay/refresh_certificates",
            json!({"account_id": other}),
        ),
        // Mass sends, drafts and remote deletes.
        (
            "/wechat/wxtemplates/send_bulk",
            json!({"account_id": other, "template_id": "T", "openids": ["o_theirs"], "data": {}}),
        ),
        (
            "/wechat/wxmaterials/upload_news",
            json!({"account_id": other, "articles": [{"title": "t", "thumb_media_id": "M_theirs", "content": "c"}]}),
        ),
        (
            "/wechat/wxmaterials/delete_remote_media",
            json!({"account_id": other, "media_id": "M_theirs"}),
        ),
        // Web pages and plugin switches.
        (
            "/wechat/oauth/exchange",
            json!({"account_id": other, "code": "CODE"}),
        ),
        (
            "/wechat/jssdk/config",
            json!({"account_id": other, "url": "https://example.com/page"}),
        ),
        (
            "/wechat/plugins/enable",
            json!({"account_id": other, "plugin": "any"}),
        ),
        (
            "/wechat/plugins/disable",
            json!({"account_id": other, "plugin": "any"}),
        ),
        // Generic rows: added to the other account, or moved into it.
        (
            "/wechat/wxautoreplies/add",
            json!({"account_id": other, "reply_type": 2, "keyword": "k", "match_type": 1, "content": "c"}),
        ),
    ] {
        let (status, answer) = app.post_as(&token, path, body).await;
        assert!(refused(status), "{path}: {status} {answer}");
    }
    let own = app
        .seed(&mine)
        .rule(json!({"reply_type": 2, "keyword": "own", "match_type": 1, "content": "own"}))
        .await;
    let (status, body) = app
        .send(
            Method::PUT,
            "/wechat/wxautoreplies/edit",
            Some(&token),
            Some(json!({"id": own["id"], "account_id": other})),
        )
        .await;
    assert!(refused(status), "moving a row: {status} {body}");
    // The QR code of their open order, and their job, by id.
    for path in [
        format!("/wechat/wxpay/qrcode?order_id={open_order}"),
        format!("/wechat/jobs/get?id={job_id}"),
        format!("/wechat/oauth/authorize_url?account_id={other}&redirect_uri=https%3A%2F%2Fexample.com%2F"),
    ] {
        let (status, body) = app.send(Method::GET, &path, Some(&token), None).await;
        assert!(
            refused(status) || body["data"]["total"] == 0,
            "{path}: {status} {body}"
        );
    }
    // Uploads (multipart): the account is a form field.
    for path in [
        "/wechat/wxmaterials/upload_temp_media",
        "/wechat/wxmaterials/upload_permanent_media",
    ] {
        let fields = [("account_id", other.as_str()), ("media_type", "image")];
        let status = upload_as(&app, &token, path, &fields).await;
        assert!(refused(status), "{path}: {status}");
    }
    // Nothing reached WeChat or WeChat Pay, and nothing was written: no job,
    // no refund, no record in the trail, the order still open.
    assert!(wechat.recorded().is_empty(), "{:?}", wechat.recorded());
    assert!(
        pay.requests().is_empty(),
        "{:?}",
        pay.requests()
            .iter()
            .map(|r| &r.path_and_query)
            .collect::<Vec<_>>()
    );
    let db = &app.server.state.db;
    assert_eq!(
        jobs::Entity::find().count(db).await.unwrap(),
        1,
        "only the seeded job"
    );
    assert_eq!(pay_refunds::Entity::find().count(db).await.unwrap(), 1);
    let open: i64 = open_order.parse().unwrap();
    let order = pay_orders::Entity::find_by_id(open).one(db).await.unwrap();
    assert_eq!(order.unwrap().trade_state, "NOTPAY");
    let by_operator = audit_log::Entity::find()
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .filter(|row| row.admin_name == "op2")
        .count();
    assert_eq!(by_operator, 0, "the operator changed nothing");
    assert!(
        std::fs::read_dir(app.server.state.config.data_dir.join("uploads")).is_err(),
        "no upload stored"
    );
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
