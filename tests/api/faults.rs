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

/// `wxmp serve` as its own process on `database_url`, with `data_dir`.
/// Received rows per MsgId, read straight from the database.
async fn stored_msg_ids(database_url: &str) -> std::collections::HashMap<i64, usize> {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let db = Database::connect(database_url).await.unwrap();
    let rows = wxmp::entity::messages::Entity::find()
        .filter(wxmp::entity::messages::Column::Direction.eq(1))
        .all(&db)
        .await
        .unwrap();
    db.close().await.ok();
    let mut counts = std::collections::HashMap::new();
    for row in rows {
        *counts.entry(row.msg_id.unwrap_or_default()).or_insert(0) += 1;
    }
    counts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_in_a_load_run_loses_no_answered_message_and_stores_none_twice() {
    let dir = tempfile::tempdir().unwrap();
    let database_url = crate::helpers::fresh_database_url(dir.path()).await;
    let client = reqwest::Client::new();
    let (mut server, base) = crate::helpers::start_binary(&database_url, dir.path(), &[]).await;
    crate::helpers::wait_ready(&client, &base).await;

    let app_id = "wxkill9000000001";
    let signed_in: serde_json::Value = client
        .post(format!("{base}/auth/login"))
        .json(&json!({"username": crate::helpers::ADMIN_USER, "password": crate::helpers::ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = signed_in["data"]["token"].as_str().unwrap().to_string();
    let added: serde_json::Value = client
        .post(format!("{base}/wechat/wxaccounts/add"))
        .bearer_auth(&token)
        .json(&json!({"account_name": "kill -9", "app_id": app_id, "original_id": format!("gh_{app_id}"),
                      "token": crate::wechat::TOKEN, "message_mode": 0}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    client
        .post(format!("{base}/wechat/wxautoreplies/add"))
        .bearer_auth(&token)
        .json(&json!({"account_id": added["data"]["id"], "reply_type": 2, "keyword": "hi", "match_type": 1, "content": "hello"}))
        .send()
        .await
        .unwrap();

    // 16 senders at a time; the server is killed when 150 have been answered.
    const MESSAGES: i64 = 600;
    let answered = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut senders = tokio::task::JoinSet::new();
    let next = std::sync::Arc::new(std::sync::atomic::AtomicI64::new(1));
    for _ in 0..16 {
        let (client, base, answered, next) =
            (client.clone(), base.clone(), answered.clone(), next.clone());
        senders.spawn(async move {
            loop {
                let msg_id = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                if msg_id > MESSAGES {
                    return;
                }
                if crate::helpers::send_text(
                    &client,
                    &base,
                    app_id,
                    &format!("o_{}", msg_id % 7),
                    msg_id,
                    "hi",
                )
                .await
                .as_deref()
                    == Some("hello")
                {
                    answered.lock().unwrap().push(msg_id);
                }
            }
        });
    }
    while answered.lock().unwrap().len() < 150 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let mut killed = server.0.take().unwrap();
    killed.kill().unwrap(); // SIGKILL
    killed.wait().unwrap();
    while senders.join_next().await.is_some() {}
    let answered = answered.lock().unwrap().clone();
    assert!(answered.len() < MESSAGES as usize, "the kill came mid-run");

    let stored = stored_msg_ids(&database_url).await;
    for msg_id in &answered {
        assert_eq!(
            stored.get(msg_id),
            Some(&1),
            "answered message {msg_id} is stored once"
        );
    }
    assert!(stored.values().all(|n| *n == 1), "no message stored twice");

    // After a restart WeChat's retries of every message are answered (it
    // retries 5 s after an attempt failed), and each message is still stored
    // once; one stored but never dispatched is taken over by its retry.
    tokio::time::sleep(Duration::from_secs(5)).await;
    // On a port of its own: WeChat would retry the same URL, which a proxy
    // in front would route to the restarted server.
    let (server, base) = crate::helpers::start_binary(&database_url, dir.path(), &[]).await;
    crate::helpers::wait_ready(&client, &base).await;
    for msg_id in 1..=MESSAGES {
        let reply = crate::helpers::send_text(
            &client,
            &base,
            app_id,
            &format!("o_{}", msg_id % 7),
            msg_id,
            "hi",
        )
        .await;
        assert_eq!(
            reply.as_deref(),
            Some("hello"),
            "message {msg_id} answered after the restart"
        );
    }
    drop(server);
    let stored = stored_msg_ids(&database_url).await;
    assert_eq!(stored.len(), MESSAGES as usize);
    assert!(stored.values().all(|n| *n == 1), "no message stored twice");
}
