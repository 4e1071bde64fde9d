//! Schedules a plugin declares (`PLUGIN.schedules`, five-field cron in
//! Beijing time): each firing calls `on_timer` once per account the plugin
//! runs for, also when several instances queue it; a bad pattern, or a
//! schedule without `on_timer`, is refused at load with its position.

use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use reqwest::StatusCode;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;
use wxmp::entity::jobs;

use crate::helpers::TestApp;
use crate::wechat::Peer;

const BELL: &str = r#"
const PLUGIN = #{
    name: "bell",
    priority: 250,
    messages: ["text"],
    schedules: [
        #{ name: "morning", cron: "0 9 * * *" },
        #{ name: "weekdays", cron: "30 9 * * 1-5" },
    ],
};
fn on_message(msg, ctx) {
    if msg.content == "rang?" { return `${ctx.get("rings") ?? 0} ${ctx.get("last") ?? "-"}`; }
}
fn on_timer(name, data, ctx) {
    ctx.incr("rings");
    ctx.set("last", `${name} ${data.scheduled_at} [${ctx.fan.openid}]`);
}
"#;

async fn write_and_reload(app: &TestApp, file: &str, source: &str) -> serde_json::Value {
    let dir = &app.server.state.config.plugins_dir;
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join(file), source).unwrap();
    let (status, report) = app.post("/wechat/plugins/reload", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    report
}

async fn say(app: &TestApp, peer: &Peer, text: &str) -> String {
    let answer = peer
        .send(
            app,
            &peer.text("o_bell", text, rand::random::<u32>() as i64),
        )
        .await;
    answer.reply.map(|r| r.text("Content")).unwrap_or_default()
}

async fn timer_jobs(app: &TestApp) -> Vec<jobs::Model> {
    jobs::Entity::find()
        .filter(jobs::Column::Kind.eq("plugin_timer"))
        .all(&app.server.state.db)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_firing_runs_once_per_account_the_plugin_runs_for() {
    let app = TestApp::spawn().await;
    let report = write_and_reload(&app, "bell.rhai", BELL).await;
    assert_eq!(report["data"]["failed"], json!([]), "{report}");
    let on = Peer::create(&app, "wxschedules00001", 0).await;
    let off = Peer::create(&app, "wxschedules00002", 0).await;
    let (status, body) = app
        .post(
            "/wechat/plugins/disable",
            json!({"plugin": "bell", "account_id": off.account_id}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // The list shows what the plugin declared.
    let (_, list) = app.get("/wechat/plugins/list").await;
    let bell = list["data"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "bell")
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        bell["schedules"][1],
        json!({"name": "weekdays", "cron": "30 9 * * 1-5"}),
        "{list}"
    );

    // Monday 2026-12-07 08:59:30 to 09:00:30 in Beijing (01:00 UTC): the
    // morning firing only. Two instances looking at the same minute queue it once.
    let beijing = chrono::FixedOffset::east_opt(8 * 3600).unwrap();
    let at = |h, m, s| {
        beijing
            .with_ymd_and_hms(2026, 12, 7, h, m, s)
            .unwrap()
            .with_timezone(&Utc)
    };
    let state = &app.server.state;
    for _ in 0..2 {
        wxmp::plugins::cron::queue_due(state, at(8, 59, 30), at(9, 0, 30))
            .await
            .unwrap();
    }
    let queued = timer_jobs(&app).await;
    assert_eq!(queued.len(), 1, "{queued:?}");
    assert_eq!(queued[0].run_at, at(9, 0, 0));
    // The weekday one at 09:30, seen by an instance whose window overlaps.
    wxmp::plugins::cron::queue_due(state, at(9, 29, 0), at(9, 30, 0))
        .await
        .unwrap();
    wxmp::plugins::cron::queue_due(state, at(9, 29, 50), at(9, 31, 0))
        .await
        .unwrap();
    assert_eq!(timer_jobs(&app).await.len(), 2);

    let started = Instant::now();
    while timer_jobs(&app)
        .await
        .iter()
        .any(|j| j.status != wxmp::jobs::DONE)
    {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{:?}",
            timer_jobs(&app).await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let answer = say(&app, &on, "rang?").await;
    assert!(answer.starts_with("2 "), "{answer}");
    assert!(
        answer.contains("2026-12-07T09:") && answer.ends_with("+08:00 []"),
        "fired with its Beijing time and no fan: {answer}"
    );
    // Switched off for the other account: it never rang there.
    assert_eq!(say(&app, &off, "rang?").await, "");
}

#[tokio::test]
async fn a_bad_pattern_or_a_schedule_without_on_timer_is_refused_at_load() {
    let app = TestApp::spawn().await;
    let report = write_and_reload(
        &app,
        "late.rhai",
        "const PLUGIN = #{\n    name: \"late\",\n    schedules: [#{ name: \"x\", cron: \"0 25 * * *\" }],\n};\n\
         fn on_message(msg, ctx) { () }\nfn on_timer(name, data, ctx) { () }\n",
    )
    .await;
    let failed = &report["data"]["failed"][0];
    assert_eq!(failed["file"], "late.rhai", "{report}");
    assert_eq!(failed["line"], 3, "{report}");
    let message = failed["message"].as_str().unwrap();
    assert!(
        message.contains("\"0 25 * * *\" is not a cron pattern of five fields"),
        "{message}"
    );
    // Seconds are not a field here.
    std::fs::remove_file(app.server.state.config.plugins_dir.join("late.rhai")).unwrap();
    let report = write_and_reload(
        &app,
        "secs.rhai",
        "const PLUGIN = #{ schedules: [#{ name: \"x\", cron: \"0 0 9 * * *\" }] };\n\
         fn on_message(msg, ctx) { () }\nfn on_timer(name, data, ctx) { () }\n",
    )
    .await;
    assert!(
        report["data"]["failed"][0]["message"]
            .as_str()
            .unwrap()
            .contains("five fields"),
        "{report}"
    );
    std::fs::remove_file(app.server.state.config.plugins_dir.join("secs.rhai")).unwrap();
    let report = write_and_reload(
        &app,
        "notimer.rhai",
        "const PLUGIN = #{ schedules: [#{ name: \"x\", cron: \"0 9 * * *\" }] };\n\
         fn on_message(msg, ctx) { () }\n",
    )
    .await;
    assert!(
        report["data"]["failed"][0]["message"]
            .as_str()
            .unwrap()
            .contains("define it"),
        "{report}"
    );
}
