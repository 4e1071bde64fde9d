//! The inbox over HTTP: conversations with their unread and unanswered
//! flags, read marks, assignment, notes and canned replies, and what each
//! refuses.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{assert_field_error, TestApp};

/// A fan's text, and optionally the reply it got and from whom.
fn exchange(text: &str, answered_by: Option<&str>) -> Vec<(i16, &'static str, String, Value)> {
    let mut rows = vec![(1, "text", text.to_string(), json!({}))];
    if let Some(by) = answered_by {
        rows.push((
            0,
            "text",
            format!("回复：{text}"),
            json!({ "answered_by": by, "is_auto_reply": 1 }),
        ));
    }
    rows
}

async fn seed(app: &TestApp, account: &str, openid: &str, rows: Vec<(i16, &str, String, Value)>) {
    let rows: Vec<(i16, &str, &str, Value)> = rows
        .iter()
        .map(|(d, t, c, e)| (*d, *t, c.as_str(), e.clone()))
        .collect();
    app.seed(account).conversation(openid, &rows).await;
}

async fn conversations(app: &TestApp, query: &str) -> Value {
    let (status, body) = app
        .get(&format!("/wechat/inbox/conversations?{query}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["data"].clone()
}

fn openids(data: &Value) -> Vec<String> {
    data["list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["openid"].as_str().unwrap().to_string())
        .collect()
}

/// Account `a` with four fans: default reply only, keyword answer, no
/// answer, and one who only followed (no conversation).
async fn four_fans(app: &TestApp) -> String {
    let a = app.add_account("wxinbox000000001").await;
    seed(
        app,
        &a,
        "o_default",
        exchange("在吗", Some("builtin:default")),
    )
    .await;
    seed(
        app,
        &a,
        "o_keyword",
        exchange("营业时间", Some("builtin:keyword")),
    )
    .await;
    seed(app, &a, "o_silent", exchange("有人吗", None)).await;
    app.seed(&a)
        .conversation(
            "o_follow",
            &[(1, "event", "", json!({"event_type": "subscribe"}))],
        )
        .await;
    a
}

#[tokio::test]
async fn conversations_flag_unread_and_unanswered_and_count_them() {
    let app = TestApp::spawn().await;
    let a = four_fans(&app).await;
    let data = conversations(&app, &format!("account_id={a}")).await;
    assert_eq!(
        openids(&data),
        ["o_silent", "o_keyword", "o_default"],
        "latest first, events are no conversation"
    );
    assert_eq!(data["total"], 3);
    assert_eq!(
        data["summary"],
        json!({"conversations": 3, "unread": 3, "unanswered": 2})
    );
    let silent = &data["list"][0];
    assert_eq!(silent["unread"], true);
    assert_eq!(silent["unread_count"], 1);
    assert_eq!(silent["unanswered"], true);
    assert_eq!(silent["message_count"], 1);
    assert_eq!(silent["last_message"]["content"], "有人吗");
    assert_eq!(silent["window_open"], true);
    let closes: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(silent["window_closes_at"].clone()).unwrap();
    let hours = (closes - chrono::Utc::now()).num_minutes() as f64 / 60.0;
    assert!(
        (47.9..=48.0).contains(&hours),
        "the window closes 48 h after the fan wrote: {hours}"
    );
    let keyword = &data["list"][1];
    assert_eq!(keyword["unanswered"], false, "a keyword rule answered");
    assert_eq!(keyword["message_count"], 2);
    assert_eq!(
        data["list"][2]["unanswered"], true,
        "the default reply alone is no answer"
    );

    let unanswered = conversations(&app, &format!("account_id={a}&filter=unanswered")).await;
    assert_eq!(openids(&unanswered), ["o_silent", "o_default"]);
    assert_eq!(unanswered["total"], 2);

    // An operator's reply answers it.
    seed(
        &app,
        &a,
        "o_default",
        vec![(
            0,
            "text",
            "您好，我在".into(),
            json!({"answered_by": "admin:admin"}),
        )],
    )
    .await;
    let unanswered = conversations(&app, &format!("account_id={a}&filter=unanswered")).await;
    assert_eq!(openids(&unanswered), ["o_silent"]);
    let (status, body) = app
        .get(&format!("/wechat/inbox/summary?account_id={a}"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body["data"],
        json!({"conversations": 3, "unread": 3, "unanswered": 1})
    );
}

#[tokio::test]
async fn reading_clears_unread_until_the_fan_writes_again() {
    let app = TestApp::spawn().await;
    let a = four_fans(&app).await;
    let (status, body) = app
        .post(
            "/wechat/inbox/read",
            json!({"account_id": a, "openid": "o_keyword"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let unread = conversations(&app, &format!("account_id={a}&filter=unread")).await;
    assert_eq!(openids(&unread), ["o_silent", "o_default"]);
    let all = conversations(&app, &format!("account_id={a}")).await;
    let keyword = all["list"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["openid"] == "o_keyword")
        .unwrap()
        .clone();
    assert_eq!(keyword["unread"], false);
    assert_eq!(keyword["read_by"], "admin");

    // Two more messages from the fan: unread again, two of them.
    seed(&app, &a, "o_keyword", exchange("还有吗", None)).await;
    seed(&app, &a, "o_keyword", exchange("？", None)).await;
    let unread = conversations(&app, &format!("account_id={a}&filter=unread")).await;
    assert_eq!(unread["list"][0]["openid"], "o_keyword");
    assert_eq!(unread["list"][0]["unread_count"], 2);

    // A mark never moves back, nor past the newest message.
    let (_, body) = app
        .post(
            "/wechat/inbox/read",
            json!({"account_id": a, "openid": "o_keyword", "up_to": "1"}),
        )
        .await;
    assert_ne!(body["data"]["last_read_id"], "1");
    let (status, body) = app
        .post(
            "/wechat/inbox/read",
            json!({"account_id": a, "openid": "o_keyword", "up_to": i64::MAX.to_string()}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_ne!(body["data"]["last_read_id"], i64::MAX.to_string());
    let unread = conversations(&app, &format!("account_id={a}&filter=unread")).await;
    assert_eq!(openids(&unread), ["o_silent", "o_default"]);
}

#[tokio::test]
async fn conversations_across_accounts_cover_the_operators_accounts_only() {
    let app = TestApp::spawn().await;
    let a = four_fans(&app).await;
    let b = app.add_account("wxinbox000000002").await;
    seed(&app, &b, "o_other", exchange("你好", None)).await;
    let all = conversations(&app, "").await;
    assert_eq!(all["total"], 4);
    assert_eq!(all["list"][0]["openid"], "o_other");
    assert_eq!(all["list"][0]["account_id"], b.as_str());

    app.add("/wechat/admins/add", json!({"username": "op_a", "password": "operator-pass-1", "role": "operator", "account_ids": [a]}))
        .await;
    let token = app.login("op_a", "operator-pass-1").await;
    let (status, body) = app
        .send(
            Method::GET,
            "/wechat/inbox/conversations",
            Some(&token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["data"]["total"], 3, "{body}");
    assert!(openids(&body["data"]).iter().all(|o| o != "o_other"));
    let (status, _) = app
        .send(
            Method::GET,
            &format!("/wechat/inbox/conversations?account_id={b}"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn conversations_are_assigned_to_someone_who_can_see_the_account() {
    let app = TestApp::spawn().await;
    let a = four_fans(&app).await;
    let b = app.add_account("wxinbox000000003").await;
    let op = app
        .add("/wechat/admins/add", json!({"username": "op_b", "password": "operator-pass-1", "role": "operator", "account_ids": [b]}))
        .await;
    let (status, body) = app
        .post(
            "/wechat/inbox/assign",
            json!({"account_id": a, "openid": "o_silent", "admin_id": op["id"]}),
        )
        .await;
    assert_field_error(status, &body, "admin_id");

    let (_, me) = app.get("/auth/me").await;
    let my_id = me["data"]["id"].clone();
    let (status, body) = app
        .post(
            "/wechat/inbox/assign",
            json!({"account_id": a, "openid": "o_silent", "admin_id": my_id}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["assignee"]["username"], "admin");
    let mine = conversations(&app, &format!("account_id={a}&assigned=me")).await;
    assert_eq!(openids(&mine), ["o_silent"]);
    assert_eq!(mine["list"][0]["assigned_admin_id"], my_id);
    let nobody = conversations(&app, &format!("account_id={a}&assigned=none")).await;
    assert_eq!(openids(&nobody), ["o_keyword", "o_default"]);

    let (status, body) = app
        .get(&format!("/wechat/inbox/assignees?account_id={a}"))
        .await;
    assert_eq!(status, StatusCode::OK);
    let names: Vec<&str> = body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["username"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["admin"], "op_b is not an operator of this account");

    let (status, _) = app
        .post(
            "/wechat/inbox/assign",
            json!({"account_id": a, "openid": "o_silent", "admin_id": null}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        conversations(&app, &format!("account_id={a}&assigned=me")).await["total"],
        0
    );

    let (status, body) = app
        .post(
            "/wechat/inbox/assign",
            json!({"account_id": a, "openid": "o_silent"}),
        )
        .await;
    assert_field_error(status, &body, "admin_id");
    let (status, body) = app
        .post(
            "/wechat/inbox/assign",
            json!({"account_id": a, "openid": "o_silent", "admin_id": "x"}),
        )
        .await;
    assert_field_error(status, &body, "admin_id");
}

#[tokio::test]
async fn notes_are_kept_per_conversation_and_refused_when_wrong() {
    let app = TestApp::spawn().await;
    let a = four_fans(&app).await;
    let (status, body) = app
        .post(
            "/wechat/inbox/notes/add",
            json!({"account_id": a, "openid": "o_silent", "body": "  老顾客，周五回电  "}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["body"], "老顾客，周五回电");
    assert_eq!(body["data"]["admin_name"], "admin");
    let note_id = body["data"]["id"].as_str().unwrap().to_string();
    let (status, body) = app
        .get(&format!(
            "/wechat/inbox/notes?account_id={a}&openid=o_silent"
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["data"].as_array().unwrap().len(), 1);
    let (_, body) = app
        .get(&format!(
            "/wechat/inbox/notes?account_id={a}&openid=o_default"
        ))
        .await;
    assert_eq!(body["data"], json!([]));

    let refusals = [
        (
            json!({"account_id": a, "openid": "o_silent", "body": "长".repeat(1001)}),
            "body",
        ),
        (
            json!({"account_id": a, "openid": "o_silent", "body": "   "}),
            "body",
        ),
        (json!({"account_id": a, "openid": "o_silent"}), "body"),
        (
            json!({"account_id": a, "openid": "o_silent", "body": 5}),
            "body",
        ),
        (
            json!({"account_id": "999", "openid": "o_silent", "body": "x"}),
            "account_id",
        ),
        (
            json!({"account_id": a, "openid": "o_nobody", "body": "x"}),
            "openid",
        ),
        (
            json!({"account_id": a, "openid": "", "body": "x"}),
            "openid",
        ),
        (json!({"openid": "o_silent", "body": "x"}), "account_id"),
    ];
    for (request, field) in refusals {
        let (status, body) = app.post("/wechat/inbox/notes/add", request.clone()).await;
        assert_field_error(status, &body, field);
    }
    let response = app
        .client
        .post(app.url("/wechat/inbox/notes/add"))
        .bearer_auth(&app.token)
        .header("content-type", "application/json")
        .body("{\"account_id\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.unwrap();
    assert_ne!(body["code"], 0);
    assert!(body["msg"].as_str().unwrap().contains("JSON"), "{body}");

    // Only its author or an admin deletes a note.
    app.add("/wechat/admins/add", json!({"username": "op_c", "password": "operator-pass-1", "role": "operator", "account_ids": [a]}))
        .await;
    let token = app.login("op_c", "operator-pass-1").await;
    let path = format!("/wechat/inbox/notes/del?id={note_id}");
    let (status, _) = app.send(Method::DELETE, &path, Some(&token), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = app.delete(&path).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app.delete(&path).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app.delete("/wechat/inbox/notes/del?id=abc").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn canned_replies_are_kept_per_account() {
    let app = TestApp::spawn().await;
    let a = app.add_account("wxinbox000000004").await;
    let b = app.add_account("wxinbox000000005").await;
    let hours = app
        .add(
            "/wechat/inbox/canned/add",
            json!({"account_id": a, "title": "营业时间", "content": "每天 9:00–21:00 营业。"}),
        )
        .await;
    app.add(
        "/wechat/inbox/canned/add",
        json!({"account_id": a, "title": "地址", "content": "天河路 1 号"}),
    )
    .await;
    app.add(
        "/wechat/inbox/canned/add",
        json!({"account_id": b, "title": "别的号", "content": "x"}),
    )
    .await;
    let (status, body) = app
        .get(&format!("/wechat/inbox/canned?account_id={a}"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["data"].as_array().unwrap().len(), 2);

    let id = hours["id"].as_str().unwrap();
    let (status, body) = app
        .put(
            "/wechat/inbox/canned/edit",
            json!({"id": id, "content": "每天 10:00–22:00 营业。"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["content"], "每天 10:00–22:00 营业。");
    assert_eq!(body["data"]["title"], "营业时间");

    let refusals = [
        (
            json!({"account_id": a, "title": "长".repeat(65), "content": "x"}),
            "title",
        ),
        (
            json!({"account_id": a, "title": "t", "content": "x".repeat(2001)}),
            "content",
        ),
        (json!({"account_id": a, "title": "t"}), "content"),
        (
            json!({"account_id": "424242", "title": "t", "content": "x"}),
            "account_id",
        ),
        (
            json!({"account_id": a, "title": "t", "content": "x", "color": "red"}),
            "color",
        ),
    ];
    for (request, field) in refusals {
        let (status, body) = app.post("/wechat/inbox/canned/add", request.clone()).await;
        assert_field_error(status, &body, field);
    }
    let (status, body) = app
        .put("/wechat/inbox/canned/edit", json!({"id": id, "title": ""}))
        .await;
    assert_field_error(status, &body, "title");
    let (status, _) = app
        .put(
            "/wechat/inbox/canned/edit",
            json!({"id": "777", "title": "x"}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (status, _) = app
        .delete(&format!("/wechat/inbox/canned/del?id={id}"))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, body) = app
        .get(&format!("/wechat/inbox/canned?account_id={a}"))
        .await;
    assert_eq!(body["data"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn inbox_queries_name_what_is_wrong() {
    let app = TestApp::spawn().await;
    let a = app.add_account("wxinbox000000006").await;
    for path in [
        "/wechat/inbox/conversations?account_id=123".to_string(),
        "/wechat/inbox/summary?account_id=123".to_string(),
        "/wechat/inbox/canned?account_id=123".to_string(),
        "/wechat/inbox/assignees?account_id=123".to_string(),
        "/wechat/inbox/notes?account_id=123&openid=o".to_string(),
        format!("/wechat/inbox/conversations?account_id={a}&filter=maybe"),
    ] {
        let (status, body) = app.get(&path).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{path}: {body}");
    }
    for path in [
        "/wechat/inbox/conversations?account_id=abc",
        "/wechat/inbox/conversations?assigned=someone",
        "/wechat/inbox/canned?account_id=",
    ] {
        let (status, body) = app.get(path).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {body}");
        assert!(!body["msg"].as_str().unwrap().is_empty());
    }
    let (status, body) = app
        .post(
            "/wechat/inbox/read",
            json!({"account_id": a, "openid": "o_none"}),
        )
        .await;
    assert_field_error(status, &body, "openid");
    let (status, _) = app
        .send(Method::GET, "/wechat/inbox/conversations", None, None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}
