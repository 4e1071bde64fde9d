//! Dry runs (`POST /wechat/plugins/test`) as a script author uses them: as a
//! chosen fan, a conversation of several messages, seeded state, a fixed
//! clock, images and voice, and the state writes the run would make — with
//! nothing written to the database.

use crate::helpers::{assert_field_error, TestApp};
use crate::wechat::Peer;
use reqwest::StatusCode;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{json, Value};
use wxmp::entity::plugin_state;

const QUIZ: &str = r#"
const PLUGIN = #{ name: "quiz", messages: ["text", "image", "voice"], events: ["subscribe"] };
fn on_event(evt, ctx) { "welcome" }
fn on_message(msg, ctx) {
    if msg.type == "image" { return `image ${msg.media_id} ${msg.pic_url}`; }
    if msg.type == "voice" { return `voice ${msg.format} ${msg.recognition ?? "-"}`; }
    let c = msg.content;
    if c == "who" { return `fan ${ctx.fan.openid} ${msg.from}`; }
    if c == "when" { return `${time::now("UTC").iso} ${msg.create_time}`; }
    if c == "start" { ctx.fan_set("step", 1, 60); ctx.incr("started"); return "q1"; }
    if c == "next" {
        let s = ctx.fan_get("step");
        if s == () { return "no survey"; }
        ctx.fan_set("step", s + 1);
        return `q${s + 1}`;
    }
    if c == "peek" { return `${ctx.fan_get("step") ?? "none"}`; }
    if c == "seeded" { return `${ctx.get("greeting")} ${ctx.fan_get("nick") ?? "-"}`; }
    if c == "drop" { ctx.remove("greeting"); return "dropped"; }
}
"#;

async fn quiz_app(app_id: &str) -> (TestApp, Peer) {
    let app = TestApp::spawn().await;
    let dir = app.server.state.config.plugins_dir.clone();
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("quiz.rhai"), QUIZ).unwrap();
    let (_, report) = app.post("/wechat/plugins/reload", json!({})).await;
    assert_eq!(report["data"]["failed"], json!([]), "{report}");
    let peer = Peer::create(&app, app_id, 0).await;
    (app, peer)
}

/// Runs a dry run of `body` (the account filled in); status and body.
async fn dry(app: &TestApp, peer: &Peer, mut body: Value) -> (StatusCode, Value) {
    body["account_id"] = json!(peer.account_id);
    app.post("/wechat/plugins/test", body).await
}

async fn dry_ok(app: &TestApp, peer: &Peer, body: Value) -> Value {
    let (status, answer) = dry(app, peer, body).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    answer["data"].clone()
}

fn replies(steps: &Value) -> Vec<String> {
    steps["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["reply"]["content"].as_str().unwrap_or("").to_string())
        .collect()
}

async fn stored_rows(app: &TestApp) -> u64 {
    plugin_state::Entity::find()
        .filter(plugin_state::Column::Plugin.eq("quiz"))
        .count(&app.server.state.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_dry_run_speaks_as_the_fan_it_is_given() {
    let (app, peer) = quiz_app("wxdryfan00000001").await;
    let who = |body: Value| dry_ok(&app, &peer, body);
    let said = |answer: Value| answer["reply"]["content"].as_str().unwrap().to_string();
    assert_eq!(
        said(who(json!({"plugin": "quiz", "text": "who"})).await),
        "fan o_dry_run o_dry_run"
    );
    assert_eq!(
        said(who(json!({"plugin": "quiz", "from": "o_alice", "text": "who"})).await),
        "fan o_alice o_alice"
    );
    assert_eq!(
        said(who(json!({"openid": "o_alice", "text": "who"})).await),
        "fan o_alice o_alice"
    );
    // Raw XML speaks for its sender, unless another fan is named.
    let xml = peer.text("o_bob", "who", 42);
    assert_eq!(
        said(who(json!({"plugin": "quiz", "xml": xml})).await),
        "fan o_bob o_bob"
    );

    let (status, body) = dry(
        &app,
        &peer,
        json!({"plugin": "quiz", "from": "o_alice", "xml": xml}),
    )
    .await;
    assert_field_error(status, &body, "xml");
    assert!(body["msg"].as_str().unwrap().contains("o_bob"), "{body}");
    let (status, body) = dry(
        &app,
        &peer,
        json!({"from": "o_a", "openid": "o_b", "text": "who"}),
    )
    .await;
    assert_field_error(status, &body, "from");
    let (status, body) = dry(&app, &peer, json!({"from": "", "text": "who"})).await;
    assert_field_error(status, &body, "openid");
}

#[tokio::test]
async fn a_conversation_carries_state_from_message_to_message_shows_its_writes_and_stores_nothing()
{
    let (app, peer) = quiz_app("wxdryconv0000001").await;
    let run = dry_ok(
        &app,
        &peer,
        json!({"plugin": "quiz", "from": "o_carol", "messages": [{"text": "start"}, {"text": "next"}, {"text": "next"}]}),
    )
    .await;
    assert_eq!(replies(&run), ["q1", "q2", "q3"], "{run}");
    let first = &run["steps"][0]["state_writes"];
    assert_eq!(first.as_array().unwrap().len(), 2, "{first}");
    assert_eq!(
        (
            first[0]["key"].clone(),
            first[0]["scope"].clone(),
            first[0]["old"].clone(),
            first[0]["new"].clone()
        ),
        (json!("started"), json!("account"), Value::Null, json!(1))
    );
    assert_eq!(first[1]["key"], "step");
    assert_eq!(first[1]["scope"], "fan");
    assert_eq!(first[1]["openid"], "o_carol");
    assert_eq!(first[1]["plugin"], "quiz");
    assert!(first[1]["expires_at"].is_string(), "{first}");
    let second = &run["steps"][1]["state_writes"][0];
    assert_eq!(
        (second["old"].clone(), second["new"].clone()),
        (json!(1), json!(2))
    );
    assert!(
        second["expires_at"].is_null(),
        "a set without TTL: {second}"
    );
    assert_eq!(stored_rows(&app).await, 0, "a dry run writes nothing");

    // The whole chain takes a conversation too.
    let chain = dry_ok(
        &app,
        &peer,
        json!({"messages": [{"text": "start"}, {"text": "peek"}]}),
    )
    .await;
    assert_eq!(replies(&chain), ["q1", "1"]);
    assert_eq!(chain["steps"][1]["handler"], "plugin:quiz");

    // Stored state is read, never written: the fan's real survey stays at 1.
    let answer = peer.send(&app, &peer.text("o_carol", "start", 7001)).await;
    assert_eq!(answer.reply.unwrap().text("Content"), "q1");
    let run = dry_ok(&app, &peer, json!({"plugin": "quiz", "from": "o_carol", "messages": [{"text": "next"}, {"text": "next"}]})).await;
    assert_eq!(replies(&run), ["q2", "q3"]);
    let (_, listed) = app
        .get("/wechat/plugins/state/list?plugin=quiz&openid=o_carol")
        .await;
    assert_eq!(listed["data"]["list"][0]["value"], 1, "{listed}");
    assert_eq!(
        stored_rows(&app).await,
        2,
        "started and step, from the real message only"
    );
}

#[tokio::test]
async fn seeded_state_and_a_fixed_clock_are_what_scripts_see() {
    let (app, peer) = quiz_app("wxdryseed0000001").await;
    let run = dry_ok(
        &app,
        &peer,
        json!({"plugin": "quiz", "text": "seeded", "state": [
            {"key": "greeting", "value": "你好"},
            {"scope": "fan", "key": "nick", "value": "小明"}
        ]}),
    )
    .await;
    assert_eq!(run["reply"]["content"], "你好 小明", "{run}");
    assert_eq!(run["state_writes"], json!([]));
    let run = dry_ok(
        &app,
        &peer,
        json!({"plugin": "quiz", "text": "drop", "state": [{"key": "greeting", "value": "你好"}]}),
    )
    .await;
    let write = &run["state_writes"][0];
    assert_eq!(
        (
            write["key"].clone(),
            write["old"].clone(),
            write["new"].clone()
        ),
        (json!("greeting"), json!("你好"), Value::Null)
    );

    let at = chrono::DateTime::parse_from_rfc3339("2026-01-02T03:04:05Z").unwrap();
    let run = dry_ok(
        &app,
        &peer,
        json!({"plugin": "quiz", "text": "when", "time": "2026-01-02T11:04:05+08:00"}),
    )
    .await;
    assert_eq!(
        run["reply"]["content"],
        format!("2026-01-02T03:04:05+00:00 {}", at.timestamp())
    );
    let run = dry_ok(
        &app,
        &peer,
        json!({"plugin": "quiz", "text": "when", "time": at.timestamp()}),
    )
    .await;
    assert_eq!(
        run["reply"]["content"],
        format!("2026-01-02T03:04:05+00:00 {}", at.timestamp())
    );

    // The clock moves with the messages: a 60-second TTL runs out between them.
    let t = at.timestamp();
    let run = dry_ok(
        &app,
        &peer,
        json!({"plugin": "quiz", "messages": [
            {"text": "start", "time": t}, {"text": "peek", "time": t + 30}, {"text": "peek"}, {"text": "peek", "time": t + 61}
        ]}),
    )
    .await;
    assert_eq!(replies(&run), ["q1", "1", "1", "none"], "{run}");
    // A seed's TTL counts from the first message's time.
    let run = dry_ok(
        &app,
        &peer,
        json!({"plugin": "quiz", "time": t, "state": [{"scope": "fan", "key": "step", "value": 5, "ttl_seconds": 10}],
               "messages": [{"text": "peek"}, {"text": "peek", "time": t + 11}]}),
    )
    .await;
    assert_eq!(replies(&run), ["5", "none"], "{run}");
    assert_eq!(stored_rows(&app).await, 0);
}

#[tokio::test]
async fn a_dry_run_sends_images_and_voice() {
    let (app, peer) = quiz_app("wxdrymedia000001").await;
    let run = dry_ok(
        &app,
        &peer,
        json!({"plugin": "quiz", "image": {"media_id": "m1", "pic_url": "http://127.0.0.1/p.jpg"}}),
    )
    .await;
    assert_eq!(
        run["reply"]["content"], "image m1 http://127.0.0.1/p.jpg",
        "{run}"
    );
    let run = dry_ok(
        &app,
        &peer,
        json!({"plugin": "quiz", "voice": {"recognition": "你好"}}),
    )
    .await;
    assert_eq!(run["reply"]["content"], "voice amr 你好");
    let run = dry_ok(
        &app,
        &peer,
        json!({"plugin": "quiz", "voice": {"media_id": "v1", "format": "speex"}}),
    )
    .await;
    assert_eq!(run["reply"]["content"], "voice speex -");
    let run = dry_ok(
        &app,
        &peer,
        json!({"plugin": "quiz", "messages": [{"event": "subscribe"}, {"image": {}}]}),
    )
    .await;
    assert_eq!(
        replies(&run),
        [
            "welcome",
            "image dry_run_image http://127.0.0.1/dry-run.jpg"
        ]
    );
}

#[tokio::test]
async fn bad_dry_runs_are_refused_naming_the_field() {
    let (app, peer) = quiz_app("wxdrybad00000001").await;
    for (body, field) in [
        (json!({"plugin": "quiz"}), "text"),
        (json!({"plugin": "quiz", "text": "a", "image": {}}), "text"),
        (
            json!({"plugin": "quiz", "voice": {"format": "mp3"}}),
            "voice.format",
        ),
        (
            json!({"plugin": "quiz", "text": "a", "time": "yesterday"}),
            "time",
        ),
        (json!({"plugin": "quiz", "messages": []}), "messages"),
        (
            json!({"plugin": "quiz", "text": "a", "messages": [{"text": "b"}]}),
            "messages",
        ),
        (
            json!({"plugin": "quiz", "messages": [{"text": "a"}, {"text": "b", "time": true}]}),
            "messages[1].time",
        ),
        (
            json!({"plugin": "quiz", "messages": [{"text": "a"}, {}]}),
            "messages[1].text",
        ),
        (
            json!({"plugin": "quiz", "text": "a", "state": [{"plugin": "nope", "key": "k", "value": 1}]}),
            "state[0].plugin",
        ),
        (
            json!({"text": "a", "state": [{"key": "k", "value": 1}]}),
            "state[0].plugin",
        ),
        (
            json!({"plugin": "quiz", "text": "a", "state": [{"key": "k", "value": 1, "ttl_seconds": -1}]}),
            "state[0].ttl_seconds",
        ),
        (
            json!({"plugin": "quiz", "text": "a", "state": [{"key": "k", "value": 1, "scope": "all"}]}),
            "state[0].scope",
        ),
        (
            json!({"plugin": "quiz", "text": "a", "state": [{"key": "", "value": 1}]}),
            "state[0].key",
        ),
        (
            json!({"plugin": "quiz", "text": "a", "state": [{"key": "k", "value": null}]}),
            "state[0].value",
        ),
        (json!({"plugin": "nope", "text": "a"}), "plugin"),
    ] {
        let (status, answer) = dry(&app, &peer, body.clone()).await;
        assert_field_error(status, &answer, field);
        assert!(
            !answer["msg"].as_str().unwrap_or_default().is_empty(),
            "{body}: {answer}"
        );
    }
    // A TTL that is not a whole number is refused by the body's shape.
    let (status, answer) = dry(&app, &peer, json!({"plugin": "quiz", "text": "a", "state": [{"key": "k", "value": 1, "ttl_seconds": 1.5}]})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert!(
        answer["msg"].as_str().unwrap().contains("ttl_seconds"),
        "{answer}"
    );
    assert_eq!(stored_rows(&app).await, 0);
}

#[tokio::test]
async fn the_openapi_document_describes_the_dry_run_body() {
    let app = TestApp::spawn().await;
    let (status, doc) = app
        .send(reqwest::Method::GET, "/api-docs/openapi.json", None, None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let body = &doc["paths"]["/wechat/plugins/test"]["post"]["requestBody"]["content"]
        ["application/json"]["schema"];
    assert_eq!(body["$ref"], "#/components/schemas/DryRunRequest", "{body}");
    let schemas = &doc["components"]["schemas"];
    let fields = &schemas["DryRunRequest"]["properties"];
    for name in [
        "account_id",
        "plugin",
        "openid",
        "from",
        "text",
        "event",
        "image",
        "voice",
        "xml",
        "time",
        "messages",
        "state",
    ] {
        assert!(fields.get(name).is_some(), "{name} missing: {fields}");
    }
    for name in ["MessageSpec", "SeedSpec", "ImageSpec", "VoiceSpec"] {
        assert!(schemas.get(name).is_some(), "{name} missing");
    }
}
