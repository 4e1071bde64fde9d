//! The WeChat API client and the endpoints that use it, against our fake
//! WeChat over real HTTP: tokens, retries, menus, customer-service messages,
//! the conversation view, templates and late replies.

use std::sync::Arc;
use std::time::Duration;

use crate::helpers::TestApp;
use crate::wechat::Peer;
use reqwest::StatusCode;
use serde_json::{json, Value};
use wxmp::dev::fake_wechat::FakeWeChat;

const SECRET: &str = "0123456789abcdef0123456789abcdef";

/// A server whose WeChat is a fresh fake knowing the given apps.
async fn spawn(
    apps: &[&str],
    adjust: impl FnOnce(&mut wxmp::config::Config),
) -> (TestApp, FakeWeChat) {
    let pairs: Vec<(&str, &str)> = apps.iter().map(|a| (*a, SECRET)).collect();
    let fake = FakeWeChat::new(&pairs);
    let addr = fake.start("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let app = TestApp::spawn_with(|config| {
        config.wechat_api_base = format!("http://{addr}");
        adjust(config);
    })
    .await;
    (app, fake)
}

async fn account(app: &TestApp, app_id: &str) -> Peer {
    // Peer::create stores the secret from add_account's defaults.
    let peer = Peer::create(app, app_id, 0).await;
    app.put(
        "/wechat/wxaccounts/edit",
        json!({"id": peer.account_id, "app_secret": SECRET}),
    )
    .await;
    peer
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_concurrent_calls_fetch_one_token_and_rejected_tokens_are_replaced_once() {
    let (app, fake) = spawn(&["wxtoken000000001"], |_| {}).await;
    let peer = account(&app, "wxtoken000000001").await;
    let app = Arc::new(app);
    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..100 {
        let (app, account_id) = (app.clone(), peer.account_id.clone());
        calls.spawn(async move {
            app.post(
                "/wechat/wxmenus/delete_remote_menu",
                json!({"account_id": account_id}),
            )
            .await
        });
    }
    while let Some(result) = calls.join_next().await {
        let (status, body) = result.unwrap();
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    assert_eq!(fake.token_requests(), 1, "single flight");
    let stable = fake
        .recorded()
        .into_iter()
        .find(|r| r.path == "/cgi-bin/stable_token")
        .unwrap();
    let body: Value = serde_json::from_str(&stable.body).unwrap();
    assert_eq!(body["grant_type"], "client_credential");
    assert_eq!(body["appid"], "wxtoken000000001");
    assert_eq!(body["force_refresh"], false);
    // The token is kept in the database too.
    let (_, listed) = app.get("/wechat/wxaccounts/list").await;
    assert!(listed["data"]["list"][0]["token_expires_at"].is_string());
    assert!(
        listed["data"]["list"][0]["access_token"]
            .as_str()
            .unwrap()
            .starts_with("****"),
        "masked"
    );

    // Expired, then revoked: each time one refresh and one retry.
    for (break_tokens, errcode) in [
        (FakeWeChat::expire_tokens as fn(&FakeWeChat), 42001),
        (FakeWeChat::revoke_tokens, 40001),
    ] {
        break_tokens(&fake);
        let before = fake.token_requests();
        let (status, body) = app
            .post(
                "/wechat/wxmenus/delete_remote_menu",
                json!({"account_id": peer.account_id}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "after {errcode}: {body}");
        assert_eq!(fake.token_requests(), before + 1, "after {errcode}");
        let refresh = fake
            .recorded()
            .into_iter()
            .rev()
            .find(|r| r.path == "/cgi-bin/stable_token")
            .unwrap();
        assert!(
            refresh.body.contains("\"force_refresh\":true"),
            "{}",
            refresh.body
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_sharing_a_revoked_token_all_succeed_after_one_refresh() {
    let (app, fake) = spawn(&["wxrevoke00000001"], |_| {}).await;
    let peer = account(&app, "wxrevoke00000001").await;
    let app = Arc::new(app);
    let call = |app: Arc<TestApp>, account_id: String| async move {
        app.post(
            "/wechat/wxmenus/delete_remote_menu",
            json!({"account_id": account_id}),
        )
        .await
    };
    let (status, body) = call(app.clone(), peer.account_id.clone()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // The race showed in about one round in seven: try many rounds.
    for round in 0..15 {
        fake.revoke_tokens();
        let before = fake.token_requests();
        let mut calls = tokio::task::JoinSet::new();
        for _ in 0..20 {
            calls.spawn(call(app.clone(), peer.account_id.clone()));
        }
        while let Some(result) = calls.join_next().await {
            let (status, body) = result.unwrap();
            assert_eq!(status, StatusCode::OK, "round {round}: {body}");
        }
        assert_eq!(
            fake.token_requests(),
            before + 1,
            "round {round}: one refresh"
        );
    }
}

#[tokio::test]
async fn busy_is_retried_and_other_errors_are_clear_and_not_retried() {
    let (app, fake) = spawn(&["wxretry000000001"], |_| {}).await;
    let peer = account(&app, "wxretry000000001").await;
    let deletes = |fake: &FakeWeChat| {
        fake.recorded()
            .iter()
            .filter(|r| r.path == "/cgi-bin/menu/delete")
            .count()
    };

    fake.fail_next("/cgi-bin/menu/delete", &[-1]);
    let (status, _) = app
        .post(
            "/wechat/wxmenus/delete_remote_menu",
            json!({"account_id": peer.account_id}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(deletes(&fake), 2);

    fake.fail_next("/cgi-bin/menu/delete", &[-1, -1, -1]);
    let (status, body) = app
        .post(
            "/wechat/wxmenus/delete_remote_menu",
            json!({"account_id": peer.account_id}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{body}");
    assert_eq!(body["data"]["errcode"], -1);
    assert_eq!(deletes(&fake), 5, "three attempts in all");

    fake.fail_next("/cgi-bin/menu/delete", &[40164]);
    let (status, body) = app
        .post(
            "/wechat/wxmenus/delete_remote_menu",
            json!({"account_id": peer.account_id}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    assert_eq!(body["data"]["errcode"], 40164);
    assert!(
        body["msg"].as_str().unwrap().contains("whitelist"),
        "a hint: {body}"
    );
    assert_eq!(deletes(&fake), 6, "not retried");

    // A wrong secret is WeChat's 40125, with a hint (once the cached token is gone).
    app.put(
        "/wechat/wxaccounts/edit",
        json!({"id": peer.account_id, "app_secret": "wrongwrongwrongwrongwrongwrong12"}),
    )
    .await;
    fake.revoke_tokens();
    let (status, body) = app
        .post(
            "/wechat/wxmenus/delete_remote_menu",
            json!({"account_id": peer.account_id}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    assert_eq!(body["data"]["errcode"], 40125);
    assert!(
        !body.to_string().contains("wrongwrong"),
        "the secret never shows"
    );
}

#[tokio::test]
async fn menus_are_checked_published_synced_and_deleted() {
    let (app, fake) = spawn(&["wxmenuapi0000001"], |_| {}).await;
    let peer = account(&app, "wxmenuapi0000001").await;
    let add = |body: Value| {
        let mut body = body;
        body["account_id"] = json!(peer.account_id);
        app.add("/wechat/wxmenus/add", body)
    };
    let group = add(json!({"menu_name": "服务", "sort_order": 1})).await;
    add(json!({"menu_name": "官网", "menu_type": "view", "url": "https://example.com/", "sort_order": 0})).await;

    // A group without sub-buttons is refused before WeChat is called.
    let (status, body) = app
        .post(
            "/wechat/wxmenus/pull_menu",
            json!({"account_id": peer.account_id}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body["msg"].as_str().unwrap().contains("服务"), "{body}");
    assert!(fake
        .recorded()
        .iter()
        .all(|r| r.path != "/cgi-bin/menu/create"));

    add(json!({"parent_id": group["id"], "menu_name": "联系我们", "menu_type": "click", "menu_key": "CONTACT"})).await;
    add(json!({"parent_id": group["id"], "menu_name": "小程序", "menu_type": "miniprogram", "appid": "wxmini",
               "pagepath": "pages/index", "url": "https://example.com/m", "sort_order": 1})).await;
    let (status, body) = app
        .post(
            "/wechat/wxmenus/pull_menu",
            json!({"account_id": peer.account_id}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Counted as sync counts: top-level buttons plus sub-buttons (官网, 服务, and its two).
    assert_eq!(body["data"]["published"], 4, "{body}");
    assert_eq!(
        fake.menu("wxmenuapi0000001").unwrap(),
        json!({"button": [
            {"type": "view", "name": "官网", "url": "https://example.com/"},
            {"name": "服务", "sub_button": [
                {"type": "click", "name": "联系我们", "key": "CONTACT"},
                {"type": "miniprogram", "name": "小程序", "appid": "wxmini", "pagepath": "pages/index", "url": "https://example.com/m"},
            ]},
        ]})
    );
    let create = fake
        .recorded()
        .into_iter()
        .find(|r| r.path == "/cgi-bin/menu/create")
        .unwrap();
    assert!(
        create.body.contains("联系我们"),
        "UTF-8 as is, not escaped: {}",
        create.body
    );
    assert!(create.query.contains_key("access_token"));

    // Sync replaces the stored tree with WeChat's, sub-buttons under their parents.
    fake.set_menu("wxmenuapi0000001", json!({"button": [
        {"name": "更多", "sub_button": [{"type": "click", "name": "签到", "key": "SIGN"}, {"type": "view", "name": "帮助", "url": "https://example.com/h"}]},
    ]}));
    let (status, body) = app
        .post(
            "/wechat/wxmenus/sync_menu",
            json!({"account_id": peer.account_id}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["stored"], 3);
    let (_, listed) = app
        .get(&format!(
            "/wechat/wxmenus/list?account_id={}&page_size=100",
            peer.account_id
        ))
        .await;
    let rows = listed["data"]["list"].as_array().unwrap();
    let parent = rows.iter().find(|m| m["menu_name"] == "更多").unwrap();
    assert_eq!(parent["parent_id"], "0");
    assert_eq!(
        rows.iter()
            .filter(|m| m["parent_id"] == parent["id"])
            .count(),
        2
    );
    // Twice: the same tree.
    app.post(
        "/wechat/wxmenus/sync_menu",
        json!({"account_id": peer.account_id}),
    )
    .await;
    let (_, again) = app
        .get(&format!(
            "/wechat/wxmenus/list?account_id={}&page_size=100",
            peer.account_id
        ))
        .await;
    assert_eq!(again["data"]["total"], 3);

    let (status, _) = app
        .post(
            "/wechat/wxmenus/delete_remote_menu",
            json!({"account_id": peer.account_id}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(fake.menu("wxmenuapi0000001").is_none());
}

/// Issue 13, bug 9: after a reload nothing showed what is live on WeChat.
#[tokio::test]
async fn what_is_live_on_wechat_is_kept_and_compared_with_the_draft() {
    let (app, fake) = spawn(&["wxmenulive000001"], |_| {}).await;
    let peer = account(&app, "wxmenulive000001").await;
    let live = || async {
        let (status, body) = app
            .get(&format!(
                "/wechat/wxmenus/live?account_id={}",
                peer.account_id
            ))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["data"].clone()
    };
    let account = json!({"account_id": peer.account_id});
    // Never published nor read: unknown; the (empty) draft is shown anyway.
    let before = live().await;
    assert_eq!(before["live"], Value::Null);
    assert_eq!(before["draft"], json!({"button": []}));

    let add = |body: Value| {
        let mut body = body;
        body["account_id"] = json!(peer.account_id);
        app.add("/wechat/wxmenus/add", body)
    };
    add(json!({"menu_name": "官网", "menu_type": "view", "url": "https://example.com/"})).await;
    let (status, body) = app.post("/wechat/wxmenus/pull_menu", account.clone()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let published = live().await;
    assert_eq!(published["live"]["source"], "published");
    assert_eq!(published["live"]["admin_name"], "admin");
    assert_eq!(published["live"]["same_as_draft"], true);
    assert_eq!(
        published["live"]["menu"],
        fake.menu("wxmenulive000001").unwrap()
    );
    assert!(published["live"]["seen_at"].is_string());

    // The draft moves on; what is live stays as published.
    add(json!({"menu_name": "签到", "menu_type": "click", "menu_key": "SIGN", "sort_order": 1}))
        .await;
    let edited = live().await;
    assert_eq!(edited["live"]["same_as_draft"], false);
    assert_eq!(edited["live"]["menu"], published["live"]["menu"]);
    assert_eq!(edited["draft"]["button"].as_array().unwrap().len(), 2);

    // Changed on WeChat's console: a check reads it, the draft stays.
    fake.set_menu(
        "wxmenulive000001",
        json!({"button": [{"type": "click", "name": "客服", "key": "KF"}]}),
    );
    let (status, body) = app
        .post("/wechat/wxmenus/check_menu", account.clone())
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["live"]["source"], "checked");
    assert_eq!(
        body["data"]["live"]["menu"],
        json!({"button": [{"type": "click", "name": "客服", "key": "KF"}]})
    );
    assert_eq!(body["data"]["draft"], edited["draft"]);

    // Sync makes the draft what is live.
    app.post("/wechat/wxmenus/sync_menu", account.clone()).await;
    let synced = live().await;
    assert_eq!(synced["live"]["source"], "synced");
    assert_eq!(synced["live"]["same_as_draft"], true);

    // Deleted on WeChat: no buttons live, the draft kept.
    app.post("/wechat/wxmenus/delete_remote_menu", account.clone())
        .await;
    let deleted = live().await;
    assert_eq!(deleted["live"]["source"], "deleted");
    assert_eq!(deleted["live"]["menu"], json!({"button": []}));
    assert_eq!(deleted["live"]["same_as_draft"], false);

    let (status, body) = app.get("/wechat/wxmenus/live?account_id=x").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, body) = app.get("/wechat/wxmenus/live").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
}

#[tokio::test]
async fn customer_service_replies_respect_the_48_hour_window() {
    let (app, fake) = spawn(&["wxreply000000001"], |_| {}).await;
    let peer = account(&app, "wxreply000000001").await;
    peer.send(&app, &peer.text("o_fan", "你好", 1)).await;

    let (status, body) = app
        .post(
            "/wechat/wxmessages/reply",
            json!({"account_id": peer.account_id, "openid": "o_fan", "content": "客服回复 😊"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["direction"], 0);
    assert_eq!(body["data"]["is_auto_reply"], 0);
    assert_eq!(
        fake.sent().last().unwrap(),
        &json!({"touser": "o_fan", "msgtype": "text", "text": {"content": "客服回复 😊"}})
    );

    let (status, body) = app
        .post("/wechat/wxmessages/reply", json!({"account_id": peer.account_id, "openid": "o_fan", "msg_type": "news",
               "articles": [{"title": "标题", "description": "d", "url": "https://example.com", "pic_url": "https://example.com/p.jpg"}]}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        fake.sent().last().unwrap()["news"]["articles"][0]["picurl"],
        "https://example.com/p.jpg"
    );

    // WeChat says the window closed: a clear 45015, nothing stored as sent.
    fake.close_window("o_fan");
    let (status, body) = app
        .post(
            "/wechat/wxmessages/reply",
            json!({"account_id": peer.account_id, "openid": "o_fan", "content": "晚了"}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    assert_eq!(body["data"]["errcode"], 45015);
    assert!(body["msg"].as_str().unwrap().contains("48-hour"), "{body}");

    // Known locally to be outside the window: refused without calling WeChat.
    let (_, fans) = app
        .get(&format!(
            "/wechat/wxusers/list?account_id={}&openid=o_fan",
            peer.account_id
        ))
        .await;
    let fan_id = fans["data"]["list"][0]["id"].as_str().unwrap();
    app.put(
        "/wechat/wxusers/edit",
        json!({"id": fan_id, "last_interact_time": "2020-01-01T00:00:00Z"}),
    )
    .await;
    let sends = fake
        .recorded()
        .iter()
        .filter(|r| r.path == "/cgi-bin/message/custom/send")
        .count();
    let (status, body) = app
        .post(
            "/wechat/wxmessages/reply",
            json!({"account_id": peer.account_id, "openid": "o_fan", "content": "晚了"}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    assert_eq!(body["data"]["errcode"], 45015);
    assert_eq!(
        fake.recorded()
            .iter()
            .filter(|r| r.path == "/cgi-bin/message/custom/send")
            .count(),
        sends
    );

    let (status, body) = app
        .post(
            "/wechat/wxmessages/reply",
            json!({"account_id": peer.account_id, "openid": "o_fan", "msg_type": "image"}),
        )
        .await;
    crate::helpers::assert_field_error(status, &body, "media_id");

    // The conversation: both ways, in time order, with the fan.
    let (status, body) = app
        .get(&format!(
            "/wechat/wxmessages/conversation?account_id={}&openid=o_fan",
            peer.account_id
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let list = body["data"]["list"].as_array().unwrap();
    let contents: Vec<&str> = list
        .iter()
        .map(|m| m["content"].as_str().unwrap())
        .collect();
    assert_eq!(contents, ["你好", "客服回复 😊", "标题"]);
    assert_eq!(body["data"]["fan"]["openid"], "o_fan");
    assert_eq!(body["data"]["window_open"], false);
}

#[tokio::test]
async fn templates_sync_send_and_learn_their_delivery() {
    let (app, fake) = spawn(&["wxtemplate000001"], |_| {}).await;
    let peer = account(&app, "wxtemplate000001").await;
    let order = json!({"template_id": "TPL_ORDER", "title": "订单通知", "content": "{{first.DATA}}\n订单号：{{keyword1.DATA}}\n{{remark.DATA}}",
                       "example": "您的订单已发货", "primary_industry": "IT科技", "deputy_industry": "互联网"});
    let other = json!({"template_id": "TPL_OTHER", "title": "其他", "content": "{{first.DATA}}", "example": "", "primary_industry": "", "deputy_industry": ""});
    fake.set_templates("wxtemplate000001", vec![order.clone(), other]);
    let sync = || {
        app.post(
            "/wechat/wxtemplates/sync",
            json!({"account_id": peer.account_id}),
        )
    };
    let (status, body) = sync().await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (
            body["data"]["added"].as_i64(),
            body["data"]["updated"].as_i64()
        ),
        (Some(2), Some(0))
    );
    let (_, body) = sync().await;
    assert_eq!(
        (
            body["data"]["added"].as_i64(),
            body["data"]["updated"].as_i64(),
            body["data"]["removed"].as_i64()
        ),
        (Some(0), Some(0), Some(0))
    );
    fake.set_templates("wxtemplate000001", vec![order]);
    let (_, body) = sync().await;
    assert_eq!(body["data"]["removed"], 1);

    let send = |data: Value| {
        app.post(
            "/wechat/wxtemplates/send",
            json!({"account_id": peer.account_id, "template_id": "TPL_ORDER", "openid": "o_fan", "data": data, "url": "https://example.com/o/1"}),
        )
    };
    let (status, body) = send(json!({"first": "您好"})).await;
    crate::helpers::assert_field_error(status, &body, "data");
    assert!(
        body["data"]["fields"]["data"]
            .as_str()
            .unwrap()
            .contains("keyword1"),
        "{body}"
    );
    let (status, body) = send(json!({"first": "您好", "keyword1": {"value": "No.1", "color": "#173177"}, "remark": "谢谢"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["status"], "sent");
    let msgid = body["data"]["msgid"].as_str().unwrap().to_string();
    let sent = fake.sent().last().unwrap().clone();
    assert_eq!(sent["data"]["first"], json!({"value": "您好"}));
    // WeChat has ignored colours since 2023: only the value goes.
    assert_eq!(sent["data"]["keyword1"], json!({"value": "No.1"}));
    assert_eq!(sent["url"], "https://example.com/o/1");

    // WeChat reports the delivery through the callback.
    let report = peer.message("o_fan", &format!("<MsgType>event</MsgType><Event>TEMPLATESENDJOBFINISH</Event><MsgID>{msgid}</MsgID><Status>success</Status>"));
    assert_eq!(peer.send(&app, &report).await.status, StatusCode::OK);
    let (_, logs) = app
        .get(&format!(
            "/wechat/wxtemplates/logs?account_id={}&msgid={msgid}",
            peer.account_id
        ))
        .await;
    assert_eq!(logs["data"]["list"][0]["status"], "delivered", "{logs}");
    assert!(logs["data"]["list"][0]["delivered_at"].is_string());

    // A msgid past 2^63 − 1 survives storage, is shown as WeChat wrote it,
    // and its delivery report still finds its log.
    fake.set_last_msgid(u64::MAX - 1);
    let (status, body) = send(json!({"first": "大", "keyword1": "No.2", "remark": "r"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["msgid"], u64::MAX.to_string(), "{body}");
    let report = peer.message("o_fan", &format!("<MsgType>event</MsgType><Event>TEMPLATESENDJOBFINISH</Event><MsgID>{}</MsgID><Status>failed:user block</Status>", u64::MAX));
    assert_eq!(peer.send(&app, &report).await.status, StatusCode::OK);
    let (_, logs) = app
        .get(&format!(
            "/wechat/wxtemplates/logs?account_id={}&msgid={}",
            peer.account_id,
            u64::MAX
        ))
        .await;
    assert_eq!(logs["data"]["total"], 1, "{logs}");
    assert_eq!(logs["data"]["list"][0]["msgid"], u64::MAX.to_string());
    assert_eq!(logs["data"]["list"][0]["status"], "user_block", "{logs}");

    // A refused send is logged as failed with WeChat's errcode.
    fake.close_window("o_blocked");
    let (status, body) = app
        .post(
            "/wechat/wxtemplates/send",
            json!({"account_id": peer.account_id, "template_id": "TPL_ORDER", "openid": "o_blocked",
               "data": {"first": "a", "keyword1": "b", "remark": "c"}}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    assert_eq!(body["data"]["errcode"], 43101);
    let (_, logs) = app
        .get(&format!(
            "/wechat/wxtemplates/logs?account_id={}&openid=o_blocked",
            peer.account_id
        ))
        .await;
    assert_eq!(logs["data"]["list"][0]["status"], "failed");
    assert_eq!(logs["data"]["list"][0]["errcode"], 43101);
}

/// Issue 13, bug 6: the send form named raw keys and WeChat refused values
/// the form let through; fields come from the template's content, values are
/// checked against their types before WeChat is called.
#[tokio::test]
async fn template_fields_have_their_labels_and_types_and_values_keep_their_limits() {
    let (app, fake) = spawn(&["wxtplfields00001"], |_| {}).await;
    let peer = account(&app, "wxtplfields00001").await;
    fake.set_templates(
        "wxtplfields00001",
        vec![json!({"template_id": "TPL_POINTS", "title": "积分变动提醒",
            "content": "变动积分：{{number2.DATA}}\n变动原因：{{thing3.DATA}}\n变动时间：{{time4.DATA}}\n门店电话：{{phone_number5.DATA}}",
            "example": "", "primary_industry": "", "deputy_industry": ""})],
    );
    app.post(
        "/wechat/wxtemplates/sync",
        json!({"account_id": peer.account_id}),
    )
    .await;
    let (status, body) = app
        .get(&format!(
            "/wechat/wxtemplates/fields?account_id={}&template_id=TPL_POINTS",
            peer.account_id
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let fields: Vec<(String, String, String, Value)> = body["data"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["key"].as_str().unwrap().into(),
                f["label"].as_str().unwrap().into(),
                f["kind"].as_str().unwrap().into(),
                f["max_chars"].clone(),
            )
        })
        .collect();
    assert_eq!(
        fields,
        vec![
            (
                "number2".into(),
                "变动积分".into(),
                "number".into(),
                json!(32)
            ),
            (
                "thing3".into(),
                "变动原因".into(),
                "thing".into(),
                json!(20)
            ),
            ("time4".into(), "变动时间".into(), "time".into(), json!(40)),
            (
                "phone_number5".into(),
                "门店电话".into(),
                "phone_number".into(),
                json!(17)
            ),
        ]
    );
    let send = |data: Value| {
        app.post(
            "/wechat/wxtemplates/send",
            json!({"account_id": peer.account_id, "template_id": "TPL_POINTS", "openid": "o_fan", "data": data}),
        )
    };
    let sent_before = fake.sent().len();
    let (status, body) = send(json!({
        "number2": "十分", "thing3": "这一段文字一共有二十一个字符所以太长了啊啊",
        "time4": "下午三点", "phone_number5": "020-12345678",
    }))
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let codes = &body["data"]["codes"];
    assert_eq!(codes["data.number2"]["code"], "tpl_number", "{body}");
    assert_eq!(codes["data.thing3"]["code"], "tpl_thing", "{body}");
    assert_eq!(codes["data.time4"]["code"], "tpl_time", "{body}");
    assert!(codes["data.phone_number5"].is_null(), "{body}");
    assert_eq!(fake.sent().len(), sent_before, "WeChat was not called");
    let (_, logs) = app
        .get(&format!(
            "/wechat/wxtemplates/logs?account_id={}",
            peer.account_id
        ))
        .await;
    assert_eq!(logs["data"]["total"], 0, "nothing logged: {logs}");

    let (status, body) = send(json!({
        "number2": "20", "thing3": {"value": "签到奖励", "color": "#ff0000"},
        "time4": "2026年12月7日 15:01", "phone_number5": "020-12345678",
    }))
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let sent = fake.sent().last().unwrap().clone();
    assert_eq!(sent["data"]["thing3"], json!({"value": "签到奖励"}));
    assert_eq!(sent["data"]["number2"], json!({"value": "20"}));

    let (status, _) = app
        .get(&format!(
            "/wechat/wxtemplates/fields?account_id={}&template_id=NOPE",
            peer.account_id
        ))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// Answers after the callback deadline.
struct Late;

impl wxmp::callback::chain::Handler for Late {
    fn name(&self) -> &str {
        "late"
    }
    fn priority(&self) -> i32 {
        1000
    }
    fn handle(
        &self,
        _: Arc<wxmp::callback::chain::Context>,
    ) -> wxmp::callback::chain::HandlerFuture {
        Box::pin(async {
            tokio::time::sleep(Duration::from_millis(1500)).await;
            wxmp::callback::chain::Outcome::Reply(wxmp::wechat::Reply::Text {
                content: "迟到的回复".into(),
            })
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_that_missed_the_deadline_goes_out_as_a_customer_service_message() {
    let (app, fake) = spawn(&["wxlate000000001"], |config| {
        config.callback_deadline_ms = 800
    })
    .await;
    let peer = account(&app, "wxlate000000001").await;
    app.seed(&peer.account_id)
        .rule(json!({"reply_type": 3, "content": "默认"}))
        .await;
    app.server.state.chain.register(Arc::new(Late));
    let answer = peer.send(&app, &peer.text("o_late", "hello", 77)).await;
    assert_eq!(
        answer.reply.unwrap().text("Content"),
        "默认",
        "the deadline answer"
    );
    let mut delivered = None;
    for _ in 0..50 {
        delivered = fake.sent().into_iter().find(|m| m["touser"] == "o_late");
        if delivered.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        delivered.expect("late reply sent")["text"]["content"],
        "迟到的回复"
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    let (_, stored) = app
        .get(&format!(
            "/wechat/wxmessages/list?account_id={}&openid=o_late",
            peer.account_id
        ))
        .await;
    let late = stored["data"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["content"] == "迟到的回复")
        .cloned()
        .expect("stored");
    assert_eq!(late["direction"], 0);
    assert_eq!(late["is_auto_reply"], 1);
    assert!(late["reply_to"].is_string());

    // Switched off for the account: dropped.
    app.put(
        "/wechat/wxaccounts/edit",
        json!({"id": peer.account_id, "late_reply_enabled": 0}),
    )
    .await;
    peer.send(&app, &peer.text("o_late2", "hello", 78)).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(fake.sent().iter().all(|m| m["touser"] != "o_late2"));
}

/// A 1×1 PNG.
const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
    0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0xf8, 0xcf, 0xc0, 0xf0,
    0x1f, 0x00, 0x05, 0x00, 0x01, 0xff, 0x89, 0x99, 0x3d, 0x1d, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45,
    0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

async fn upload(
    app: &TestApp,
    path: &str,
    fields: &[(&str, &str)],
    file: Option<(&str, Vec<u8>)>,
) -> (StatusCode, Value) {
    let mut form = reqwest::multipart::Form::new();
    for (name, value) in fields {
        form = form.text(name.to_string(), value.to_string());
    }
    if let Some((name, bytes)) = file {
        form = form.part(
            "file",
            reqwest::multipart::Part::bytes(bytes).file_name(name.to_string()),
        );
    }
    let response = app
        .client
        .post(app.url(path))
        .bearer_auth(&app.token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn materials_are_checked_uploaded_synced_and_deleted() {
    let (app, fake) = spawn(&["wxmaterial000001"], |_| {}).await;
    let peer = account(&app, "wxmaterial000001").await;
    let id = peer.account_id.as_str();

    // Stored on this server and served back for preview.
    let (status, body) = upload(
        &app,
        "/wechat/wxmaterials/upload_file",
        &[],
        Some(("海报.png", PNG.to_vec())),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let local_path = body["data"]["local_path"].as_str().unwrap().to_string();
    assert!(
        local_path.starts_with("uploads/") && local_path.ends_with(".png"),
        "{local_path}"
    );
    assert_eq!(
        (
            body["data"]["width"].as_i64(),
            body["data"]["name"].as_str()
        ),
        (Some(1), Some("海报.png"))
    );
    let preview = app
        .client
        .get(app.url(&format!("/wechat/files/{local_path}")))
        .bearer_auth(&app.token)
        .send()
        .await
        .unwrap();
    assert_eq!(preview.bytes().await.unwrap().as_ref(), PNG);

    // Checked before WeChat is called.
    let (status, body) = upload(
        &app,
        "/wechat/wxmaterials/upload_file",
        &[],
        Some(("fake.png", b"not a picture".to_vec())),
    )
    .await;
    crate::helpers::assert_field_error(status, &body, "file");
    let big_thumb = [&[0xff, 0xd8, 0xff][..], &vec![0u8; 70 * 1024]].concat();
    let (status, body) = upload(
        &app,
        "/wechat/wxmaterials/upload_temp_media",
        &[("account_id", id), ("media_type", "thumb")],
        Some(("t.jpg", big_thumb)),
    )
    .await;
    crate::helpers::assert_field_error(status, &body, "file");
    assert!(
        body["data"]["fields"]["file"]
            .as_str()
            .unwrap()
            .contains("64 KB"),
        "{body}"
    );
    assert!(
        fake.recorded().iter().all(|r| !r.path.contains("media")),
        "WeChat not called"
    );

    // Temporary: three days, field `media`, type in the query.
    let (status, body) = upload(
        &app,
        "/wechat/wxmaterials/upload_temp_media",
        &[("account_id", id), ("media_type", "image")],
        Some(("a.png", PNG.to_vec())),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["is_permanent"], 0);
    let expires =
        chrono::DateTime::parse_from_rfc3339(body["data"]["expires_at"].as_str().unwrap()).unwrap();
    assert!((expires.timestamp() - chrono::Utc::now().timestamp() - 3 * 86400).abs() < 60);
    let sent = fake
        .recorded()
        .into_iter()
        .find(|r| r.path == "/cgi-bin/media/upload")
        .unwrap();
    assert_eq!(sent.query.get("type").map(String::as_str), Some("image"));
    assert_eq!(sent.parts[0].0, "media");
    assert_eq!(sent.parts[0].1.as_deref(), Some("a.png"));

    // Permanent: image with its size; a video needs a title and sends a description.
    let (status, image) = upload(
        &app,
        "/wechat/wxmaterials/upload_permanent_media",
        &[("account_id", id), ("media_type", "image")],
        Some(("p.png", PNG.to_vec())),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{image}");
    assert_eq!(
        (
            image["data"]["is_permanent"].as_i64(),
            image["data"]["width"].as_i64()
        ),
        (Some(1), Some(1))
    );
    let mp4 = [&[0, 0, 0, 0x18][..], b"ftypmp42", &[0u8; 64]].concat();
    let (status, body) = upload(
        &app,
        "/wechat/wxmaterials/upload_permanent_media",
        &[("account_id", id), ("media_type", "video")],
        Some(("v.mp4", mp4.clone())),
    )
    .await;
    crate::helpers::assert_field_error(status, &body, "title");
    let (status, body) = upload(
        &app,
        "/wechat/wxmaterials/upload_permanent_media",
        &[
            ("account_id", id),
            ("media_type", "video"),
            ("title", "宣传片"),
            ("introduction", "一分钟"),
        ],
        Some(("v.mp4", mp4)),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let video = fake
        .recorded()
        .into_iter()
        .rev()
        .find(|r| r.path == "/cgi-bin/material/add_material")
        .unwrap();
    let description = video
        .parts
        .iter()
        .find(|p| p.0 == "description")
        .expect("description field");
    assert_eq!(
        serde_json::from_str::<Value>(&description.3).unwrap(),
        json!({"title": "宣传片", "introduction": "一分钟"})
    );

    // A news draft needs a permanent image as its thumb.
    let thumb = image["data"]["media_id"].as_str().unwrap();
    let article = |thumb: &str| json!({"title": "第一篇", "content": "<p>正文</p>", "thumb_media_id": thumb, "author": "编辑"});
    let (status, body) = app
        .post(
            "/wechat/wxmaterials/upload_news",
            json!({"account_id": id, "articles": [article("nope")]}),
        )
        .await;
    crate::helpers::assert_field_error(status, &body, "articles.0.thumb_media_id");
    let (status, body) = app
        .post(
            "/wechat/wxmaterials/upload_news",
            json!({"account_id": id, "articles": [article(thumb)]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["media_type"], "news");

    let (_, counts) = app
        .post(
            "/wechat/wxmaterials/material_count",
            json!({"account_id": id}),
        )
        .await;
    assert_eq!(
        (
            counts["data"]["image_count"].as_i64(),
            counts["data"]["video_count"].as_i64(),
            counts["data"]["news_count"].as_i64()
        ),
        (Some(1), Some(1), Some(1))
    );

    // Sync: what was added elsewhere comes in; twice changes nothing; what
    // was deleted on WeChat is marked.
    for n in 0..25 {
        fake.add_material("wxmaterial000001", "image", json!({"media_id": format!("ELSEWHERE_{n}"), "name": format!("图{n}.jpg"), "url": "http://mmbiz.qpic.cn/x"}));
    }
    let sync = || {
        app.post(
            "/wechat/wxmaterials/sync_materials",
            json!({"account_id": id}),
        )
    };
    let (status, body) = sync().await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["added"], 25, "{body}");
    let pages = fake
        .recorded()
        .iter()
        .filter(|r| r.path == "/cgi-bin/material/batchget_material" && r.body.contains("\"image\""))
        .count();
    assert_eq!(pages, 2, "26 images in pages of 20");
    let (_, body) = sync().await;
    assert_eq!(
        (
            body["data"]["added"].as_i64(),
            body["data"]["updated"].as_i64(),
            body["data"]["deleted_on_wechat"].as_i64()
        ),
        (Some(0), Some(0), Some(0))
    );
    fake.remove_material("wxmaterial000001", "ELSEWHERE_3");
    let (_, body) = sync().await;
    assert_eq!(body["data"]["deleted_on_wechat"], 1);

    let (status, body) = app
        .post(
            "/wechat/wxmaterials/delete_remote_media",
            json!({"account_id": id, "media_id": thumb}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, listed) = app
        .get(&format!(
            "/wechat/wxmaterials/list?account_id={id}&media_id={thumb}"
        ))
        .await;
    assert_eq!(listed["data"]["list"][0]["sync_status"], 2);
    let (status, body) = app
        .post(
            "/wechat/wxmaterials/delete_remote_media",
            json!({"account_id": id, "media_id": thumb}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "already gone: {body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fans_sync_in_the_background_with_progress_and_can_run_again() {
    let (app, fake) = spawn(&["wxfansync0000001"], |_| {}).await;
    let peer = account(&app, "wxfansync0000001").await;
    // A fan we already know keeps its message count.
    peer.send(&app, &peer.text("o_fan_7", "你好", 1)).await;
    let fans: Vec<Value> = (0..250)
        .map(|n| json!({"subscribe": 1, "openid": format!("o_fan_{n}"), "subscribe_time": 1_700_000_000 + n,
                        "unionid": format!("u_{n}"), "remark": if n == 7 { "老客户" } else { "" }, "tagid_list": [2, n % 3],
                        "subscribe_scene": "ADD_SCENE_QR_CODE", "qr_scene_str": "spring"}))
        .collect();
    fake.add_fans("wxfansync0000001", fans);
    fake.set_user_page(100);

    let run = || async {
        let (status, job) = app
            .post(
                "/wechat/wxusers/sync",
                json!({"account_id": peer.account_id}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{job}");
        let id = job["data"]["id"].as_str().unwrap().to_string();
        for _ in 0..100 {
            let (_, job) = app.get(&format!("/wechat/jobs/get?id={id}")).await;
            if job["data"]["status"] == "done" {
                return job["data"].clone();
            }
            assert_ne!(job["data"]["status"], "failed", "{job}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the sync job did not finish");
    };
    let job = run().await;
    assert_eq!(
        (
            job["payload"]["total"].as_i64(),
            job["payload"]["stored"].as_i64()
        ),
        (Some(250), Some(250))
    );
    let (_, listed) = app
        .get(&format!(
            "/wechat/wxusers/list?account_id={}&page_size=1",
            peer.account_id
        ))
        .await;
    assert_eq!(listed["data"]["total"], 250);
    let (_, seven) = app
        .get(&format!(
            "/wechat/wxusers/list?account_id={}&openid=o_fan_7",
            peer.account_id
        ))
        .await;
    let seven = &seven["data"]["list"][0];
    assert_eq!(seven["remark"], "老客户");
    assert_eq!(seven["unionid"], "u_7");
    assert_eq!(seven["tags"], json!([2, 1]));
    assert_eq!(seven["qr_scene"], "spring");
    assert_eq!(seven["message_count"], 1, "our own counters stay");
    let pages = fake
        .recorded()
        .iter()
        .filter(|r| r.path == "/cgi-bin/user/get")
        .count();
    assert_eq!(pages, 3, "250 openids in pages of 100");
    // Safe to run again: the same fans, nothing doubled.
    run().await;
    let (_, listed) = app
        .get(&format!(
            "/wechat/wxusers/list?account_id={}&page_size=1",
            peer.account_id
        ))
        .await;
    assert_eq!(listed["data"]["total"], 250);
}

#[tokio::test]
async fn web_pages_get_oauth_urls_openids_and_jssdk_signatures() {
    let (app, fake) = spawn(&["wxwebpage0000001"], |_| {}).await;
    let peer = account(&app, "wxwebpage0000001").await;
    let (status, body) = app
        .get(&format!(
            "/wechat/oauth/authorize_url?account_id={}&redirect_uri=https%3A%2F%2Fshop.example%2Fpay%3Fitem%3D1&scope=snsapi_userinfo&state=s1",
            peer.account_id
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["data"]["url"],
        "https://open.weixin.qq.com/connect/oauth2/authorize?appid=wxwebpage0000001&redirect_uri=https%3A%2F%2Fshop.example%2Fpay%3Fitem%3D1&response_type=code&scope=snsapi_userinfo&state=s1#wechat_redirect"
    );
    let (status, body) = app
        .get(&format!(
            "/wechat/oauth/authorize_url?account_id={}&redirect_uri=x&scope=all",
            peer.account_id
        ))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");

    let code = fake.oauth_code("wxwebpage0000001", "o_web", "snsapi_userinfo");
    let (status, body) = app
        .post(
            "/wechat/oauth/exchange",
            json!({"account_id": peer.account_id, "code": code}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["openid"], "o_web");
    assert_eq!(body["data"]["userinfo"]["nickname"], "微信用户");
    let (status, body) = app
        .post(
            "/wechat/oauth/exchange",
            json!({"account_id": peer.account_id, "code": code}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "a code works once: {body}");
    assert_eq!(body["data"]["errcode"], 40029);

    let url = "https://shop.example/pay?item=1";
    let (status, body) = app
        .post(
            "/wechat/jssdk/config",
            json!({"account_id": peer.account_id, "url": format!("{url}#top")}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let config = &body["data"];
    let expected = wxmp::wxapi::web::jssdk_signature(
        "TICKET_wxwebpage0000001",
        config["nonceStr"].as_str().unwrap(),
        config["timestamp"].as_i64().unwrap(),
        url,
    );
    assert_eq!(config["signature"], expected);
    app.post(
        "/wechat/jssdk/config",
        json!({"account_id": peer.account_id, "url": url}),
    )
    .await;
    assert_eq!(
        fake.recorded()
            .iter()
            .filter(|r| r.path == "/cgi-bin/ticket/getticket")
            .count(),
        1,
        "the ticket is cached"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_template_sends_run_as_a_paced_job_that_resumes_after_quota_errors() {
    let (app, fake) = spawn(&["wxbulk0000000001"], |_| {}).await;
    let peer = account(&app, "wxbulk0000000001").await;
    fake.set_templates(
        "wxbulk0000000001",
        vec![json!({"template_id": "TPL", "title": "通知", "content": "{{first.DATA}}"})],
    );
    app.post(
        "/wechat/wxtemplates/sync",
        json!({"account_id": peer.account_id}),
    )
    .await;
    fake.close_window("o_bulk_5");
    let openids: Vec<String> = (0..30).map(|n| format!("o_bulk_{n}")).collect();
    let (status, body) = app
        .post("/wechat/wxtemplates/send_bulk", json!({"account_id": peer.account_id, "template_id": "TPL", "openids": [], "data": {"first": "x"}}))
        .await;
    crate::helpers::assert_field_error(status, &body, "openids");
    let (status, job) = app
        .post("/wechat/wxtemplates/send_bulk", json!({"account_id": peer.account_id, "template_id": "TPL", "openids": openids, "data": {"first": "大促开始"}}))
        .await;
    assert_eq!(status, StatusCode::OK, "{job}");
    let id = job["data"]["id"].as_str().unwrap().to_string();
    // Make one send in the middle hit the daily quota.
    tokio::time::sleep(Duration::from_millis(150)).await;
    fake.fail_next("/cgi-bin/message/template/send", &[45009]);
    let mut done = Value::Null;
    for _ in 0..150 {
        let (_, job) = app.get(&format!("/wechat/jobs/get?id={id}")).await;
        if job["data"]["status"] == "done" {
            done = job["data"].clone();
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(done["status"], "done", "{done}");
    assert!(
        done["attempts"].as_i64().unwrap() >= 2,
        "resumed after the quota error: {done}"
    );
    assert_eq!(
        (
            done["payload"]["sent"].as_i64(),
            done["payload"]["failed"].as_i64()
        ),
        (Some(29), Some(1)),
        "{done}"
    );
    let delivered: Vec<String> = fake
        .sent()
        .iter()
        .filter_map(|m| m["touser"].as_str().map(str::to_string))
        .collect();
    assert_eq!(delivered.len(), 29, "each fan once");
    let unique: std::collections::HashSet<_> = delivered.iter().collect();
    assert_eq!(unique.len(), 29);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_broken_or_storming_wechat_gives_clear_errors_and_nothing_sticks() {
    use wxmp::dev::fake_wechat::Fault;
    let (app, fake) = spawn(&["wxfaults00000001"], |config| {
        config.wechat_timeout_secs = 1;
    })
    .await;
    let peer = account(&app, "wxfaults00000001").await;
    let delete = || {
        app.post(
            "/wechat/wxmenus/delete_remote_menu",
            json!({"account_id": peer.account_id}),
        )
    };
    let deletes = |fake: &FakeWeChat| {
        fake.recorded()
            .iter()
            .filter(|r| r.path == "/cgi-bin/menu/delete")
            .count()
    };

    // The token endpoint fails: a clear 502, and the next call is not stuck.
    fake.fault_next("/cgi-bin/stable_token", &[Fault::ServerError]);
    let (status, body) = delete().await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{body}");
    assert!(body["msg"].as_str().unwrap().contains("502"), "{body}");
    let (status, body) = delete().await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the refresh lock was released: {body}"
    );

    for (fault, says) in [
        (Fault::ServerError, "502"),
        (Fault::Garbage, "trunc"),
        (Fault::Slow(Duration::from_secs(3)), "timed out"),
    ] {
        let before = deletes(&fake);
        fake.fault_next("/cgi-bin/menu/delete", &[fault]);
        let (status, body) = delete().await;
        assert_eq!(status, StatusCode::BAD_GATEWAY, "{fault:?}: {body}");
        assert!(
            body["msg"].as_str().unwrap().contains(says),
            "{fault:?}: {body}"
        );
        assert_eq!(body["code"], 502);
        assert!(!body.to_string().contains("access_token"), "{body}");
        // Not retried: WeChat may have acted on it.
        assert!(deletes(&fake) <= before + 1, "{fault:?}");
    }

    // An errcode storm: "busy" is retried a bounded number of times.
    let before = deletes(&fake);
    fake.fail_next("/cgi-bin/menu/delete", &[-1; 20]);
    let (status, body) = delete().await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{body}");
    assert_eq!(body["data"]["errcode"], -1, "{body}");
    assert_eq!(deletes(&fake), before + 3, "three attempts, then the error");
}
