//! The admin REST API for every `wx_*` resource, over HTTP, on the database
//! `WXMP_TEST_DATABASE` names.

use crate::helpers::{assert_field_error, urlencode, TestApp};
use reqwest::{Method, StatusCode};
use sea_orm::{ActiveModelTrait, IntoActiveModel};
use serde_json::{json, Value};

/// One CRUD resource: a valid new row, a filter that matches it, and an edit.
struct Case {
    base: &'static str,
    row: Value,
    filter: (&'static str, &'static str),
    edit: (&'static str, Value),
}

fn cases(account: &str) -> Vec<Case> {
    vec![
        Case {
            base: "/wechat/wxautoreplies",
            row: json!({"account_id": account, "reply_type": 2, "keyword": "你好", "match_type": 2,
                        "message_type": "text", "content": "欢迎 🎉", "priority": 5}),
            filter: ("reply_type", "2"),
            edit: ("content", json!("改过了 ✅")),
        },
        Case {
            base: "/wechat/wxmaterials",
            row: json!({"account_id": account, "media_type": "image", "media_id": "MEDIA_1", "name": "海报.png",
                        "file_size": 2048, "width": 640, "height": 480}),
            filter: ("media_type", "image"),
            edit: ("name", json!("新海报.png")),
        },
        Case {
            base: "/wechat/wxmenus",
            row: json!({"account_id": account, "menu_name": "菜单", "menu_type": "click", "menu_key": "K1"}),
            filter: ("menu_type", "click"),
            edit: ("menu_key", json!("K2")),
        },
        Case {
            base: "/wechat/wxmessages",
            row: json!({"account_id": account, "openid": "o_fan_1", "msg_type": "text", "direction": 0,
                        "content": "客服消息 😀"}),
            filter: ("openid", "o_fan_1"),
            edit: ("content", json!("已编辑")),
        },
        Case {
            base: "/wechat/wxusers",
            row: json!({"account_id": account, "openid": "o_fan_ROW", "nickname": "小明🙂", "tags": [2, 100]}),
            filter: ("subscribe_status", "1"),
            edit: ("remark", json!("老客户")),
        },
        Case {
            base: "/wechat/wxtemplates",
            row: json!({"account_id": account, "template_id": "TPL_ROW", "title": "订单通知",
                        "content": "{{first.DATA}}"}),
            filter: ("status", "1"),
            edit: ("title", json!("发货通知")),
        },
    ]
}

/// Makes a row unique per index where the table has a unique key.
fn nth_row(row: &Value, n: usize) -> Value {
    let mut row = row.clone();
    for field in ["openid", "template_id"] {
        if let Some(Value::String(value)) = row.get_mut(field) {
            *value = value.replace("ROW", &n.to_string());
        }
    }
    row
}

#[tokio::test]
async fn every_resource_adds_lists_filters_edits_and_deletes() {
    let app = TestApp::spawn().await;
    let account = app.add_account("wxcrud0000000001").await;
    let other_account = app.add_account("wxcrud0000000002").await;
    for case in cases(&account) {
        let base = case.base;
        // Three rows in the account, one in another: paging, account filter.
        let mut ids = Vec::new();
        for n in 0..3 {
            let created = app.add(&format!("{base}/add"), nth_row(&case.row, n)).await;
            let id = created["id"]
                .as_str()
                .unwrap_or_else(|| panic!("{base}: id must be a string"));
            assert!(
                id.parse::<i64>().unwrap() > 1 << 53,
                "{base}: snowflake ids exceed 2^53"
            );
            assert_eq!(created["account_id"], account.as_str());
            ids.push(id.to_string());
        }
        let mut elsewhere = nth_row(&case.row, 9);
        elsewhere["account_id"] = json!(other_account);
        if base == "/wechat/wxmenus" {
            // The other account is not full of buttons; nothing to change.
        }
        app.add(&format!("{base}/add"), elsewhere).await;

        let (status, page1) = app
            .get(&format!(
                "{base}/list?account_id={account}&page=1&page_size=2"
            ))
            .await;
        assert_eq!(status, StatusCode::OK, "{base}: {page1}");
        assert_eq!(page1["data"]["total"], 3, "{base}: {page1}");
        assert_eq!(page1["data"]["list"].as_array().unwrap().len(), 2);
        assert_eq!(page1["data"]["page"], 1);
        assert_eq!(page1["data"]["page_size"], 2);
        let (_, page2) = app
            .get(&format!(
                "{base}/list?account_id={account}&page=2&page_size=2"
            ))
            .await;
        assert_eq!(page2["data"]["list"].as_array().unwrap().len(), 1, "{base}");
        let (_, all) = app.get(&format!("{base}/list")).await;
        assert_eq!(all["data"]["total"], 4, "{base}");

        let (name, value) = case.filter;
        let (status, filtered) = app
            .get(&format!(
                "{base}/list?account_id={account}&{name}={}",
                urlencode(value)
            ))
            .await;
        assert_eq!(status, StatusCode::OK, "{base}: {filtered}");
        assert!(
            filtered["data"]["total"].as_u64().unwrap() >= 1,
            "{base} {name}={value}: {filtered}"
        );
        for row in filtered["data"]["list"].as_array().unwrap() {
            let shown = match &row[name] {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            assert_eq!(shown, value, "{base}: filter {name}");
        }
        let (_, none) = app
            .get(&format!(
                "{base}/list?account_id={account}&start=2099-01-01"
            ))
            .await;
        assert_eq!(none["data"]["total"], 0, "{base}: time range");

        // Edit one field; the rest of the row stays.
        let (field, new_value) = &case.edit;
        let (status, edited) = app
            .put(
                &format!("{base}/edit"),
                json!({"id": ids[0], *field: new_value}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{base}: {edited}");
        assert_eq!(&edited["data"][*field], new_value);
        assert_eq!(edited["data"]["account_id"], account.as_str());
        let (_, listed) = app
            .get(&format!("{base}/list?account_id={account}&page_size=100"))
            .await;
        let stored = listed["data"]["list"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == ids[0].as_str())
            .unwrap()
            .clone();
        assert_eq!(
            &stored[*field], new_value,
            "{base}: edit stored, Chinese and emoji intact"
        );
        for (key, value) in case.row.as_object().unwrap() {
            if key != field && !["openid", "template_id"].contains(&key.as_str()) {
                assert_eq!(&stored[key], value, "{base}: {key} round-trips");
            }
        }

        // Delete two by a comma-separated list; deleting again deletes nothing.
        let (status, deleted) = app
            .delete(&format!("{base}/del?id={},{}", ids[1], ids[2]))
            .await;
        assert_eq!(status, StatusCode::OK, "{base}: {deleted}");
        assert_eq!(deleted["data"]["deleted"], 2, "{base}");
        let (_, deleted) = app.delete(&format!("{base}/del?id={}", ids[1])).await;
        assert_eq!(deleted["data"]["deleted"], 0);
        let (_, rest) = app.get(&format!("{base}/list?account_id={account}")).await;
        assert_eq!(rest["data"]["total"], 1, "{base}");
    }
}

#[tokio::test]
async fn accounts_validate_mask_secrets_and_keep_them_on_edit() {
    let app = TestApp::spawn().await;
    let (status, body) = app
        .post(
            "/wechat/wxaccounts/add",
            json!({"app_id": "", "account_name": "", "token": "x", "encoding_aes_key": "short",
                   "message_mode": 7, "original_id": "nope"}),
        )
        .await;
    for field in [
        "app_id",
        "account_name",
        "token",
        "encoding_aes_key",
        "message_mode",
        "original_id",
    ] {
        assert_field_error(status, &body, field);
    }
    let (status, body) = app
        .post(
            "/wechat/wxaccounts/add",
            json!({"app_id": "wxmode2", "account_name": "AES", "token": "tok123", "message_mode": 2}),
        )
        .await;
    assert_field_error(status, &body, "encoding_aes_key");
    let (status, body) = app
        .post(
            "/wechat/wxaccounts/add",
            json!({"app_id": "wx1", "account_name": "x", "token": "tok123", "message_mode": "two"}),
        )
        .await;
    assert_field_error(status, &body, "message_mode");

    let id = app.add_account("wxsecret00000001").await;
    let (_, listed) = app.get("/wechat/wxaccounts/list").await;
    let account = &listed["data"]["list"][0];
    assert_eq!(account["app_secret"], "****cdef");
    assert_eq!(account["encoding_aes_key"], "****DEFG");
    assert_eq!(account["token"], "****oken");
    assert!(!listed
        .to_string()
        .contains("0123456789abcdef0123456789abcdef"));

    // Sending the whole row back, masks included, changes only what changed.
    let mut edit = account.clone();
    edit["account_name"] = json!("公众号 🚀");
    let (status, edited) = app.put("/wechat/wxaccounts/edit", edit).await;
    assert_eq!(status, StatusCode::OK, "{edited}");
    assert_eq!(edited["data"]["account_name"], "公众号 🚀");
    let stored = account_row(&app, &id).await;
    assert_eq!(stored.app_secret, "0123456789abcdef0123456789abcdef");
    assert_eq!(
        stored.encoding_aes_key,
        "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
    );
    assert_eq!(stored.token, "callbacktoken");
    assert_eq!(stored.account_name, "公众号 🚀");

    // A new secret replaces the old; read-only fields are ignored.
    let (status, _) = app
        .put(
            "/wechat/wxaccounts/edit",
            json!({"id": id, "app_secret": "fedcba9876543210fedcba9876543210", "access_token": "forged"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let stored = account_row(&app, &id).await;
    assert_eq!(stored.app_secret, "fedcba9876543210fedcba9876543210");
    assert_eq!(stored.access_token, "");

    // app_id is unique.
    let (status, body) = app
        .post(
            "/wechat/wxaccounts/add",
            json!({"app_id": "wxsecret00000001", "account_name": "dup", "token": "tok123"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_ne!(body["code"], 0);
}

async fn account_row(app: &TestApp, id: &str) -> wxmp::entity::accounts::Model {
    use sea_orm::EntityTrait;
    wxmp::entity::accounts::Entity::find_by_id(id.parse::<i64>().unwrap())
        .one(&app.server.state.db)
        .await
        .unwrap()
        .expect("account row")
}

#[tokio::test]
async fn children_need_a_real_account_and_valid_fields() {
    let app = TestApp::spawn().await;
    let account = app.add_account("wxchild000000001").await;
    let (status, body) = app
        .post(
            "/wechat/wxautoreplies/add",
            json!({"account_id": "123456789", "keyword": "k", "content": "c"}),
        )
        .await;
    assert_field_error(status, &body, "account_id");
    let (status, body) = app
        .post(
            "/wechat/wxautoreplies/add",
            json!({"keyword": "k", "content": "c"}),
        )
        .await;
    assert_field_error(status, &body, "account_id");
    let (status, body) = app
        .post(
            "/wechat/wxautoreplies/add",
            json!({"account_id": account, "keyword": "k", "message_type": "text"}),
        )
        .await;
    assert_field_error(status, &body, "content");
    let (status, body) = app
        .post(
            "/wechat/wxautoreplies/add",
            json!({"account_id": account, "reply_type": 9, "match_type": 4, "message_type": "gif"}),
        )
        .await;
    for field in ["reply_type", "match_type", "message_type"] {
        assert_field_error(status, &body, field);
    }
    let (status, body) = app
        .post(
            "/wechat/wxautoreplies/add",
            json!({"account_id": account, "message_type": "image", "keyword": "k"}),
        )
        .await;
    assert_field_error(status, &body, "media_id");
    let (status, body) = app
        .post(
            "/wechat/wxusers/add",
            json!({"account_id": account, "openid": "", "subscribe_status": 3}),
        )
        .await;
    assert_field_error(status, &body, "openid");
    assert_field_error(status, &body, "subscribe_status");
    let (status, body) = app
        .post(
            "/wechat/wxautoreplies/add",
            json!({"account_id": account, "keyword": "k", "content": "c", "colour": 1}),
        )
        .await;
    assert_field_error(status, &body, "colour");

    // A fan's openid is unique within its account.
    app.add(
        "/wechat/wxusers/add",
        json!({"account_id": account, "openid": "o_same"}),
    )
    .await;
    let (status, body) = app
        .post(
            "/wechat/wxusers/add",
            json!({"account_id": account, "openid": "o_same"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
}

#[tokio::test]
async fn menus_keep_wechat_limits_and_two_levels() {
    let app = TestApp::spawn().await;
    let account = app.add_account("wxmenu0000000001").await;
    let mut tops = Vec::new();
    for n in 0..3 {
        let top = app
            .add(
                "/wechat/wxmenus/add",
                json!({"account_id": account, "menu_name": format!("顶{n}"), "sort_order": n}),
            )
            .await;
        tops.push(top["id"].as_str().unwrap().to_string());
    }
    let (status, body) = app
        .post(
            "/wechat/wxmenus/add",
            json!({"account_id": account, "menu_name": "四"}),
        )
        .await;
    assert_field_error(status, &body, "parent_id");
    let (status, body) = app
        .post(
            "/wechat/wxmenus/add",
            json!({"account_id": account, "menu_name": "一二三四五六七八九", "parent_id": "0"}),
        )
        .await;
    assert_field_error(status, &body, "menu_name");

    let mut subs = Vec::new();
    for n in 0..5 {
        let sub = app
            .add(
                "/wechat/wxmenus/add",
                json!({"account_id": account, "parent_id": tops[0], "menu_name": format!("子{n}"),
                       "menu_type": "view", "url": "https://example.com/"}),
            )
            .await;
        subs.push(sub["id"].as_str().unwrap().to_string());
    }
    let (status, body) = app
        .post(
            "/wechat/wxmenus/add",
            json!({"account_id": account, "parent_id": tops[0], "menu_name": "six", "menu_type": "click", "menu_key": "k"}),
        )
        .await;
    assert_field_error(status, &body, "parent_id");
    let (status, body) = app
        .post(
            "/wechat/wxmenus/add",
            json!({"account_id": account, "parent_id": subs[0], "menu_name": "deep", "menu_type": "click", "menu_key": "k"}),
        )
        .await;
    assert_field_error(status, &body, "parent_id");
    let (status, body) = app
        .post(
            "/wechat/wxmenus/add",
            json!({"account_id": account, "parent_id": tops[1], "menu_name": "mini", "menu_type": "miniprogram"}),
        )
        .await;
    for field in ["appid", "pagepath", "url"] {
        assert_field_error(status, &body, field);
    }
    let (status, body) = app
        .post(
            "/wechat/wxmenus/add",
            json!({"account_id": account, "parent_id": tops[1], "menu_name": "v", "menu_type": "view", "url": "javascript:x"}),
        )
        .await;
    assert_field_error(status, &body, "url");

    // The tree comes back in order: top-level buttons, then their subs.
    let (_, listed) = app
        .get(&format!(
            "/wechat/wxmenus/list?account_id={account}&page_size=100"
        ))
        .await;
    let names: Vec<&str> = listed["data"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["menu_name"].as_str().unwrap())
        .collect();
    assert_eq!(&names[..3], &["顶0", "顶1", "顶2"]);

    // Deleting a parent deletes its sub-buttons.
    let (_, deleted) = app
        .delete(&format!("/wechat/wxmenus/del?id={}", tops[0]))
        .await;
    assert_eq!(deleted["data"]["deleted"], 1);
    let (_, listed) = app
        .get(&format!("/wechat/wxmenus/list?account_id={account}"))
        .await;
    assert_eq!(listed["data"]["total"], 2);
}

#[tokio::test]
async fn deleting_an_account_is_refused_while_it_has_children() {
    let app = TestApp::spawn().await;
    let account = app.add_account("wxdel00000000001").await;
    let fan = app
        .add(
            "/wechat/wxusers/add",
            json!({"account_id": account, "openid": "o_1"}),
        )
        .await;
    let (status, body) = app
        .delete(&format!("/wechat/wxaccounts/del?id={account}"))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(body["msg"].as_str().unwrap().contains("1 fans"), "{body}");
    let (_, listed) = app.get("/wechat/wxaccounts/list").await;
    assert_eq!(listed["data"]["total"], 1, "nothing was deleted");

    let (status, _) = app
        .delete(&format!(
            "/wechat/wxusers/del?id={}",
            fan["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = app
        .delete(&format!("/wechat/wxaccounts/del?id={account}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["deleted"], 1);
}

#[tokio::test]
async fn bad_requests_get_clear_errors() {
    let app = TestApp::spawn().await;
    let raw = |method: Method, path: &str, body: Vec<u8>| {
        app.client
            .request(method, app.url(path))
            .bearer_auth(&app.token)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let check = |response: reqwest::Response, expected: StatusCode, needle: &'static str| async move {
        let status = response.status();
        let body: Value = response.json().await.expect("an error body is JSON");
        assert_eq!(status, expected, "{body}");
        assert_eq!(body["code"], expected.as_u16());
        assert_eq!(body["data"], Value::Null);
        assert!(
            body["msg"].as_str().unwrap().contains(needle),
            "{needle}: {body}"
        );
    };
    check(
        raw(
            Method::POST,
            "/wechat/wxaccounts/add",
            b"{not json".to_vec(),
        )
        .await
        .unwrap(),
        StatusCode::BAD_REQUEST,
        "not valid JSON",
    )
    .await;
    check(
        raw(Method::POST, "/wechat/wxaccounts/add", b"[1,2]".to_vec())
            .await
            .unwrap(),
        StatusCode::BAD_REQUEST,
        "JSON object",
    )
    .await;
    check(
        raw(Method::POST, "/wechat/wxaccounts/add", Vec::new())
            .await
            .unwrap(),
        StatusCode::BAD_REQUEST,
        "empty",
    )
    .await;
    let huge = format!("{{\"account_name\":\"{}\"}}", "x".repeat(3 * 1024 * 1024));
    check(
        raw(Method::POST, "/wechat/wxaccounts/add", huge.into_bytes())
            .await
            .unwrap(),
        StatusCode::PAYLOAD_TOO_LARGE,
        "larger",
    )
    .await;
    check(
        raw(Method::DELETE, "/wechat/wxaccounts/del?id=abc", Vec::new())
            .await
            .unwrap(),
        StatusCode::BAD_REQUEST,
        "not an id",
    )
    .await;
    check(
        raw(Method::DELETE, "/wechat/wxaccounts/del", Vec::new())
            .await
            .unwrap(),
        StatusCode::BAD_REQUEST,
        "id is required",
    )
    .await;
    check(
        raw(Method::GET, "/wechat/wxusers/list?page=0", Vec::new())
            .await
            .unwrap(),
        StatusCode::BAD_REQUEST,
        "page",
    )
    .await;
    check(
        raw(
            Method::GET,
            "/wechat/wxusers/list?page_size=1000",
            Vec::new(),
        )
        .await
        .unwrap(),
        StatusCode::BAD_REQUEST,
        "page_size",
    )
    .await;
    check(
        raw(
            Method::GET,
            "/wechat/wxusers/list?account_id=xyz",
            Vec::new(),
        )
        .await
        .unwrap(),
        StatusCode::BAD_REQUEST,
        "account_id",
    )
    .await;
    check(
        raw(
            Method::GET,
            "/wechat/wxusers/list?start=yesterday",
            Vec::new(),
        )
        .await
        .unwrap(),
        StatusCode::BAD_REQUEST,
        "start",
    )
    .await;
    check(
        raw(Method::GET, "/wechat/nothing/here", Vec::new())
            .await
            .unwrap(),
        StatusCode::NOT_FOUND,
        "no such endpoint",
    )
    .await;
    check(
        raw(Method::PATCH, "/wechat/wxusers/list", Vec::new())
            .await
            .unwrap(),
        StatusCode::METHOD_NOT_ALLOWED,
        "method",
    )
    .await;
    check(
        raw(
            Method::PUT,
            "/wechat/wxusers/edit",
            br#"{"id":"42","remark":"x"}"#.to_vec(),
        )
        .await
        .unwrap(),
        StatusCode::NOT_FOUND,
        "not found",
    )
    .await;
    let (status, body) = app
        .put("/wechat/wxusers/edit", json!({"remark": "x"}))
        .await;
    assert_field_error(status, &body, "id");
}

#[tokio::test]
async fn ids_are_strings_and_accepted_as_numbers() {
    let app = TestApp::spawn().await;
    let account = app.add_account("wxids00000000001").await;
    let numeric: i64 = account.parse().unwrap();
    let fan = app
        .add(
            "/wechat/wxusers/add",
            json!({"account_id": numeric, "openid": "o_num"}),
        )
        .await;
    assert_eq!(fan["account_id"], account.as_str());
    let fan_id: i64 = fan["id"].as_str().unwrap().parse().unwrap();
    let (status, edited) = app
        .put(
            "/wechat/wxusers/edit",
            json!({"id": fan_id, "remark": "数字"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{edited}");
    assert_eq!(edited["data"]["id"], fan_id.to_string());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_adds_get_unique_ids_and_all_are_stored() {
    let app = TestApp::spawn().await;
    let account = app.add_account("wxconc0000000001").await;
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..40 {
        let request = app
            .client
            .post(app.url("/wechat/wxmessages/add"))
            .bearer_auth(&app.token)
            .json(&json!({"account_id": account, "openid": format!("o_{n}"), "content": format!("消息 {n}")}));
        tasks.spawn(async move {
            let body: Value = request.send().await.unwrap().json().await.unwrap();
            body["data"]["id"]
                .as_str()
                .unwrap_or_else(|| panic!("{body}"))
                .to_string()
        });
    }
    let mut ids = std::collections::HashSet::new();
    while let Some(id) = tasks.join_next().await {
        assert!(ids.insert(id.unwrap()));
    }
    assert_eq!(ids.len(), 40);
    let (_, listed) = app
        .get(&format!("/wechat/wxmessages/list?account_id={account}"))
        .await;
    assert_eq!(listed["data"]["total"], 40);
}

#[tokio::test]
async fn pay_and_template_send_lists_filter_by_state_and_time() {
    use wxmp::entity::{pay_orders, pay_refunds, template_logs};
    let app = TestApp::spawn().await;
    let account: i64 = app.add_account("wxpay00000000001").await.parse().unwrap();
    let db = &app.server.state.db;
    let now = chrono::Utc::now();
    for (n, state) in ["SUCCESS", "NOTPAY", "SUCCESS"].iter().enumerate() {
        let order = pay_orders::Model {
            id: app.server.state.ids.next_id().unwrap(),
            account_id: account,
            out_trade_no: format!("T{n}"),
            openid: "o_payer".into(),
            total_fee: 100,
            trade_state: state.to_string(),
            description: "会员 🎫".into(),
            trade_type: "JSAPI".into(),
            created_at: now,
            updated_at: now,
            ..Default::default()
        };
        let order = order
            .into_active_model()
            .reset_all()
            .insert(db)
            .await
            .unwrap();
        let refund = pay_refunds::Model {
            id: app.server.state.ids.next_id().unwrap(),
            account_id: account,
            order_id: order.id,
            out_trade_no: order.out_trade_no.clone(),
            out_refund_no: format!("R{n}"),
            refund_fee: 10,
            total_fee: 100,
            status: "PROCESSING".into(),
            created_at: now,
            updated_at: now,
            ..Default::default()
        };
        refund
            .into_active_model()
            .reset_all()
            .insert(db)
            .await
            .unwrap();
        let log = template_logs::Model {
            id: app.server.state.ids.next_id().unwrap(),
            account_id: account,
            template_id: "TPL".into(),
            openid: format!("o_{n}"),
            data: Some(json!({"first": {"value": "你好"}})),
            status: "sent".into(),
            created_at: now,
            updated_at: now,
            ..Default::default()
        };
        log.into_active_model()
            .reset_all()
            .insert(db)
            .await
            .unwrap();
    }
    let (status, orders) = app
        .get(&format!(
            "/wechat/wxpay/orders?account_id={account}&trade_state=SUCCESS"
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{orders}");
    assert_eq!(orders["data"]["total"], 2);
    assert_eq!(orders["data"]["list"][0]["description"], "会员 🎫");
    let (_, orders) = app
        .get(&format!(
            "/wechat/wxpay/orders?account_id={account}&end=2000-01-01"
        ))
        .await;
    assert_eq!(orders["data"]["total"], 0);
    let (_, refunds) = app
        .get(&format!(
            "/wechat/wxpay/refunds?account_id={account}&out_refund_no=R1"
        ))
        .await;
    assert_eq!(refunds["data"]["total"], 1);
    let (_, logs) = app
        .get(&format!(
            "/wechat/wxtemplates/logs?account_id={account}&openid=o_2"
        ))
        .await;
    assert_eq!(logs["data"]["total"], 1);
    assert_eq!(logs["data"]["list"][0]["data"]["first"]["value"], "你好");
}

#[tokio::test]
async fn keyword_search_takes_percent_underscore_and_bang_literally() {
    let app = TestApp::spawn().await;
    let account = app.add_account("wxlike0000000001").await;
    let seed = app.seed(&account);
    for keyword in ["满100减20", "100%好评", "a_b", "a!b", "axb"] {
        seed.rule(json!({"reply_type": 2, "keyword": keyword, "match_type": 2, "content": "c"}))
            .await;
    }
    for (search, expected) in [
        ("%", vec!["100%好评"]),
        ("_", vec!["a_b"]),
        ("!", vec!["a!b"]),
        ("a_b", vec!["a_b"]),
        ("0%好", vec!["100%好评"]),
        ("100", vec!["100%好评", "满100减20"]),
    ] {
        let (status, body) = app
            .get(&format!(
                "/wechat/wxautoreplies/list?account_id={account}&keyword={}",
                urlencode(search)
            ))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let mut found: Vec<&str> = body["data"]["list"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["keyword"].as_str().unwrap())
            .collect();
        found.sort();
        assert_eq!(found, expected, "keyword={search}");
    }
}
