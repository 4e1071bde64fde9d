//! Faults injected under a running server: the database stops taking the
//! write of a callback, and comes back.

use std::time::Duration;

use crate::helpers::TestApp;
use crate::wechat::Peer;
use reqwest::StatusCode;
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend};
use serde_json::json;

/// The database stops taking writes to `wx_messages` while reads go on: a
/// lock held by another connection, so the server's write is sent and then
/// waits, and lands once the lock goes (as when a stopped server returns).
struct Outage {
    db: DatabaseConnection,
    backend: DbBackend,
}

impl Outage {
    async fn begin(url: &str) -> Self {
        let mut options = ConnectOptions::new(url.to_string());
        options.max_connections(1).min_connections(1);
        let db = Database::connect(options).await.unwrap();
        let backend = db.get_database_backend();
        let statements: &[&str] = match backend {
            DbBackend::Sqlite => &["BEGIN EXCLUSIVE"],
            DbBackend::Postgres => &["BEGIN", "LOCK TABLE wx_messages IN EXCLUSIVE MODE"],
            DbBackend::MySql => &["LOCK TABLES wx_messages READ"],
        };
        for statement in statements {
            db.execute_unprepared(statement).await.unwrap();
        }
        Self { db, backend }
    }

    async fn end(self) {
        let statement = match self.backend {
            DbBackend::MySql => "UNLOCK TABLES",
            _ => "COMMIT",
        };
        self.db.execute_unprepared(statement).await.unwrap();
        self.db.close().await.ok();
    }
}

async fn received_and_replies(app: &TestApp, account_id: &str, msg_id: &str) -> (usize, usize) {
    let (_, body) = app
        .get(&format!(
            "/wechat/wxmessages/list?account_id={account_id}&page_size=100"
        ))
        .await;
    let rows = body["data"]["list"].as_array().unwrap().clone();
    let received: Vec<_> = rows
        .iter()
        .filter(|m| m["direction"] == 1 && m["msg_id"] == msg_id)
        .collect();
    let replies = rows
        .iter()
        .filter(|m| m["direction"] == 0 && received.iter().any(|r| r["id"] == m["reply_to"]))
        .count();
    (received.len(), replies)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_caught_in_a_database_outage_gets_5xx_in_time_then_its_reply_on_retry() {
    let app = TestApp::spawn().await;
    let peer = Peer::create(&app, "wxoutage00000001", 2).await;
    app.seed(&peer.account_id)
        .rule(json!({"reply_type": 2, "keyword": "hi", "match_type": 1, "content": "hello"}))
        .await;
    let first = peer.send(&app, &peer.text("o_outage", "hi", 7001)).await;
    assert_eq!(first.reply.unwrap().text("Content"), "hello");

    let outage = Outage::begin(&app.server.state.config.database_url).await;
    let message = peer.text("o_outage", "hi", 7002);
    // WeChat hangs up after 5 s (the request is dropped then).
    let answer = tokio::time::timeout(Duration::from_secs(5), peer.send(&app, &message))
        .await
        .expect("answered inside WeChat's 5 s");
    assert!(
        answer.status.is_server_error(),
        "{}: {}",
        answer.status,
        answer.body
    );
    assert_ne!(answer.body, "success");
    // The database comes back while WeChat waits to retry; the write that
    // was waiting lands.
    tokio::time::sleep(Duration::from_millis(300)).await;
    outage.end().await;

    // WeChat retries (three attempts in all): one of them gets the reply.
    let mut reply = None;
    for _ in 0..2 {
        let retry = peer.send(&app, &message).await;
        if retry.status == StatusCode::OK {
            reply = retry.reply.map(|r| r.text("Content"));
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert_eq!(reply.as_deref(), Some("hello"), "the retry is answered");
    assert_eq!(
        received_and_replies(&app, &peer.account_id, "7002").await,
        (1, 1),
        "stored once, answered once"
    );
}
