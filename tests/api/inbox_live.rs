//! The inbox's live events over Server-Sent Events: a ticket opens the
//! stream, messages and replies the callback stores arrive on it, each admin
//! sees only their accounts, and an open stream does not hold up shutdown.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::TestApp;
use crate::wechat::Peer;

/// An open event stream, read event by event.
struct Events {
    response: reqwest::Response,
    buffer: String,
}

impl Events {
    async fn open(app: &TestApp, token: &str) -> Self {
        let (status, body) = app
            .send(Method::POST, "/wechat/inbox/ticket", Some(token), None)
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let ticket = body["data"]["ticket"].as_str().unwrap();
        let response = app
            .client
            .get(app.url(&format!("/wechat/inbox/events?ticket={ticket}")))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert!(response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream"));
        let mut events = Self {
            response,
            buffer: String::new(),
        };
        assert_eq!(events.next().await.0, "ready");
        events
    }

    /// The next event (name, data), skipping keep-alive comments.
    async fn next(&mut self) -> (String, Value) {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut name = String::from("message");
                let mut data = String::new();
                for line in block.lines() {
                    if let Some(value) = line.strip_prefix("event:") {
                        name = value.trim().to_string();
                    } else if let Some(value) = line.strip_prefix("data:") {
                        data.push_str(value.trim());
                    }
                }
                if data.is_empty() {
                    continue;
                }
                return (name, serde_json::from_str(&data).unwrap());
            }
            let chunk = tokio::time::timeout(Duration::from_secs(10), self.response.chunk())
                .await
                .expect("an event within 10 s")
                .unwrap()
                .expect("the stream is open");
            self.buffer.push_str(&String::from_utf8_lossy(&chunk));
        }
    }

    /// The next event, if one comes within `wait`.
    async fn within(&mut self, wait: Duration) -> Option<(String, Value)> {
        tokio::time::timeout(wait, self.next()).await.ok()
    }
}

#[tokio::test]
async fn messages_and_replies_arrive_live_on_the_accounts_streams_only() {
    let app = TestApp::spawn().await;
    let peer = Peer::create(&app, "wxlive0000000001", 0).await;
    let other = Peer::create(&app, "wxlive0000000002", 0).await;
    app.seed(&peer.account_id)
        .rule(json!({"reply_type": 2, "keyword": "营业时间", "match_type": 1, "message_type": "text", "content": "每天 9:00–21:00"}))
        .await;
    app.add("/wechat/admins/add", json!({"username": "op_live", "password": "operator-pass-1", "role": "operator", "account_ids": [other.account_id]}))
        .await;
    let operator = app.login("op_live", "operator-pass-1").await;
    let mut admin_events = Events::open(&app, &app.token).await;
    let mut operator_events = Events::open(&app, &operator).await;

    let answer = peer
        .send(&app, &peer.text("o_live_fan", "营业时间", 990001))
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let (name, received) = admin_events.next().await;
    assert_eq!(name, "message");
    assert_eq!(received["account_id"], peer.account_id.as_str());
    assert_eq!(received["openid"], "o_live_fan");
    assert_eq!(received["direction"], 1);
    assert_eq!(received["preview"], "营业时间");
    let (_, reply) = admin_events.next().await;
    assert_eq!(reply["direction"], 0);
    assert_eq!(reply["by"], "builtin:keyword");
    assert_eq!(reply["preview"], "每天 9:00–21:00");
    assert!(
        operator_events
            .within(Duration::from_millis(500))
            .await
            .is_none(),
        "the operator does not see another account's messages"
    );

    // A fan event (a follow) is no conversation message; a read mark is news.
    let follow = peer
        .send(
            &app,
            &peer.event(
                "o_live_fan",
                "subscribe",
                "",
                chrono::Utc::now().timestamp(),
            ),
        )
        .await;
    assert_eq!(follow.status, StatusCode::OK);
    app.add(
        "/wechat/inbox/read",
        json!({"account_id": peer.account_id, "openid": "o_live_fan"}),
    )
    .await;
    let (name, read) = admin_events.next().await;
    assert_eq!(name, "read", "{read}");
    assert_eq!(read["by"], "admin");

    let answer = other
        .send(&app, &other.text("o_other_fan", "你好", 990002))
        .await;
    assert_eq!(answer.status, StatusCode::OK);
    let (_, seen) = operator_events.next().await;
    assert_eq!(seen["openid"], "o_other_fan");
}

#[tokio::test]
async fn the_stream_needs_a_ticket_and_a_ticket_is_not_a_token() {
    let app = TestApp::spawn().await;
    let events = |query: String| {
        let request = app
            .client
            .get(app.url(&format!("/wechat/inbox/events{query}")));
        async move {
            let response = request.send().await.unwrap();
            let status = response.status();
            (status, response.json::<Value>().await.unwrap())
        }
    };
    let (status, body) = events(String::new()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(body["msg"].as_str().unwrap().contains("ticket"), "{body}");
    let (status, _) = events(format!("?ticket={}", app.token)).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "a bearer token opens no stream"
    );
    let (status, _) = events("?ticket=not.a.ticket".into()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let (status, body) = app
        .send(Method::POST, "/wechat/inbox/ticket", None, None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let (_, body) = app
        .send(Method::POST, "/wechat/inbox/ticket", Some(&app.token), None)
        .await;
    let ticket = body["data"]["ticket"].as_str().unwrap().to_string();
    let expires: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(body["data"]["expires_at"].clone()).unwrap();
    assert!(expires - chrono::Utc::now() <= chrono::Duration::seconds(60));
    let (status, _) = app.send(Method::GET, "/auth/me", Some(&ticket), None).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "a ticket is no bearer token"
    );

    // A disabled admin's ticket opens nothing.
    let op = app
        .add("/wechat/admins/add", json!({"username": "op_gone", "password": "operator-pass-1", "role": "operator", "account_ids": []}))
        .await;
    let token = app.login("op_gone", "operator-pass-1").await;
    let (_, body) = app
        .send(Method::POST, "/wechat/inbox/ticket", Some(&token), None)
        .await;
    let ticket = body["data"]["ticket"].as_str().unwrap().to_string();
    let (status, _) = app
        .put("/wechat/admins/edit", json!({"id": op["id"], "status": 0}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = events(format!("?ticket={ticket}")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn an_open_stream_does_not_hold_up_shutdown() {
    let app = TestApp::spawn().await;
    let mut events = Events::open(&app, &app.token).await;
    let stopped = tokio::time::timeout(Duration::from_secs(5), app.server.shutdown()).await;
    assert!(stopped.is_ok(), "the server stopped with a stream open");
    let end = tokio::time::timeout(Duration::from_secs(5), events.response.chunk()).await;
    assert!(matches!(end, Ok(Ok(None)) | Ok(Err(_))), "the stream ended");
}
