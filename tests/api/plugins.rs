//! Rhai plugins on a running server with a temporary plugins directory: hot
//! reload, the sandbox, state, switches, priorities and dry runs.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::helpers::TestApp;
use crate::wechat::Peer;
use reqwest::StatusCode;
use serde_json::{json, Value};

fn plugins_dir(app: &TestApp) -> PathBuf {
    app.server.state.config.plugins_dir.clone()
}

fn write(app: &TestApp, file: &str, source: &str) {
    let path = plugins_dir(app).join(file);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, source).unwrap();
}

async fn reply_to(app: &TestApp, peer: &Peer, text: &str) -> Option<String> {
    let msg_id = rand::random::<u32>() as i64;
    let answer = peer.send(app, &peer.text("o_plugin", text, msg_id)).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    answer.reply.map(|r| r.text("Content"))
}

/// Sends `text` until the reply is `expected` (or 5 s pass); returns how long it took.
async fn until_reply(app: &TestApp, peer: &Peer, text: &str, expected: Option<&str>) -> Duration {
    let started = Instant::now();
    loop {
        let got = reply_to(app, peer, text).await;
        if got.as_deref() == expected {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "still {got:?}, expected {expected:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn plugin_info(app: &TestApp, name: &str) -> Value {
    let (status, body) = app.get("/wechat/plugins/list").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["data"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .cloned()
        .unwrap_or(Value::Null)
}

const HELLO: &str = r#"
const PLUGIN = #{ name: "hello", priority: 250, messages: ["text"] };
fn on_message(msg, ctx) {
    if msg.content == "hi" { return reply::text("hello v1"); }
    ()
}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_are_picked_up_changed_broken_and_removed_without_restart() {
    let app = TestApp::spawn().await;
    let peer = Peer::create(&app, "wxplugreload0001", 0).await;
    app.seed(&peer.account_id)
        .rule(json!({"reply_type": 3, "content": "default"}))
        .await;
    assert_eq!(
        reply_to(&app, &peer, "hi").await.as_deref(),
        Some("default")
    );

    write(&app, "hello.rhai", HELLO);
    let took = until_reply(&app, &peer, "hi", Some("hello v1")).await;
    assert!(
        took < Duration::from_secs(2),
        "a new file answers within about a second: {took:?}"
    );

    write(&app, "hello.rhai", &HELLO.replace("hello v1", "hello v2"));
    until_reply(&app, &peer, "hi", Some("hello v2")).await;

    // A syntax error keeps v2 running and says where the error is.
    write(
        &app,
        "hello.rhai",
        "const PLUGIN = #{ name: \"hello\" };\nfn on_message(msg, ctx) {\n    let x = ;\n}\n",
    );
    let started = Instant::now();
    let info = loop {
        let info = plugin_info(&app, "hello").await;
        if info["compile_error"].is_object() || started.elapsed() > Duration::from_secs(5) {
            break info;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(info["status"], "active", "{info}");
    assert_eq!(info["compile_error"]["line"], 3, "{info}");
    assert!(info["compile_error"]["column"].is_number());
    assert_eq!(info["compile_error"]["file"], "hello.rhai");
    assert_eq!(
        reply_to(&app, &peer, "hi").await.as_deref(),
        Some("hello v2")
    );

    std::fs::remove_file(plugins_dir(&app).join("hello.rhai")).unwrap();
    until_reply(&app, &peer, "hi", Some("default")).await;
    assert!(plugin_info(&app, "hello").await.is_null());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runaway_scripts_are_stopped_and_the_reply_still_comes() {
    let app = TestApp::spawn().await;
    let peer = Peer::create(&app, "wxplugloop000001", 0).await;
    app.seed(&peer.account_id)
        .rule(json!({"reply_type": 3, "content": "default"}))
        .await;
    write(&app, "spin.rhai", "const PLUGIN = #{ name: \"spin\", priority: 500 };\nfn on_message(msg, ctx) {\n    if msg.content == \"spin\" { loop { } }\n    ()\n}\n");
    write(&app, "grow.rhai", "const PLUGIN = #{ name: \"grow\", priority: 400 };\nfn on_message(msg, ctx) {\n    if msg.content != \"grow\" { return; }\n    let s = \"x\";\n    loop { s += s; }\n}\n");
    write(&app, "oops.rhai", "const PLUGIN = #{ name: \"oops\", priority: 300 };\nfn on_message(msg, ctx) {\n    if msg.content == \"oops\" { throw \"broken on purpose\"; }\n}\n");
    write(&app, "escape.rhai", "const PLUGIN = #{ name: \"escape\", priority: 300 };\nfn on_message(msg, ctx) {\n    if msg.content == \"eval\" { return eval(\"40 + 2\"); }\n}\n");
    app.post("/wechat/plugins/reload", json!({})).await;

    for (text, plugin, reason) in [
        ("spin", "spin", "ran longer than"),
        ("grow", "grow", "ength"),
        ("oops", "oops", "broken on purpose"),
    ] {
        let started = Instant::now();
        assert_eq!(
            reply_to(&app, &peer, text).await.as_deref(),
            Some("default"),
            "{text}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(4),
            "{text}: within the deadline"
        );
        let info = plugin_info(&app, plugin).await;
        assert_eq!(info["errors"], 1, "{info}");
        assert!(
            info["last_error"].as_str().unwrap().contains(reason),
            "{info}"
        );
        assert!(
            info["last_error"].as_str().unwrap().contains(".rhai:"),
            "position: {info}"
        );
    }
    // eval is switched off: the script does not even compile.
    let info = plugin_info(&app, "escape").await;
    assert_eq!(info["status"], "failed", "{info}");
    let (status, _) = app.send(reqwest::Method::GET, "/healthz", None, None).await;
    assert_eq!(status, StatusCode::OK);
}

const COUNTER: &str = r#"
const PLUGIN = #{ name: "counter", priority: 250, messages: ["text"] };
fn on_message(msg, ctx) {
    if msg.content != "count" { return; }
    let mine = ctx.fan_get("n") ?? 0;
    let all = ctx.get("n") ?? 0;
    ctx.fan_set("n", mine + 1);
    ctx.set("n", all + 1);
    `fan ${mine + 1} account ${all + 1}`
}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_survives_a_restart_and_dry_runs_store_nothing() {
    let data_dir = tempfile::tempdir().unwrap();
    let config = crate::helpers::test_config(data_dir.path()).await;
    std::fs::create_dir_all(&config.plugins_dir).unwrap();
    std::fs::write(config.plugins_dir.join("counter.rhai"), COUNTER).unwrap();

    let app = TestApp::attach(wxmp::Running::start(config.clone()).await.unwrap()).await;
    let peer = Peer::create(&app, "wxplugstate00001", 0).await;
    assert_eq!(
        reply_to(&app, &peer, "count").await.as_deref(),
        Some("fan 1 account 1")
    );
    assert_eq!(
        reply_to(&app, &peer, "count").await.as_deref(),
        Some("fan 2 account 2")
    );

    // A dry run answers as the plugin would, and stores nothing.
    let (status, dry) = app
        .post("/wechat/plugins/test", json!({"account_id": peer.account_id, "plugin": "counter", "openid": "o_plugin", "text": "count"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{dry}");
    assert_eq!(dry["data"]["reply"]["content"], "fan 3 account 3");
    let (_, chain) = app
        .post(
            "/wechat/plugins/test",
            json!({"account_id": peer.account_id, "openid": "o_plugin", "text": "count"}),
        )
        .await;
    assert_eq!(chain["data"]["handler"], "plugin:counter", "{chain}");
    let (_, stored) = app
        .get(&format!(
            "/wechat/wxmessages/list?account_id={}",
            peer.account_id
        ))
        .await;
    assert_eq!(
        stored["data"]["total"], 4,
        "two messages and two replies, none from the dry runs"
    );
    app.server.shutdown().await.unwrap();

    let app = TestApp::attach(wxmp::Running::start(config).await.unwrap()).await;
    assert_eq!(
        reply_to(&app, &peer, "count").await.as_deref(),
        Some("fan 3 account 3")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plugins_can_be_switched_off_per_account_and_take_their_place_in_the_chain() {
    let app = TestApp::spawn().await;
    let one = Peer::create(&app, "wxplugswitch0001", 0).await;
    let two = Peer::create(&app, "wxplugswitch0002", 0).await;
    for peer in [&one, &two] {
        app.seed(&peer.account_id)
            .rule(json!({"keyword": "hi", "content": "keyword rule"}))
            .await;
    }
    // Below the keyword rules (200): the rule answers first.
    write(
        &app,
        "hello.rhai",
        &HELLO.replace("priority: 250", "priority: 150"),
    );
    app.post("/wechat/plugins/reload", json!({})).await;
    assert_eq!(
        reply_to(&app, &one, "hi").await.as_deref(),
        Some("keyword rule")
    );
    // Above them: the plugin answers first.
    write(&app, "hello.rhai", HELLO);
    app.post("/wechat/plugins/reload", json!({})).await;
    assert_eq!(
        reply_to(&app, &one, "hi").await.as_deref(),
        Some("hello v1")
    );

    let (status, body) = app
        .post(
            "/wechat/plugins/disable",
            json!({"plugin": "hello", "account_id": one.account_id}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        reply_to(&app, &one, "hi").await.as_deref(),
        Some("keyword rule")
    );
    assert_eq!(
        reply_to(&app, &two, "hi").await.as_deref(),
        Some("hello v1")
    );
    assert_eq!(
        plugin_info(&app, "hello").await["disabled_accounts"],
        json!([one.account_id])
    );
    app.post(
        "/wechat/plugins/enable",
        json!({"plugin": "hello", "account_id": one.account_id}),
    )
    .await;
    assert_eq!(
        reply_to(&app, &one, "hi").await.as_deref(),
        Some("hello v1")
    );

    let (status, body) = app
        .post(
            "/wechat/plugins/disable",
            json!({"plugin": "nope", "account_id": one.account_id}),
        )
        .await;
    crate::helpers::assert_field_error(status, &body, "plugin");
}

/// Copies the repository's example plugins into the server's plugins dir.
fn install_examples(app: &TestApp) {
    let examples = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("plugins");
    for file in ["guess.rhai", "hours.rhai", "router.rhai", "lib/text.rhai"] {
        write(
            app,
            file,
            &std::fs::read_to_string(examples.join(file)).unwrap(),
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_example_plugins_work() {
    let app = TestApp::spawn().await;
    install_examples(&app);
    let (_, report) = app.post("/wechat/plugins/reload", json!({})).await;
    assert_eq!(report["data"]["failed"], json!([]), "{report}");
    let peer = Peer::create(&app, "wxplugexample001", 2).await;

    // Guess the number by bisection; the game lives in the fan's state.
    assert!(reply_to(&app, &peer, "猜数字")
        .await
        .unwrap()
        .contains("1 到 100"));
    let (mut low, mut high) = (1, 100);
    let mut won = None;
    for _ in 0..8 {
        let guess = (low + high) / 2;
        let reply = reply_to(&app, &peer, &guess.to_string()).await.unwrap();
        if reply.contains("猜对了") {
            won = Some((guess, reply));
            break;
        } else if reply.contains("小了") {
            low = guess + 1;
        } else {
            assert!(reply.contains("大了"), "{reply}");
            high = guess - 1;
        }
    }
    let (secret, reply) = won.expect("bisection finds it within 7 guesses");
    assert!(reply.contains(&secret.to_string()), "{reply}");
    assert_eq!(
        reply_to(&app, &peer, "42").await,
        None,
        "the game is over: numbers pass on"
    );

    // Opening hours, in the shop's time zone.
    let shanghai = chrono::Utc::now().with_timezone(&chrono_tz::Asia::Shanghai);
    let reply = reply_to(&app, &peer, "请问营业时间？").await.unwrap();
    use chrono::{Datelike, Timelike};
    let expected = if shanghai.weekday() == chrono::Weekday::Sun {
        "今天休息"
    } else if (9..21).contains(&shanghai.hour()) {
        "营业中"
    } else {
        "已打烊"
    };
    assert!(reply.contains(expected), "{reply} at {shanghai}");

    // The router answers texts and menu clicks with news cards.
    let answer = peer
        .send(&app, &peer.text("o_plugin", "最近有什么活动", 99))
        .await;
    let reply = answer.reply.unwrap();
    assert_eq!(reply.get("MsgType"), Some("news"));
    assert_eq!(reply.get("ArticleCount"), Some("2"));
    let answer = peer
        .send(
            &app,
            &peer.event("o_plugin", "CLICK", "TOPIC_新品", 1_700_000_000),
        )
        .await;
    assert_eq!(
        answer.reply.unwrap().get("Articles.item.Title"),
        Some("新品上市 🆕")
    );
}

#[test]
fn the_cli_checks_and_dry_runs_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.rhai");
    std::fs::write(&broken, "fn on_message(msg, ctx) {\n  let = 1;\n}\n").unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_wxmp"))
        .args(["plugin", "check"])
        .arg(&broken)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("broken.rhai:2:"), "{stderr}");

    let examples = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("plugins");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_wxmp"))
        .args(["plugin", "test"])
        .arg(examples.join("router.rhai"))
        .args(["--event", "CLICK", "--key", "TOPIC_门店"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("门店地址"), "{stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_folder_plugin_imports_its_own_modules_and_the_shared_ones() {
    let app = TestApp::spawn().await;
    write(
        &app,
        "lib/greet.rhai",
        "fn hello(name) { `你好，${name}` }\n",
    );
    write(
        &app,
        "quiz/questions.rhai",
        "fn answer(q) { if q == \"1+1\" { \"2\" } else { \"?\" } }\n",
    );
    write(
        &app,
        "quiz/main.rhai",
        "const PLUGIN = #{ description: \"folder plugin\", priority: 250 };\n\
         fn on_message(msg, ctx) {\n\
             import \"quiz/questions\" as q;\n\
             import \"greet\" as g;\n\
             `${g::hello(ctx.fan.openid)}: ${q::answer(msg.content)}`\n\
         }\n",
    );
    let (_, report) = app.post("/wechat/plugins/reload", json!({})).await;
    assert_eq!(report["data"]["loaded"], json!(["quiz"]), "{report}");
    let peer = Peer::create(&app, "wxplugfolder0001", 0).await;
    assert_eq!(
        reply_to(&app, &peer, "1+1").await.as_deref(),
        Some("你好，o_plugin: 2")
    );
    assert_eq!(plugin_info(&app, "quiz").await["file"], "quiz/main.rhai");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shared_module_that_loops_forever_is_stopped_at_start_up_and_on_reload() {
    let app = TestApp::spawn_with(|config| {
        let lib = config.plugins_dir.join("lib");
        std::fs::create_dir_all(&lib).unwrap();
        std::fs::write(lib.join("spin.rhai"), "loop { }\nfn never() { 1 }\n").unwrap();
        std::fs::write(config.plugins_dir.join("hello.rhai"), HELLO).unwrap();
    })
    .await;
    // The server serves: the looping module failed the plugins built on it.
    let info = plugin_info(&app, "hello").await;
    assert!(
        info["compile_error"]["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("stopped:")),
        "{info}"
    );
    assert_eq!(info["compile_error"]["file"], "spin.rhai", "{info}");

    let started = Instant::now();
    let (status, report) = app.post("/wechat/plugins/reload", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "reload returns: {:?}",
        started.elapsed()
    );
    assert_eq!(report["data"]["failed"][0]["file"], "spin.rhai", "{report}");

    write(&app, "lib/spin.rhai", "fn never() { 1 }\n");
    let (_, report) = app.post("/wechat/plugins/reload", json!({})).await;
    assert_eq!(report["data"]["loaded"], json!(["hello"]), "{report}");
    let peer = Peer::create(&app, "wxplugspin000001", 0).await;
    assert_eq!(
        reply_to(&app, &peer, "hi").await.as_deref(),
        Some("hello v1")
    );
}

/// Resident memory of this process (the server runs in it), in bytes.
fn resident_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_runaway_calls_are_stopped_and_leave_no_memory_behind() {
    let app = std::sync::Arc::new(TestApp::spawn().await);
    let peer = Peer::create(&app, "wxplugleak00001", 0).await;
    write(&app, "deep.rhai", "const PLUGIN = #{ name: \"deep\" };\nfn down(n) { down(n + 1) }\nfn on_message(msg, ctx) { down(0) }\n");
    write(&app, "hoard.rhai", "const PLUGIN = #{ name: \"hoard\" };\nfn on_message(msg, ctx) {\n    let a = [];\n    loop { a.push(\"0123456789abcdef\"); }\n}\n");
    write(
        &app,
        "bad.rhai",
        "const PLUGIN = #{ name: \"bad\" };\nfn on_message(msg, ctx) { let x = (); x.nope() }\n",
    );
    let (_, report) = app.post("/wechat/plugins/reload", json!({})).await;
    assert_eq!(report["data"]["failed"], json!([]), "{report}");

    let run = |app: std::sync::Arc<TestApp>, plugin: &'static str, account: String| async move {
        let (status, dry) = app
            .post(
                "/wechat/plugins/test",
                json!({"account_id": account, "plugin": plugin, "text": "go"}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{dry}");
        assert!(
            dry["data"]["error"].is_string(),
            "{plugin} is stopped: {dry}"
        );
    };
    let round = |calls: usize| {
        let app = app.clone();
        let account = peer.account_id.clone();
        async move {
            let mut running = tokio::task::JoinSet::new();
            for i in 0..calls {
                let plugin = ["deep", "hoard", "bad"][i % 3];
                running.spawn(run(app.clone(), plugin, account.clone()));
                if running.len() >= 8 {
                    running.join_next().await.unwrap().unwrap();
                }
            }
            while let Some(done) = running.join_next().await {
                done.unwrap();
            }
        }
    };
    round(1_000).await; // warm up: pools, caches, allocator arenas
    let before = resident_bytes();
    round(10_000).await;
    let grown = resident_bytes().saturating_sub(before);
    assert!(
        grown < 64 * 1024 * 1024,
        "10,000 stopped calls grew memory by {} MiB",
        grown / (1024 * 1024)
    );
    // The chain still answers.
    app.seed(&peer.account_id)
        .rule(json!({"reply_type": 3, "content": "default"}))
        .await;
    assert_eq!(
        reply_to(&app, &peer, "go").await.as_deref(),
        Some("default")
    );
}

#[tokio::test]
async fn a_dry_run_names_the_rule_that_answered_and_default_replies_skip_menu_clicks() {
    let app = TestApp::spawn().await;
    let seed = app.seed_account("wxdryrule0000001").await;
    let store = seed
        .rule(json!({"reply_type": 2, "keyword": "门店", "match_type": 2, "message_type": "text", "content": "天河区"}))
        .await;
    let default = seed
        .rule(json!({"reply_type": 3, "message_type": "text", "content": "稍后回复您"}))
        .await;
    let dry = |body: Value| {
        let app = &app;
        let account = seed.account.clone();
        async move {
            let mut body = body;
            body["account_id"] = json!(account);
            let (status, answer) = app.post("/wechat/plugins/test", body).await;
            assert_eq!(status, StatusCode::OK, "{answer}");
            answer["data"].clone()
        }
    };

    let by_keyword = dry(json!({"text": "请问门店在哪"})).await;
    assert_eq!(by_keyword["handler"], "builtin:keyword");
    assert_eq!(
        by_keyword["rule"],
        json!({"id": store["id"], "kind": "keyword", "keyword": "门店", "exact": false})
    );

    let by_default = dry(json!({"text": "你好"})).await;
    assert_eq!(by_default["handler"], "builtin:default");
    assert_eq!(by_default["rule"]["id"], default["id"]);
    assert_eq!(by_default["rule"]["kind"], "default");

    // A click whose key no rule has: nothing answers, though a default reply exists.
    let click = dry(json!({"event": "CLICK", "event_key": "NO_SUCH_KEY"})).await;
    assert_eq!(click["outcome"], "continue", "{click}");
    assert!(click.get("rule").is_none(), "{click}");
    // …and a click whose key is a keyword is answered by that rule.
    let click = dry(json!({"event": "CLICK", "event_key": "门店"})).await;
    assert_eq!(click["rule"]["id"], store["id"], "{click}");
}
