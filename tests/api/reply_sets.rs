//! A rule with several replies: all of them (the first as the callback's
//! answer, the others after it as customer-service messages, once, in
//! order) or one at random; a bad set of replies refused with the field of
//! the reply at fault and nothing stored.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};
use wxmp::dev::fake_wechat::FakeWeChat;

use crate::helpers::{assert_field_error, TestApp};
use crate::wechat::Peer;

const SECRET: &str = "0123456789abcdef0123456789abcdef";

async fn app_with_wechat(app_id: &str) -> (TestApp, FakeWeChat, Peer) {
    let fake = FakeWeChat::new(&[(app_id, SECRET)]);
    let addr = fake.start("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let app = TestApp::spawn_with(|config| config.wechat_api_base = format!("http://{addr}")).await;
    let peer = Peer::create(&app, app_id, 0).await;
    let (status, body) = app
        .put(
            "/wechat/wxaccounts/edit",
            json!({"id": peer.account_id, "app_secret": SECRET}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    (app, fake, peer)
}

fn custom_sends(fake: &FakeWeChat) -> Vec<Value> {
    fake.recorded()
        .iter()
        .filter(|r| r.path == "/cgi-bin/message/custom/send")
        .map(|r| serde_json::from_str(&r.body).unwrap())
        .collect()
}

async fn wait_for_sends(fake: &FakeWeChat, count: usize) -> Vec<Value> {
    let started = Instant::now();
    loop {
        let sent = custom_sends(fake);
        if sent.len() >= count {
            return sent;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{} of {count} customer-service messages",
            sent.len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_rule_sends_all_its_replies_the_first_at_once_and_the_others_once_in_order() {
    let (app, fake, peer) = app_with_wechat("wxreplysets00001").await;
    let rule = app
        .seed(&peer.account_id)
        .rule(json!({
            "keyword": "活动", "content": "第一条",
            "more_replies": [
                {"message_type": "text", "content": "第二条"},
                {"message_type": "news", "title": "报名", "description": "点此报名",
                 "url": "https://example.com/join", "pic_url": "https://example.com/c.png"},
            ],
        }))
        .await;
    assert_eq!(rule["reply_mode"], 0, "{rule}");
    assert_eq!(rule["more_replies"][1]["title"], "报名", "{rule}");

    let message = peer.text("o_sets", "活动", 7_000_001);
    let answer = peer.send(&app, &message).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(answer.reply.unwrap().text("Content"), "第一条");
    // Nothing else before the answer has left.
    assert!(custom_sends(&fake).is_empty());

    let sent = wait_for_sends(&fake, 2).await;
    assert_eq!(sent[0]["touser"], "o_sets");
    assert_eq!(sent[0]["msgtype"], "text");
    assert_eq!(sent[0]["text"]["content"], "第二条");
    assert_eq!(sent[1]["msgtype"], "news");
    assert_eq!(sent[1]["news"]["articles"][0]["title"], "报名");
    assert_eq!(
        sent[1]["news"]["articles"][0]["url"],
        "https://example.com/join"
    );

    // WeChat's retry gets the same answer and sends nothing more.
    let retry = peer.send(&app, &message).await;
    assert_eq!(retry.reply.unwrap().text("Content"), "第一条");
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert_eq!(custom_sends(&fake).len(), 2);

    // All three are in the conversation, the answer first.
    let (status, body) = app
        .get(&format!(
            "/wechat/wxmessages/list?account_id={}&openid=o_sets&direction=0&page_size=10",
            peer.account_id
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let mut contents: Vec<String> = body["data"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["content"].as_str().unwrap_or_default().to_string())
        .collect();
    contents.sort();
    assert_eq!(contents.len(), 3, "{body}");
    assert!(contents.contains(&"第一条".to_string()), "{body}");
    assert!(contents.contains(&"第二条".to_string()), "{body}");
}

#[tokio::test]
async fn a_rule_in_random_mode_answers_with_any_one_of_its_replies_and_sends_nothing_else() {
    let (app, fake, peer) = app_with_wechat("wxreplysets00002").await;
    app.seed(&peer.account_id)
        .rule(json!({
            "keyword": "抽签", "content": "上上签", "reply_mode": 1,
            "more_replies": [
                {"message_type": "text", "content": "中签"},
                {"message_type": "text", "content": "下签"},
            ],
        }))
        .await;
    let mut seen = std::collections::BTreeSet::new();
    for i in 0..40 {
        let answer = peer
            .send(&app, &peer.text("o_draw", "抽签", 7_100_000 + i))
            .await;
        let text = answer.reply.unwrap().text("Content");
        assert!(
            ["上上签", "中签", "下签"].contains(&text.as_str()),
            "{text}"
        );
        seen.insert(text);
    }
    // Forty draws of one in three: all the same has odds of 3 in 3^40.
    assert!(seen.len() >= 2, "{seen:?}");
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert!(custom_sends(&fake).is_empty());
}

#[tokio::test]
async fn a_bad_set_of_replies_names_the_reply_at_fault_and_stores_nothing() {
    let app = TestApp::spawn().await;
    let account = app.add_account("wxreplysets00003").await;
    let add = |fields: Value| {
        let app = &app;
        let mut body = json!({"account_id": account, "reply_type": 2, "keyword": "k",
                              "match_type": 1, "message_type": "text", "content": "c"});
        body.as_object_mut()
            .unwrap()
            .extend(fields.as_object().unwrap().clone());
        async move { app.post("/wechat/wxautoreplies/add", body).await }
    };
    let text = |content: &str| json!({"message_type": "text", "content": content});
    for (fields, field, code) in [
        (
            json!({"more_replies": [text("a"), {"message_type": "text", "content": " "}]}),
            "more_replies.1.content",
            "required",
        ),
        (
            json!({"more_replies": [{"message_type": "image"}]}),
            "more_replies.0.media_id",
            "required",
        ),
        (
            json!({"more_replies": [{"message_type": "news", "title": "t", "url": "ftp://x"}]}),
            "more_replies.0.url",
            "url",
        ),
        (
            json!({"more_replies": [text("a"), {"message_type": "txt", "content": "b"}]}),
            "more_replies.1.message_type",
            "one_of",
        ),
        (
            json!({"more_replies": [{"message_type": "text", "contnet": "b"}]}),
            "more_replies.0",
            "not_a_reply",
        ),
        (
            json!({"more_replies": {"message_type": "text"}}),
            "more_replies",
            "reply_list",
        ),
        (
            json!({"more_replies": [text("1"), text("2"), text("3"), text("4"), text("5")]}),
            "more_replies",
            "max_replies",
        ),
        (
            json!({"reply_mode": 2, "more_replies": [text("a")]}),
            "reply_mode",
            "one_of",
        ),
    ] {
        let (status, body) = add(fields.clone()).await;
        assert_field_error(status, &body, field);
        assert_eq!(
            body["data"]["codes"][field]["code"], code,
            "{fields}: {body}"
        );
    }
    // Four more (five in all) is the most, and fine.
    let (status, body) =
        add(json!({"more_replies": [text("1"), text("2"), text("3"), text("4")]})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, list) = app
        .get(&format!("/wechat/wxautoreplies/list?account_id={account}"))
        .await;
    assert_eq!(
        list["data"]["total"], 1,
        "only the good rule is stored: {list}"
    );
}
