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

/// Signs in to the server at `base` and adds a plaintext-mode account
/// `app_id`: the admin's token and the account's id.
async fn plaintext_account(
    client: &reqwest::Client,
    base: &str,
    app_id: &str,
) -> (String, serde_json::Value) {
    let token = crate::helpers::sign_in(client, base).await;
    let added: serde_json::Value = client
        .post(format!("{base}/wechat/wxaccounts/add"))
        .bearer_auth(&token)
        .json(
            &json!({"account_name": app_id, "app_id": app_id, "original_id": format!("gh_{app_id}"),
                      "token": crate::wechat::TOKEN, "message_mode": 0}),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    (token, added["data"]["id"].clone())
}

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
    let (token, account_id) = plaintext_account(&client, &base, app_id).await;
    client
        .post(format!("{base}/wechat/wxautoreplies/add"))
        .bearer_auth(&token)
        .json(&json!({"account_id": account_id, "reply_type": 2, "keyword": "hi", "match_type": 1, "content": "hello"}))
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

/// An image host whose first answer never comes (the download it serves
/// is cut off by the kill); later ones get a PNG. Counts its requests.
async fn image_host_stalling_once() -> (
    std::net::SocketAddr,
    std::sync::Arc<std::sync::atomic::AtomicUsize>,
) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let requests = std::sync::Arc::new(AtomicUsize::new(0));
    let counted = requests.clone();
    let app = axum::Router::new().route(
        "/pic.png",
        axum::routing::get(move || {
            let counted = counted.clone();
            async move {
                if counted.fetch_add(1, Ordering::SeqCst) == 0 {
                    std::future::pending::<()>().await;
                }
                (
                    [(axum::http::header::CONTENT_TYPE, "image/png")],
                    crate::media::PNG,
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (addr, requests)
}

/// The download jobs in the database at `database_url`.
async fn download_jobs(database_url: &str) -> Vec<wxmp::entity::jobs::Model> {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let db = Database::connect(database_url).await.unwrap();
    let kind = <wxmp::media::DownloadImage as wxmp::jobs::Job>::NAME;
    let jobs = wxmp::entity::jobs::Entity::find()
        .filter(wxmp::entity::jobs::Column::Kind.eq(kind))
        .all(&db)
        .await
        .unwrap();
    db.close().await.ok();
    jobs
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_running_at_kill_9_is_taken_up_after_its_lease_and_done_once() {
    use std::sync::atomic::Ordering;
    let dir = tempfile::tempdir().unwrap();
    let database_url = crate::helpers::fresh_database_url(dir.path()).await;
    let client = reqwest::Client::new();
    let (host, requests) = image_host_stalling_once().await;
    const LEASE_SECS: u64 = 3;
    let env = [
        ("WXMP_MEDIA_HOSTS", "127.0.0.1".to_string()),
        ("WXMP_JOB_LEASE", LEASE_SECS.to_string()),
    ];
    let (mut server, base) = crate::helpers::start_binary(&database_url, dir.path(), &env).await;
    crate::helpers::wait_ready(&client, &base).await;
    let app_id = "wxkilljob0000001";
    plaintext_account(&client, &base, app_id).await;
    let fields = format!(
        "<MsgType>image</MsgType><PicUrl><![CDATA[http://{host}/pic.png]]></PicUrl><MediaId>M1</MediaId><MsgId>9001</MsgId>"
    );
    let answer = crate::helpers::send_message(&client, &base, app_id, "o_pic", &fields).await;
    assert!(answer.is_some(), "the image message is taken");

    // The download has started and hangs: the job is running when the
    // server is killed.
    let started = std::time::Instant::now();
    while requests.load(Ordering::SeqCst) == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the job never started"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let jobs = download_jobs(&database_url).await;
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].status, wxmp::jobs::RUNNING);
    let mut killed = server.0.take().unwrap();
    killed.kill().unwrap(); // SIGKILL
    killed.wait().unwrap();

    // A new process on the same database and data dir takes the job up once
    // its lease has run out, and finishes it.
    let (_server, base) = crate::helpers::start_binary(&database_url, dir.path(), &env).await;
    crate::helpers::wait_ready(&client, &base).await;
    let restarted = std::time::Instant::now();
    let job = loop {
        let jobs = download_jobs(&database_url).await;
        assert_eq!(jobs.len(), 1, "still one job");
        if jobs[0].status == wxmp::jobs::DONE {
            break jobs[0].clone();
        }
        assert!(
            restarted.elapsed() < Duration::from_secs(LEASE_SECS + 15),
            "the job was not taken up: {:?}",
            jobs[0]
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(job.attempts, 2, "claimed once by each process");
    assert_eq!(job.last_error, "");
    // Nothing runs it again, and it left one message and one file.
    tokio::time::sleep(Duration::from_secs(LEASE_SECS + 1)).await;
    assert_eq!(
        requests.load(Ordering::SeqCst),
        2,
        "fetched once more, not twice"
    );
    assert_eq!(download_jobs(&database_url).await[0].attempts, 2);
    let db = Database::connect(database_url.as_str()).await.unwrap();
    use sea_orm::EntityTrait;
    let messages = wxmp::entity::messages::Entity::find()
        .all(&db)
        .await
        .unwrap();
    db.close().await.ok();
    let images: Vec<_> = messages.iter().filter(|m| m.msg_id == Some(9001)).collect();
    assert_eq!(images.len(), 1, "the message is stored once");
    let local_path = images[0].local_path.clone();
    assert!(local_path.starts_with("media/"), "{local_path:?}");
    let stored = dir.path().join("data").join(&local_path);
    assert_eq!(std::fs::read(&stored).unwrap(), crate::media::PNG);
    let files = walk_files(&dir.path().join("data").join("media"));
    assert_eq!(files, vec![stored], "one file in the media folder");
}

/// Every file under `dir`, at any depth.
fn walk_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(walk_files(&path));
        } else {
            files.push(path);
        }
    }
    files
}
