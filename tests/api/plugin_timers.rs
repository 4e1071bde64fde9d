//! Plugin timers: `schedule` keeps a durable job that calls `on_timer`
//! later — also after the server restarted — and the refusals that keep a
//! plugin from flooding the queue (minimum delay, a cap per account and
//! per call); dry runs show the timers they would set and save none.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use sea_orm::{ColumnTrait, Database, EntityTrait, QueryFilter};
use serde_json::json;
use wxmp::entity::jobs;

use crate::helpers::TestApp;
use crate::wechat::Peer;

const REMINDER: &str = r#"
const PLUGIN = #{ name: "reminder", priority: 250, messages: ["text"] };
fn on_message(msg, ctx) {
    let c = msg.content;
    if c == "remind" { schedule(6, "nudge", #{ note: "tea" }); return "ok"; }
    if c == "fired?" { return `${ctx.fan_get("fired") ?? "not yet"} ${ctx.get("fires") ?? 0}`; }
    if c == "soon" { try { schedule(1, "x"); return "scheduled"; } catch (e) { return `refused: ${e}`; } }
    if c == "bad time" { try { schedule("tomorrow", "x"); return "scheduled"; } catch (e) { return `refused: ${e}`; } }
    if c == "later" { schedule("2099-01-01T00:00:00Z", "x"); return "ok"; }
    if c == "hour" { schedule(3600, "later", #{ n: 1 }); return "ok"; }
    if c == "ten" {
        try {
            for i in 0..10 { schedule(600, `t${i}`, i); }
            return "ten";
        } catch (e) { return `refused: ${e}`; }
    }
    if c == "eleven" {
        for i in 0..11 { schedule(600, `t${i}`, i); }
        return "eleven";
    }
}
fn on_timer(name, data, ctx) {
    ctx.fan_set("fired", `${name} ${data.note} ${ctx.fan.openid}`);
    ctx.incr("fires");
}
"#;

async fn timer_jobs(db: &sea_orm::DatabaseConnection) -> Vec<jobs::Model> {
    jobs::Entity::find()
        .filter(jobs::Column::Kind.eq("plugin_timer"))
        .all(db)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timer_set_before_a_restart_fires_once_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let database_url = crate::helpers::fresh_database_url(dir.path()).await;
    std::fs::create_dir_all(dir.path().join("plugins")).unwrap();
    std::fs::write(dir.path().join("plugins/reminder.rhai"), REMINDER).unwrap();
    let client = reqwest::Client::new();
    let (server, base) = crate::helpers::start_binary(&database_url, dir.path(), &[]).await;
    crate::helpers::wait_ready(&client, &base).await;
    let app_id = "wxtimerrestart01";
    let token = crate::helpers::sign_in(&client, &base).await;
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
    assert!(added["data"]["id"].is_string(), "{added}");
    let say = |base: String, text: &'static str| {
        let client = client.clone();
        async move {
            let msg_id = rand::random::<u32>() as i64;
            crate::helpers::send_text(&client, &base, app_id, "o_tea", msg_id, text).await
        }
    };
    assert_eq!(say(base.clone(), "remind").await.as_deref(), Some("ok"));
    let db = Database::connect(&database_url).await.unwrap();
    let pending = timer_jobs(&db).await;
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].status, wxmp::jobs::PENDING);
    assert!(
        pending[0].owner.starts_with("plugin:reminder:"),
        "{:?}",
        pending[0]
    );
    drop(server); // killed before the timer is due

    let (_server, base) = crate::helpers::start_binary(&database_url, dir.path(), &[]).await;
    crate::helpers::wait_ready(&client, &base).await;
    let started = Instant::now();
    loop {
        let said = say(base.clone(), "fired?").await.unwrap_or_default();
        if said != "not yet 0" {
            assert_eq!(said, "nudge tea o_tea 1", "on_timer ran once, for the fan");
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the timer did not fire"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let done = timer_jobs(&db).await;
    assert_eq!(done.len(), 1, "{done:?}");
    assert_eq!(done[0].status, wxmp::jobs::DONE);
    db.close().await.ok();
}

async fn reminder_app(app_id: &str) -> (TestApp, Peer) {
    let app = TestApp::spawn().await;
    let dir = app.server.state.config.plugins_dir.clone();
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("reminder.rhai"), REMINDER).unwrap();
    let (_, report) = app.post("/wechat/plugins/reload", json!({})).await;
    assert_eq!(report["data"]["failed"], json!([]), "{report}");
    let peer = Peer::create(&app, app_id, 0).await;
    app.seed(&peer.account_id)
        .rule(json!({"reply_type": 3, "content": "default"}))
        .await;
    (app, peer)
}

async fn say(app: &TestApp, peer: &Peer, text: &str) -> String {
    let msg_id = rand::random::<u32>() as i64;
    let answer = peer.send(app, &peer.text("o_tea", text, msg_id)).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    answer.reply.map(|r| r.text("Content")).unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timers_too_soon_too_many_or_malformed_are_refused_and_dry_runs_save_none() {
    let (app, peer) = reminder_app("wxtimerrefuse001").await;
    let db = &app.server.state.db;

    let soon = say(&app, &peer, "soon").await;
    assert!(soon.contains("at least 5 seconds from now"), "{soon}");
    let bad = say(&app, &peer, "bad time").await;
    assert!(bad.contains("\"tomorrow\" is not a time like"), "{bad}");
    assert!(timer_jobs(db).await.is_empty());

    // A dry run shows the timer it would set, and sets none.
    let (status, answer) = app
        .post(
            "/wechat/plugins/test",
            json!({"account_id": peer.account_id, "plugin": "reminder", "text": "hour"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["data"]["timers"][0]["name"], "later", "{answer}");
    assert!(
        answer["data"]["timers"][0]["due_at"].is_string(),
        "{answer}"
    );
    assert!(timer_jobs(db).await.is_empty());
    assert_eq!(
        answer["data"]["timers"][0]["data"],
        json!({"n": 1}),
        "{answer}"
    );
    // More than a year ahead.
    assert_eq!(say(&app, &peer, "later").await, "default");

    // Eleven in one call: the call fails, and none of its timers is kept.
    assert_eq!(say(&app, &peer, "eleven").await, "default");
    assert!(timer_jobs(db).await.is_empty());

    // A hundred waiting in the account; the next one is refused.
    for _ in 0..10 {
        assert_eq!(say(&app, &peer, "ten").await, "ten");
    }
    assert_eq!(timer_jobs(db).await.len(), 100);
    let over = say(&app, &peer, "ten").await;
    assert!(
        over.contains("already has 100 timers waiting in this account"),
        "{over}"
    );
    assert_eq!(timer_jobs(db).await.len(), 100);
    let due = timer_jobs(db).await[0].run_at;
    let ahead = due - chrono::Utc::now();
    assert!(
        ahead > chrono::Duration::seconds(500),
        "due in 600 s: {ahead}"
    );
}
