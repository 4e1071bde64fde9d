//! Plugin state with a time to live, and the admin routes that list, export
//! and delete a plugin's state.

use std::time::{Duration, Instant};

use crate::helpers::{assert_field_error, TestApp};
use crate::wechat::Peer;
use reqwest::StatusCode;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{json, Value};
use wxmp::entity::plugin_state;

fn write_plugin(app: &TestApp, file: &str, source: &str) {
    let dir = app.server.state.config.plugins_dir.clone();
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(file), source).unwrap();
}

async fn reload(app: &TestApp) {
    let (status, report) = app.post("/wechat/plugins/reload", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["data"]["failed"], json!([]), "{report}");
}

async fn say(app: &TestApp, peer: &Peer, openid: &str, text: &str) -> Option<String> {
    let answer = peer
        .send(app, &peer.text(openid, text, rand::random::<u32>() as i64))
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    answer.reply.map(|r| r.text("Content"))
}

/// Rows of `key` in the table, expired or not (what the sweep deletes).
async fn rows_of(app: &TestApp, key: &str) -> usize {
    plugin_state::Entity::find()
        .filter(plugin_state::Column::StateKey.eq(key))
        .all(&app.server.state.db)
        .await
        .unwrap()
        .len()
}

const SURVEY: &str = r#"
const PLUGIN = #{ name: "survey", messages: ["text"] };
fn on_message(msg, ctx) {
    let c = msg.content;
    if c == "start" {
        ctx.fan_set("step", 1, 1);
        ctx.incr("hits", 1, 1);
        ctx.set("open", "yes", 1);
        ctx.set("forever", "yes");
        return "started";
    }
    if c == "where" { let s = ctx.fan_get("step"); return if s == () { "none" } else { `step ${s}` }; }
    if c == "count" { return `hits ${ctx.incr("hits")}`; }
    if c == "claim" { return `claimed ${ctx.cas("open", (), "mine")}`; }
    if c == "forever" { return `forever ${ctx.get("forever")}`; }
    if c == "negative" { ctx.set("x", 1, -5); }
    if c == "fraction" { ctx.fan_set("x", 1, 1.5); }
    if c == "text" { ctx.incr("x", 1, "60"); }
}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_with_a_time_to_live_read_as_missing_once_it_ran_out_and_the_sweep_deletes_them() {
    let data_dir = tempfile::tempdir().unwrap();
    let config = crate::helpers::test_config(data_dir.path()).await;
    std::fs::create_dir_all(&config.plugins_dir).unwrap();
    std::fs::write(config.plugins_dir.join("survey.rhai"), SURVEY).unwrap();
    let app = TestApp::attach(wxmp::Running::start(config.clone()).await.unwrap()).await;
    let peer = Peer::create(&app, "wxstatettl000001", 0).await;

    let started = Instant::now();
    assert_eq!(
        say(&app, &peer, "o_fan", "start").await.as_deref(),
        Some("started")
    );
    // Read before the second is up (a slow machine may miss it: then the
    // expiry below is all that can be checked).
    let early = say(&app, &peer, "o_fan", "where").await;
    let counted = say(&app, &peer, "o_fan", "count").await;
    if started.elapsed() < Duration::from_millis(900) {
        assert_eq!(early.as_deref(), Some("step 1"));
        assert_eq!(
            counted.as_deref(),
            Some("hits 2"),
            "incr keeps the key and its expiry"
        );
    }
    let (_, listed) = app
        .get("/wechat/plugins/state/list?plugin=survey&key_prefix=step")
        .await;
    if started.elapsed() < Duration::from_millis(900) {
        assert!(
            listed["data"]["list"][0]["expires_at"].is_string(),
            "{listed}"
        );
    }

    tokio::time::sleep(Duration::from_millis(1300).saturating_sub(started.elapsed())).await;
    // Expired: missing to get, incr and cas alike; the key without a TTL stays.
    assert_eq!(
        say(&app, &peer, "o_fan", "where").await.as_deref(),
        Some("none")
    );
    assert_eq!(
        say(&app, &peer, "o_fan", "count").await.as_deref(),
        Some("hits 1")
    );
    assert_eq!(
        say(&app, &peer, "o_fan", "claim").await.as_deref(),
        Some("claimed true")
    );
    assert_eq!(
        say(&app, &peer, "o_fan", "forever").await.as_deref(),
        Some("forever yes")
    );
    let (_, listed) = app.get("/wechat/plugins/state/list?plugin=survey").await;
    let keys: Vec<&str> = listed["data"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["forever", "hits", "open"], "{listed}");
    assert!(
        listed["data"]["list"][1]["expires_at"].is_null(),
        "recreated without a TTL"
    );
    // The expired row is still stored until the sweep comes…
    assert_eq!(rows_of(&app, "step").await, 1);
    app.server.shutdown().await.unwrap();

    // …which runs at start-up and every minute after.
    let app = TestApp::attach(wxmp::Running::start(config).await.unwrap()).await;
    let waited = Instant::now();
    while rows_of(&app, "step").await > 0 {
        assert!(
            waited.elapsed() < Duration::from_secs(10),
            "the sweep never came"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        rows_of(&app, "forever").await,
        1,
        "the sweep keeps what has not expired"
    );
}

#[tokio::test]
async fn a_ttl_that_is_not_a_whole_number_of_seconds_from_one_is_refused_with_its_value() {
    let app = TestApp::spawn().await;
    write_plugin(&app, "survey.rhai", SURVEY);
    reload(&app).await;
    let peer = Peer::create(&app, "wxstatettl000002", 0).await;
    for (text, says) in [
        ("negative", "not -5 (int)"),
        ("fraction", "not 1.5 (float)"),
        ("text", "not \"60\" (a string)"),
    ] {
        let (status, dry) = app
            .post(
                "/wechat/plugins/test",
                json!({"account_id": peer.account_id, "plugin": "survey", "text": text}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{dry}");
        let error = dry["data"]["error"].as_str().unwrap_or_default();
        assert!(
            error.contains("ttl_seconds must be a whole number of seconds from 1 to")
                && error.contains(says),
            "{text}: {dry}"
        );
    }
    assert_eq!(rows_of(&app, "x").await, 0);
}

const POLL: &str = r#"
const PLUGIN = #{ name: "poll", messages: ["text"] };
fn on_message(msg, ctx) {
    ctx.fan_set("answer:" + msg.content, msg.content);
    ctx.incr("votes");
    "ok"
}
"#;

async fn listed(app: &TestApp, query: &str) -> Value {
    let (status, body) = app
        .get(&format!("/wechat/plugins/state/list?{query}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{query}: {body}");
    body["data"].clone()
}

#[tokio::test]
async fn admins_list_filter_export_and_delete_a_plugins_state_and_operators_may_not() {
    let app = TestApp::spawn().await;
    write_plugin(&app, "poll.rhai", POLL);
    reload(&app).await;
    let peer = Peer::create(&app, "wxstatelist00001", 0).await;
    let other = Peer::create(&app, "wxstatelist00002", 0).await;
    for (openid, text) in [
        ("o_a", "red"),
        ("o_a", "blue"),
        ("o_b", "red"),
        ("o_b", "x%y"),
    ] {
        say(&app, &peer, openid, text).await;
    }
    say(&app, &other, "o_c", "red").await;
    let account = &peer.account_id;

    let all = listed(&app, "plugin=poll").await;
    assert_eq!(all["total"], 7, "{all}");
    let mine = listed(&app, &format!("plugin=poll&account_id={account}")).await;
    assert_eq!(mine["total"], 5);
    let wide = listed(
        &app,
        &format!("plugin=poll&account_id={account}&scope=account"),
    )
    .await;
    assert_eq!(wide["total"], 1);
    assert_eq!(wide["list"][0]["key"], "votes");
    assert_eq!(wide["list"][0]["value"], 4);
    assert_eq!(wide["list"][0]["scope"], "account");
    assert_eq!(wide["list"][0]["account_id"], json!(account));
    let fan = listed(&app, "plugin=poll&scope=fan&openid=o_a").await;
    let keys: Vec<&str> = fan["list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["answer:blue", "answer:red"]);
    assert_eq!(
        listed(&app, "plugin=poll&key_prefix=answer:r").await["total"],
        3
    );
    // `%` and `_` in a prefix are the characters themselves.
    let odd = listed(&app, "plugin=poll&key_prefix=answer:x%25").await;
    assert_eq!(odd["total"], 1, "{odd}");
    assert_eq!(
        listed(&app, "plugin=poll&key_prefix=answer%3A_").await["total"],
        0
    );
    let page = listed(&app, "plugin=poll&page=2&page_size=3").await;
    assert_eq!(
        (
            page["total"].clone(),
            page["list"].as_array().unwrap().len()
        ),
        (json!(7), 3)
    );

    // Export: the same rows as a download, JSON or CSV.
    let export = |query: &'static str| {
        let app = &app;
        async move {
            let response = app
                .client
                .get(app.url(&format!("/wechat/plugins/state/export?{query}")))
                .bearer_auth(&app.token)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::OK);
            let header = |name: &str| response.headers()[name].to_str().unwrap().to_string();
            let (kind, disposition) = (header("content-type"), header("content-disposition"));
            (kind, disposition, response.text().await.unwrap())
        }
    };
    let (kind, disposition, body) = export("plugin=poll&scope=fan&openid=o_b").await;
    assert_eq!(kind, "application/json");
    assert_eq!(disposition, "attachment; filename=\"poll-state.json\"");
    let rows: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(rows.as_array().unwrap().len(), 2, "{rows}");
    assert_eq!(rows[0]["key"], "answer:red");
    let (kind, disposition, body) = export("plugin=poll&scope=account&format=csv").await;
    assert_eq!(kind, "text/csv; charset=utf-8");
    assert!(disposition.ends_with("poll-state.csv\""), "{disposition}");
    let lines: Vec<&str> = body.lines().collect();
    assert_eq!(
        lines[0],
        "plugin,account_id,scope,openid,key,value,expires_at,updated_at"
    );
    assert_eq!(lines.len(), 3, "{body}");
    let votes = format!("\"poll\",\"{account}\",\"account\",\"\",\"votes\",\"4\",\"\",");
    assert!(lines[1].starts_with(&votes), "{body}");

    // Delete one key: gone from the list, recorded in the audit trail.
    let delete = format!(
        "/wechat/plugins/state/del?plugin=poll&account_id={account}&openid=o_a&key=answer:red"
    );
    let (status, body) = app.delete(&delete).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["deleted"], 1);
    assert_eq!(listed(&app, "plugin=poll&openid=o_a").await["total"], 1);
    let (_, again) = app.delete(&delete).await;
    assert_eq!(again["data"]["deleted"], 0);
    let (_, trail) = app.get("/wechat/audit_log/list?action=delete_state").await;
    assert_eq!(trail["data"]["total"], 1, "{trail}");
    assert_eq!(trail["data"]["list"][0]["resource"], "plugin");
    assert_eq!(trail["data"]["list"][0]["resource_id"], "poll");
    assert_eq!(trail["data"]["list"][0]["account_id"], json!(account));

    // Operators see none of it, not even for their own account.
    app.add(
        "/wechat/admins/add",
        json!({"username": "op-state", "password": "operator-pass-1", "role": "operator", "account_ids": [account]}),
    )
    .await;
    let token = app.login("op-state", "operator-pass-1").await;
    for (method, path) in [
        (
            reqwest::Method::GET,
            format!("/wechat/plugins/state/list?plugin=poll&account_id={account}"),
        ),
        (
            reqwest::Method::GET,
            "/wechat/plugins/state/export?plugin=poll".to_string(),
        ),
        (
            reqwest::Method::DELETE,
            delete.replace("answer:red", "answer:blue"),
        ),
    ] {
        let (status, body) = app.send(method, &path, Some(&token), None).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}: {body}");
    }
    assert_eq!(listed(&app, "plugin=poll&openid=o_a").await["total"], 1);
}

#[tokio::test]
async fn bad_state_queries_are_refused_naming_the_parameter() {
    let app = TestApp::spawn().await;
    write_plugin(&app, "poll.rhai", POLL);
    reload(&app).await;
    let peer = Peer::create(&app, "wxstatelist00003", 0).await;
    for (query, field) in [
        ("", "plugin"),
        ("plugin=nope", "plugin"),
        ("plugin=poll&account_id=abc", "account_id"),
        ("plugin=poll&scope=everyone", "scope"),
        ("plugin=poll&scope=account&openid=o_a", "openid"),
    ] {
        for route in ["list", "export"] {
            let (status, body) = app
                .get(&format!("/wechat/plugins/state/{route}?{query}"))
                .await;
            assert_field_error(status, &body, field);
        }
    }
    let (status, body) = app
        .get("/wechat/plugins/state/export?plugin=poll&format=xml")
        .await;
    assert_field_error(status, &body, "format");
    let (status, body) = app
        .get("/wechat/plugins/state/list?plugin=poll&page=0")
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let account = &peer.account_id;
    for (query, field) in [
        (format!("plugin=nope&account_id={account}&key=k"), "plugin"),
        ("plugin=poll&account_id=x&key=k".to_string(), "account_id"),
        (format!("plugin=poll&account_id={account}&key="), "key"),
    ] {
        let (status, body) = app
            .delete(&format!("/wechat/plugins/state/del?{query}"))
            .await;
        assert_field_error(status, &body, field);
    }
}
