//! Rule power over the real callback: several keywords per rule, regular
//! expressions, and daily windows in Beijing time; bad patterns and windows
//! refused with the field and a stable code.

use chrono::{Duration, FixedOffset, Utc};
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{assert_field_error, TestApp};
use crate::wechat::Peer;

/// "HH:MM" in Beijing time, `minutes` from now.
fn beijing_in(minutes: i64) -> String {
    let beijing = FixedOffset::east_opt(8 * 3600).unwrap();
    (Utc::now() + Duration::minutes(minutes))
        .with_timezone(&beijing)
        .format("%H:%M")
        .to_string()
}

async fn answer(app: &TestApp, peer: &Peer, text: &str) -> Option<String> {
    peer.send(
        app,
        &peer.text("o_rules", text, rand::random::<u32>() as i64),
    )
    .await
    .reply
    .map(|r| r.text("Content"))
}

#[tokio::test]
async fn rules_match_several_keywords_patterns_and_daily_windows() {
    let app = TestApp::spawn().await;
    let peer = Peer::create(&app, "wxrulepower00001", 0).await;
    let seed = app.seed(&peer.account_id);
    seed.rule(json!({"keyword": "价格\n 多少钱 \n\nPRICE", "match_type": 2, "content": "十元"}))
        .await;
    seed.rule(
        json!({"keyword": "^订单\\s*\\d{6}$\n(?i)^refund", "match_type": 3, "content": "查询中"}),
    )
    .await;
    // Two rules for one keyword: the higher one answers only in a window
    // that has not begun, the lower one in a window around now.
    seed.rule(
        json!({"keyword": "营业", "match_type": 1, "priority": 9, "content": "夜间",
                     "active_from": beijing_in(60), "active_until": beijing_in(120)}),
    )
    .await;
    seed.rule(
        json!({"keyword": "营业", "match_type": 1, "priority": 1, "content": "白天",
                     "active_from": beijing_in(-60), "active_until": beijing_in(60)}),
    )
    .await;
    seed.rule(json!({"reply_type": 3, "content": "默认"})).await;

    for (text, expected) in [
        ("请问价格", "十元"),
        ("这个多少钱？", "十元"),
        ("price please", "十元"),
        ("订单 123456", "查询中"),
        ("Refund my order", "查询中"),
        ("订单 12345", "默认"),
        ("营业", "白天"),
    ] {
        assert_eq!(
            answer(&app, &peer, text).await.as_deref(),
            Some(expected),
            "{text}"
        );
    }

    // The try-it box names how the rule matched.
    let (status, dry) = app
        .post(
            "/wechat/plugins/test",
            json!({"account_id": peer.account_id, "text": "订单 654321"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{dry}");
    assert_eq!(dry["data"]["rule"]["match_type"], 3, "{dry}");
}

#[tokio::test]
async fn bad_patterns_and_windows_are_refused_with_the_field_and_a_code() {
    let app = TestApp::spawn().await;
    let account = app.add_account("wxrulepower00002").await;
    let add = |fields: serde_json::Value| {
        let app = &app;
        let mut body = json!({"account_id": account, "reply_type": 2, "keyword": "k", "match_type": 1,
                              "message_type": "text", "content": "c"});
        body.as_object_mut()
            .unwrap()
            .extend(fields.as_object().unwrap().clone());
        async move { app.post("/wechat/wxautoreplies/add", body).await }
    };
    let (status, body) = add(json!({"keyword": "好\n订单(", "match_type": 3})).await;
    assert_field_error(status, &body, "keyword");
    let reason = body["data"]["fields"]["keyword"].as_str().unwrap();
    assert!(
        reason.starts_with("line 2 is not a valid regular expression"),
        "{body}"
    );
    assert_eq!(body["data"]["codes"]["keyword"]["code"], "regex", "{body}");
    assert_eq!(
        body["data"]["codes"]["keyword"]["params"]["line"], "2",
        "{body}"
    );
    // The same text as a substring keyword is fine.
    let (status, body) = add(json!({"keyword": "订单(", "match_type": 2})).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    for (window, field, code) in [
        (
            json!({"active_from": "9:00", "active_until": "18:00"}),
            "active_from",
            "time_of_day",
        ),
        // Longer than the column: refused here, not by PostgreSQL or MariaDB.
        (
            json!({"active_from": " 09:00 ", "active_until": "18:00"}),
            "active_from",
            "time_of_day",
        ),
        (
            json!({"active_from": "09:00", "active_until": "24:00"}),
            "active_until",
            "time_of_day",
        ),
        (
            json!({"active_from": "09:00"}),
            "active_until",
            "window_end",
        ),
        (
            json!({"active_until": "09:00"}),
            "active_from",
            "window_end",
        ),
        (
            json!({"active_from": "09:00", "active_until": "09:00"}),
            "active_until",
            "window_empty",
        ),
    ] {
        let (status, body) = add(window.clone()).await;
        assert_field_error(status, &body, field);
        assert_eq!(
            body["data"]["codes"][field]["code"], code,
            "{window}: {body}"
        );
    }
    let (status, body) = add(json!({"active_from": "22:00", "active_until": "08:00"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["active_from"], "22:00");
}
