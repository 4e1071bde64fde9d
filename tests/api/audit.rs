//! The audit trail: every change through the admin API is recorded with who,
//! from where, what and the diff (secrets masked), in the same transaction as
//! the change; only admins can read it, through filters.

use reqwest::StatusCode;
use serde_json::{json, Value};
use wxmp::dev::fake_wechat::FakeWeChat;

use crate::helpers::{urlencode, TestApp, ADMIN_USER};

const SECRET: &str = "0123456789abcdef0123456789abcdef";

/// The trail's rows for `query` (admin token), newest first.
async fn trail(app: &TestApp, query: &str) -> Vec<Value> {
    let (status, body) = app.get(&format!("/wechat/audit_log/list?{query}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["data"]["list"].as_array().unwrap().clone()
}

#[tokio::test]
async fn account_changes_are_recorded_with_a_diff_that_never_shows_a_secret() {
    let app = TestApp::spawn().await;
    let account = app.add_account("wxaudit00000001").await;
    let (status, body) = app
        .put(
            "/wechat/wxaccounts/edit",
            json!({"id": account, "account_name": "门店号", "app_secret": "fedcba9876543210fedcba9876543210"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let rows = trail(&app, &format!("resource=account&resource_id={account}")).await;
    assert_eq!(rows.len(), 2, "{rows:?}");
    let (edit, create) = (&rows[0], &rows[1]);
    assert_eq!(create["action"], "create");
    assert_eq!(create["admin_name"], ADMIN_USER);
    assert_eq!(create["account_id"], account.as_str());
    assert_eq!(create["ip"], "127.0.0.1");
    assert_eq!(create["changes"]["app_id"]["to"], "wxaudit00000001");
    assert_eq!(create["changes"]["app_secret"]["to"], "****");
    assert_eq!(edit["action"], "update");
    assert_eq!(
        edit["changes"]["account_name"],
        json!({"from": "account wxaudit00000001", "to": "门店号"})
    );
    assert_eq!(
        edit["changes"]["app_secret"],
        json!({"from": "****", "to": "****"})
    );
    // Only what changed: the app id stayed.
    assert!(edit["changes"].get("app_id").is_none(), "{edit}");

    let (status, body) = app
        .delete(&format!("/wechat/wxaccounts/del?id={account}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let deleted = trail(&app, &format!("action=delete&resource_id={account}")).await;
    assert_eq!(deleted.len(), 1);
    assert_eq!(deleted[0]["changes"]["token"]["from"], "****");
    assert_eq!(deleted[0]["changes"]["account_name"]["from"], "门店号");

    // No secret of the account appears anywhere in the trail.
    let (_, whole) = app.get("/wechat/audit_log/list?page_size=100").await;
    let text = whole.to_string();
    for secret in [
        SECRET,
        "fedcba9876543210fedcba9876543210",
        "callbacktoken",
        "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
    ] {
        assert!(!text.contains(secret), "secret {secret} in the trail");
    }
}

#[tokio::test]
async fn a_refused_change_leaves_no_record_and_a_failed_record_undoes_the_change() {
    let app = TestApp::spawn().await;
    let account = app.add_account("wxaudit00000002").await;
    let seed = app.seed(&account);
    seed.rule(json!({"keyword": "hi", "reply_type": 2, "match_type": 1, "message_type": "text", "content": "hello"}))
        .await;
    let before = trail(&app, "page_size=100").await.len();

    // Refused by validation, by a conflict, and by a row that still has
    // others depending on it: no record.
    let (status, _) = app
        .post(
            "/wechat/wxautoreplies/add",
            json!({"account_id": account, "match_type": 9}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = app
        .post(
            "/wechat/wxaccounts/add",
            json!({"app_id": "wxaudit00000002", "account_name": "again", "original_id": "gh_again",
                   "token": "callbacktoken", "message_mode": 0}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, _) = app
        .delete(&format!("/wechat/wxaccounts/del?id={account}"))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(trail(&app, "page_size=100").await.len(), before);

    // When the record cannot be written, the change is not made either:
    // the audit table is gone, so the edit fails and the rule is unchanged.
    use sea_orm::ConnectionTrait;
    let db = &app.server.state.db;
    db.execute_unprepared("DROP TABLE audit_log").await.unwrap();
    let (_, rules) = app
        .get(&format!("/wechat/wxautoreplies/list?account_id={account}"))
        .await;
    let rule = rules["data"]["list"][0]["id"].clone();
    let (status, body) = app
        .put(
            "/wechat/wxautoreplies/edit",
            json!({"id": rule, "content": "changed"}),
        )
        .await;
    assert!(status.is_server_error(), "{status} {body}");
    let (_, rules) = app
        .get(&format!("/wechat/wxautoreplies/list?account_id={account}"))
        .await;
    assert_eq!(rules["data"]["list"][0]["content"], "hello");
}

#[tokio::test]
async fn admins_and_passwords_are_recorded_and_only_admins_read_the_trail() {
    let app = TestApp::spawn().await;
    let mine = app.add_account("wxaudit00000003").await;
    let other = app.add_account("wxaudit00000004").await;
    let operator = app
        .add(
            "/wechat/admins/add",
            json!({"username": "op-audit", "password": "operator-pass-1", "role": "operator", "account_ids": [mine]}),
        )
        .await;
    let operator_id = operator["id"].as_str().unwrap().to_string();
    let token = app.login("op-audit", "operator-pass-1").await;

    // The operator changes a rule of their account and their password.
    let (status, body) = app
        .post_as(
            &token,
            "/wechat/wxautoreplies/add",
            json!({"account_id": mine, "reply_type": 2, "keyword": "营业时间", "match_type": 1, "message_type": "text", "content": "9:00–18:00"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = app
        .post_as(
            &token,
            "/auth/password",
            json!({"old_password": "operator-pass-1", "new_password": "operator-pass-2"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // Operators cannot read the trail, not even their own rows.
    let token = app.login("op-audit", "operator-pass-2").await;
    let (status, body) = app
        .send(
            reqwest::Method::GET,
            "/wechat/audit_log/list",
            Some(&token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");

    let theirs = trail(&app, &format!("admin_id={operator_id}")).await;
    let actions: Vec<&str> = theirs
        .iter()
        .map(|r| r["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["change_password", "create"], "{theirs:?}");
    assert_eq!(theirs[1]["resource"], "auto_reply");
    assert_eq!(theirs[1]["account_id"], mine.as_str());
    assert_eq!(theirs[1]["changes"]["keyword"]["to"], "营业时间");
    assert_eq!(
        trail(&app, "admin_name=op-audit").await.len(),
        2,
        "by user name"
    );

    // The admin's creation of the operator: role and accounts, the
    // password only as ****.
    let created = trail(&app, &format!("resource=admin&resource_id={operator_id}")).await;
    let created = created.last().unwrap();
    assert_eq!(created["admin_name"], ADMIN_USER);
    assert_eq!(created["changes"]["role"]["to"], "operator");
    assert_eq!(created["changes"]["password"]["to"], "****");

    // Edits and deletes of admins too.
    let (status, _) = app
        .put(
            "/wechat/admins/edit",
            json!({"id": operator_id, "account_ids": [mine, other], "password": "operator-pass-3"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let edit = &trail(&app, &format!("action=update&resource_id={operator_id}")).await[0];
    assert_eq!(edit["changes"]["account_ids"]["to"], json!([mine, other]));
    assert_eq!(
        edit["changes"]["password"],
        json!({"from": "****", "to": "****"})
    );
    let (status, _) = app
        .delete(&format!("/wechat/admins/del?id={operator_id}"))
        .await;
    assert_eq!(status, StatusCode::OK);
    let gone = trail(&app, &format!("action=delete&resource_id={operator_id}")).await;
    assert_eq!(gone[0]["changes"]["username"]["from"], "op-audit");

    // Passwords never appear.
    let (_, whole) = app.get("/wechat/audit_log/list?page_size=100").await;
    for password in ["operator-pass-1", "operator-pass-2", "operator-pass-3"] {
        assert!(!whole.to_string().contains(password));
    }
    // Rows of an account are found by account_id; the operator's rows stay
    // after the operator is deleted.
    assert_eq!(
        trail(&app, &format!("account_id={mine}&resource=auto_reply"))
            .await
            .len(),
        1
    );
    assert_eq!(
        trail(&app, &format!("admin_id={operator_id}")).await.len(),
        2
    );
}

#[tokio::test]
async fn filters_pages_and_bad_parameters() {
    let app = TestApp::spawn().await;
    let account = app.add_account("wxaudit00000005").await;
    let seed = app.seed(&account);
    for n in 0..5 {
        seed.rule(json!({"reply_type": 2, "keyword": format!("k{n}"), "match_type": 1, "message_type": "text", "content": "r"}))
            .await;
    }
    let (status, body) = app
        .get("/wechat/audit_log/list?resource=auto_reply&page=2&page_size=2")
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["total"], 5);
    let page: Vec<&str> = body["data"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["changes"]["keyword"]["to"].as_str().unwrap())
        .collect();
    assert_eq!(page, ["k2", "k1"], "newest first");

    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    assert_eq!(
        trail(&app, &format!("start={today}&action=create&page_size=100"))
            .await
            .len(),
        6
    );
    let tomorrow = (chrono::Utc::now() + chrono::Duration::days(1)).format("%Y-%m-%d");
    assert!(trail(&app, &format!("start={tomorrow}")).await.is_empty());
    assert!(trail(&app, "resource=pay_order").await.is_empty());
    // Filters are exact values, not patterns.
    assert!(trail(&app, &format!("resource={}", urlencode("%")))
        .await
        .is_empty());

    for query in [
        "admin_id=abc",
        "account_id=1x",
        "start=yesterday",
        "page=0",
        "page_size=1000",
    ] {
        let (status, body) = app.get(&format!("/wechat/audit_log/list?{query}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
        let message = body["msg"].as_str().unwrap();
        let name = query.split('=').next().unwrap();
        assert!(message.contains(name), "{query}: {message}");
    }
    // No route changes the trail.
    for (method, path) in [
        (reqwest::Method::POST, "/wechat/audit_log/add"),
        (reqwest::Method::PUT, "/wechat/audit_log/edit"),
        (reqwest::Method::DELETE, "/wechat/audit_log/del?id=1"),
    ] {
        let response = app
            .client
            .request(method, app.url(path))
            .bearer_auth(&app.token)
            .send()
            .await
            .unwrap();
        assert!(response.status().is_client_error(), "{path}");
    }
}

#[tokio::test]
async fn actions_on_wechat_are_recorded_once_they_succeeded() {
    let fake = FakeWeChat::new(&[("wxaudit00000006", SECRET)]);
    let addr = fake.start("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let app = TestApp::spawn_with(|config| config.wechat_api_base = format!("http://{addr}")).await;
    let account = app.add_account("wxaudit00000006").await;
    app.put(
        "/wechat/wxaccounts/edit",
        json!({"id": account, "app_secret": SECRET}),
    )
    .await;
    let seed = app.seed(&account);
    let publish = || app.post("/wechat/wxmenus/pull_menu", json!({"account_id": account}));

    // A menu WeChat would refuse (a group without buttons) is not published:
    // nothing is recorded.
    seed.menu_button(json!({"menu_name": "服务"})).await;
    let (status, _) = publish().await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(trail(&app, "action=publish_menu").await.is_empty());

    let (_, menus) = app
        .get(&format!("/wechat/wxmenus/list?account_id={account}"))
        .await;
    let group = menus["data"]["list"][0]["id"].clone();
    seed.menu_button(json!({"parent_id": group, "menu_name": "联系我们", "menu_type": "click", "menu_key": "CONTACT"}))
        .await;
    let (status, body) = publish().await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let published = trail(&app, "action=publish_menu").await;
    assert_eq!(published.len(), 1);
    assert_eq!(published[0]["resource"], "menu");
    assert_eq!(published[0]["account_id"], account.as_str());
    assert!(
        published[0]["changes"].to_string().contains("联系我们"),
        "the published menu: {}",
        published[0]
    );

    let (status, _) = app.post("/wechat/plugins/reload", json!({})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(trail(&app, "resource=plugin&action=reload").await.len(), 1);
}
