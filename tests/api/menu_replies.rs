//! Replies set on menu click buttons in the editor's tree: saved as the exact
//! keyword rule of the button's key in the same transaction as the menu, so
//! a real (signed) click is answered by them; refused whole when bad.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{assert_field_error, TestApp};
use crate::wechat::Peer;

async fn click(app: &TestApp, peer: &Peer, key: &str) -> Option<String> {
    let at = 1_700_000_000 + i64::from(rand::random::<u16>());
    peer.send(app, &peer.event("o_menu_fan", "CLICK", key, at))
        .await
        .reply
        .map(|r| r.text("Content"))
}

async fn save(app: &TestApp, account: &str, buttons: Value) -> (StatusCode, Value) {
    app.post(
        "/wechat/wxmenus/save_tree",
        json!({"account_id": account, "buttons": buttons}),
    )
    .await
}

async fn tree(app: &TestApp, account: &str) -> Value {
    let (status, body) = app
        .get(&format!("/wechat/wxmenus/tree?account_id={account}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["data"]["buttons"].clone()
}

/// The account's keyword rules (all kinds) as the rules page lists them.
async fn rules(app: &TestApp, account: &str) -> Vec<Value> {
    let (status, body) = app
        .get(&format!(
            "/wechat/wxautoreplies/list?account_id={account}&page_size=100"
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["data"]["list"].as_array().unwrap().clone()
}

#[tokio::test]
async fn a_reply_set_on_a_click_button_answers_the_click_and_follows_edits() {
    let app = TestApp::spawn().await;
    let peer = Peer::create(&app, "wxmenureply00001", 0).await;
    let account = peer.account_id.clone();
    // Nothing answers the key yet.
    assert_eq!(click(&app, &peer, "SIGN_IN").await, None);

    let (status, body) = save(
        &app,
        &account,
        json!([
            {"menu_name": "会员", "sub_button": [
                {"menu_name": "签到", "menu_type": "click", "menu_key": "SIGN_IN",
                 "reply": {"message_type": "text", "content": "签到成功"}},
                {"menu_name": "官网", "menu_type": "view", "url": "https://example.com/"},
            ]},
            {"menu_name": "联系我们", "menu_type": "click",
             "reply": {"message_type": "text", "content": "电话 020-1234"}},
        ]),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let buttons = body["data"]["buttons"].as_array().unwrap().clone();
    assert_eq!(buttons.len(), 2, "{body}");
    assert_eq!(buttons[0]["menu_type"], "", "a group has no type: {body}");
    assert_eq!(buttons[0]["sub_button"][0]["reply"]["content"], "签到成功");
    assert!(buttons[0]["sub_button"][1].get("reply").is_none(), "{body}");
    // The button saved without a key was given one.
    let made_up = buttons[1]["menu_key"].as_str().unwrap().to_string();
    assert!(
        made_up.starts_with("menu_") && made_up.len() <= 128,
        "{made_up}"
    );

    assert_eq!(
        click(&app, &peer, "SIGN_IN").await.as_deref(),
        Some("签到成功")
    );
    assert_eq!(
        click(&app, &peer, &made_up).await.as_deref(),
        Some("电话 020-1234")
    );
    // Each reply is an exact keyword rule of the key, seen on the rules page.
    let listed = rules(&app, &account).await;
    assert_eq!(listed.len(), 2, "{listed:?}");
    let rule = listed.iter().find(|r| r["keyword"] == "SIGN_IN").unwrap();
    assert_eq!(
        (rule["reply_type"].as_i64(), rule["match_type"].as_i64()),
        (Some(2), Some(1))
    );

    // Reading the menu back shows the replies; saving what was read with a
    // new reply updates the rule, and the next click gets it (no restart).
    let mut read = tree(&app, &account).await;
    assert_eq!(read, Value::Array(buttons.clone()));
    let rule_id = read[0]["sub_button"][0]["reply_rule_id"].clone();
    let strip = |b: &mut Value| {
        let object = b.as_object_mut().unwrap();
        for field in [
            "account_id",
            "parent_id",
            "sort_order",
            "created_at",
            "updated_at",
            "reply_rule_id",
        ] {
            object.remove(field);
        }
    };
    for top in read.as_array_mut().unwrap() {
        for sub in top["sub_button"].as_array_mut().unwrap() {
            strip(sub);
        }
        strip(top);
    }
    read[0]["sub_button"][0]["reply"]["content"] = json!("今天已签到");
    // And the order changes: the contact button first, the web page above 签到.
    let order = json!([read[1].clone(), {
        "id": read[0]["id"], "menu_name": "会员",
        "sub_button": [read[0]["sub_button"][1].clone(), read[0]["sub_button"][0].clone()],
    }]);
    let (status, body) = save(&app, &account, order).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        click(&app, &peer, "SIGN_IN").await.as_deref(),
        Some("今天已签到")
    );
    let after = tree(&app, &account).await;
    assert_eq!(after[0]["menu_key"], made_up.as_str());
    assert_eq!(after[1]["sub_button"][0]["menu_name"], "官网");
    assert_eq!(after[1]["sub_button"][1]["reply"]["content"], "今天已签到");
    assert_eq!(
        after[1]["sub_button"][1]["reply_rule_id"], rule_id,
        "the same rule, updated"
    );
    assert_eq!(rules(&app, &account).await.len(), 2);

    // An image reply, then the reply removed: its rule goes, the click is unanswered.
    let mut buttons = after.clone();
    for top in buttons.as_array_mut().unwrap() {
        for sub in top["sub_button"].as_array_mut().unwrap() {
            strip(sub);
        }
        strip(top);
    }
    buttons[0]["reply"] = json!({"message_type": "image", "media_id": "MEDIA_CONTACT"});
    buttons[1]["sub_button"][1]["reply"] = Value::Null;
    let (status, body) = save(&app, &account, buttons).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(click(&app, &peer, "SIGN_IN").await, None);
    let answer = peer
        .send(
            &app,
            &peer.event("o_menu_fan", "CLICK", &made_up, 1_700_100_000),
        )
        .await
        .reply
        .expect("an image reply");
    assert_eq!(answer.text("MsgType"), "image");
    let listed = rules(&app, &account).await;
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["message_type"], "image");

    // The audit trail has the saves.
    let (_, audit) = app.get("/wechat/audit_log/list?page_size=100").await;
    let saves = audit["data"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["action"] == "save_menu")
        .count();
    assert_eq!(saves, 3, "{audit}");
}

#[tokio::test]
async fn a_bad_reply_is_refused_with_its_field_and_nothing_is_stored() {
    let app = TestApp::spawn().await;
    let peer = Peer::create(&app, "wxmenureply00002", 0).await;
    let account = peer.account_id.clone();
    let (status, body) = save(
        &app,
        &account,
        json!([{"menu_name": "签到", "menu_type": "click", "menu_key": "SIGN_IN",
                "reply": {"message_type": "text", "content": "好"}}]),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let before = tree(&app, &account).await;

    // An image reply without media, beside a new button: refused whole.
    let id = before[0]["id"].clone();
    let (status, body) = save(
        &app,
        &account,
        json!([
            {"id": id, "menu_name": "签到", "menu_type": "click", "menu_key": "SIGN_IN",
             "reply": {"message_type": "image"}},
            {"menu_name": "新按钮", "menu_type": "click", "menu_key": "NEW",
             "reply": {"message_type": "text", "content": "新"}},
        ]),
    )
    .await;
    let field = "buttons[0].reply.media_id";
    assert_field_error(status, &body, field);
    assert_eq!(body["data"]["codes"][field]["code"], "required", "{body}");
    assert_eq!(tree(&app, &account).await, before);
    let listed = rules(&app, &account).await;
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["content"], "好");
    assert_eq!(click(&app, &peer, "NEW").await, None);

    // WeChat's limits, replies on buttons that are not clicks, two replies
    // for one key, and a button of another menu: each named by its path.
    let four: Vec<Value> = (0..4)
        .map(
            |i| json!({"menu_name": format!("b{i}"), "menu_type": "view", "url": "https://e.com/"}),
        )
        .collect();
    let (status, body) = save(&app, &account, json!(four)).await;
    assert_field_error(status, &body, "buttons");
    assert_eq!(
        body["data"]["codes"]["buttons"]["code"], "menu_top_limit",
        "{body}"
    );
    let six: Vec<Value> = (0..6)
        .map(
            |i| json!({"menu_name": format!("s{i}"), "menu_type": "view", "url": "https://e.com/"}),
        )
        .collect();
    let (status, body) = save(
        &app,
        &account,
        json!([{"menu_name": "组", "sub_button": six}]),
    )
    .await;
    assert_field_error(status, &body, "buttons[0].sub_button");
    assert_eq!(
        body["data"]["codes"]["buttons[0].sub_button"]["code"], "menu_sub_limit",
        "{body}"
    );
    let (status, body) = save(
        &app,
        &account,
        json!([
            {"menu_name": "网页", "menu_type": "view", "url": "https://e.com/",
             "reply": {"message_type": "text", "content": "x"}},
            {"menu_name": "甲", "menu_type": "click", "menu_key": "K",
             "reply": {"message_type": "text", "content": "甲"}},
            {"id": "123", "menu_name": "乙", "menu_type": "click", "menu_key": "K",
             "reply": {"message_type": "text", "content": "乙"}},
        ]),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let codes = &body["data"]["codes"];
    assert_eq!(
        codes["buttons[0].reply"]["code"], "menu_reply_click_only",
        "{body}"
    );
    assert_eq!(
        codes["buttons[2].reply"]["code"], "menu_reply_clash",
        "{body}"
    );
    assert_eq!(codes["buttons[2].id"]["code"], "menu_no_button", "{body}");
    assert_eq!(tree(&app, &account).await, before);
    assert_eq!(rules(&app, &account).await.len(), 1);
}
