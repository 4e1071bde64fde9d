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

/// Sends `text` until the reply is `expected` (or 15 s pass: a busy machine
/// is slow, and only a reload that never comes should fail).
async fn until_reply(app: &TestApp, peer: &Peer, text: &str, expected: Option<&str>) {
    let started = Instant::now();
    loop {
        let got = reply_to(app, peer, text).await;
        if got.as_deref() == expected {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
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
    until_reply(&app, &peer, "hi", Some("hello v1")).await;

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
    assert_eq!(info["status"], "stale", "{info}");
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
    // The examples' behaviour, not the time budget of a busy machine (a
    // guess timed out at the default 200 ms while other builds ran).
    let app = TestApp::spawn_with(|config| config.plugin_timeout_ms = 2_000).await;
    install_examples(&app);
    let (_, report) = app.post("/wechat/plugins/reload", json!({})).await;
    assert_eq!(report["data"]["failed"], json!([]), "{report}");
    let peer = Peer::create(&app, "wxplugexample001", 2).await;
    // The examples are opt-in: nothing answers until they are switched on.
    assert_eq!(reply_to(&app, &peer, "猜数字").await, None);
    for plugin in ["guess", "hours", "router"] {
        let (status, body) = app
            .post(
                "/wechat/plugins/enable",
                json!({"plugin": plugin, "account_id": peer.account_id}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }

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

/// Issue 13, bug 1: a new account's "门店在哪" rule was answered by the
/// router example (priority 260) and an image rule never fired.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn example_plugins_answer_only_where_an_admin_switched_them_on() {
    let app = TestApp::spawn().await;
    install_examples(&app);
    let (_, report) = app.post("/wechat/plugins/reload", json!({})).await;
    assert_eq!(report["data"]["failed"], json!([]), "{report}");
    let shop = Peer::create(&app, "wxplugoptin00001", 0).await;
    let demo = Peer::create(&app, "wxplugoptin00002", 0).await;
    for peer in [&shop, &demo] {
        app.seed(&peer.account_id)
            .rule(
                json!({"reply_type": 2, "keyword": "门店在哪", "match_type": 2,
                "message_type": "text", "content": "我们在北京朝阳区"}),
            )
            .await;
    }

    // Nothing is switched on: the keyword rule answers, on the callback and in a dry run.
    assert_eq!(
        reply_to(&app, &shop, "门店在哪").await.as_deref(),
        Some("我们在北京朝阳区")
    );
    let (_, dry) = app
        .post(
            "/wechat/plugins/test",
            json!({"account_id": shop.account_id, "text": "门店在哪"}),
        )
        .await;
    assert_eq!(dry["data"]["handler"], "builtin:keyword", "{dry}");
    let ahead = |peer: &Peer| {
        let url = format!(
            "/wechat/plugins/ahead_of_rules?account_id={}",
            peer.account_id
        );
        let app = &app;
        async move {
            let (status, body) = app.get(&url).await;
            assert_eq!(status, StatusCode::OK, "{body}");
            assert_eq!(body["data"]["keyword_priority"], 200);
            body["data"]["list"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| format!("{}@{}", p["name"].as_str().unwrap(), p["priority"]))
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(ahead(&shop).await, Vec::<String>::new());
    let (_, listed) = app.get("/wechat/plugins/list").await;
    let router = listed["data"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "router")
        .unwrap()
        .clone();
    assert_eq!(router["opt_in"], true, "{router}");
    assert_eq!(router["enabled_accounts"], json!([]));

    // Switched on for the demo account only: there it outranks the rule, and is named.
    app.post(
        "/wechat/plugins/enable",
        json!({"plugin": "router", "account_id": demo.account_id}),
    )
    .await;
    let answer = demo.send(&app, &demo.text("o_plugin", "门店在哪", 7)).await;
    assert_eq!(
        answer.reply.unwrap().get("Articles.item.Title"),
        Some("门店地址")
    );
    assert_eq!(ahead(&demo).await, vec!["router@260".to_string()]);
    assert_eq!(
        reply_to(&app, &shop, "门店在哪").await.as_deref(),
        Some("我们在北京朝阳区")
    );
    assert_eq!(ahead(&shop).await, Vec::<String>::new());
    let (_, listed) = app.get("/wechat/plugins/list").await;
    let router = listed["data"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "router")
        .unwrap()
        .clone();
    assert_eq!(router["enabled_accounts"], json!([demo.account_id]));

    // A plugin that is not opt-in is on until switched off, and a dry run
    // of the whole chain skips it where it is off, as the callback does.
    write(
        &app,
        "early.rhai",
        "const PLUGIN = #{ name: \"early\", priority: 250, messages: [\"text\"], events: [] };\n\
         fn on_message(msg, ctx) { \"early bird\" }\n",
    );
    app.post("/wechat/plugins/reload", json!({})).await;
    assert_eq!(ahead(&shop).await, vec!["early@250".to_string()]);
    app.post(
        "/wechat/plugins/disable",
        json!({"plugin": "early", "account_id": shop.account_id}),
    )
    .await;
    let (_, dry) = app
        .post(
            "/wechat/plugins/test",
            json!({"account_id": shop.account_id, "text": "门店在哪"}),
        )
        .await;
    assert_eq!(dry["data"]["handler"], "builtin:keyword", "{dry}");
    assert_eq!(ahead(&shop).await, Vec::<String>::new());

    // A bad query and a bad declaration are clear errors.
    let (status, body) = app.get("/wechat/plugins/ahead_of_rules").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    write(
        &app,
        "bad.rhai",
        "const PLUGIN = #{ name: \"bad\", opt_in: \"yes\" };\nfn on_message(msg, ctx) { () }\n",
    );
    let (_, report) = app.post("/wechat/plugins/reload", json!({})).await;
    let failed = report["data"]["failed"].to_string();
    assert!(failed.contains("PLUGIN.opt_in must be true"), "{failed}");
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

const HITS: &str = r#"
const PLUGIN = #{ name: "hits", priority: 250, messages: ["text"] };
fn on_message(msg, ctx) {
    switch msg.content {
        "hit" => { ctx.fan_incr("hits"); `${ctx.incr("hits", 1)}` }
        "claim" => if ctx.cas("winner", (), msg.from) { "won" } else { "lost" },
        "total" => `${ctx.get("hits")} ${ctx.get("winner")}`,
        "mine" => `${ctx.fan_get("hits")}`,
        "word" => { ctx.set("word", "abc"); "set" }
        "bad" => `${ctx.incr("word", 1)}`,
        "reset" => { ctx.set("hits", 1000); ctx.incr("hits", 5); `${ctx.incr("hits", -1)}` }
        _ => ()
    }
}
"#;

/// Sends `text` from `openid` and returns the reply's content.
async fn text_from(app: &TestApp, peer: &Peer, openid: &str, text: &str) -> Option<String> {
    let msg_id = rand::random::<u32>() as i64;
    let answer = peer.send(app, &peer.text(openid, text, msg_id)).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    answer.reply.map(|r| r.text("Content"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hundred_concurrent_increments_lose_none_and_only_one_fan_wins_a_cas() {
    let app = std::sync::Arc::new(
        TestApp::spawn_with(|config| {
            std::fs::create_dir_all(&config.plugins_dir).unwrap();
            std::fs::write(config.plugins_dir.join("hits.rhai"), HITS).unwrap();
            // The test measures lost updates, not the time budget of a busy machine.
            config.plugin_timeout_ms = 3_000;
        })
        .await,
    );
    let peer = std::sync::Arc::new(Peer::create(&app, "wxplugincr000001", 0).await);
    let mut sends = tokio::task::JoinSet::new();
    for i in 0..100 {
        let (app, peer) = (app.clone(), peer.clone());
        sends
            .spawn(async move { text_from(&app, &peer, &format!("o_fan{}", i % 10), "hit").await });
    }
    let mut seen = Vec::new();
    while let Some(reply) = sends.join_next().await {
        seen.push(
            reply
                .unwrap()
                .expect("the plugin answers")
                .parse::<i64>()
                .unwrap(),
        );
    }
    seen.sort();
    assert_eq!(
        seen,
        (1..=100).collect::<Vec<_>>(),
        "every increment saw its own value"
    );
    for fan in ["o_fan0", "o_fan9"] {
        assert_eq!(
            text_from(&app, &peer, fan, "mine").await.as_deref(),
            Some("10")
        );
    }

    let mut claims = tokio::task::JoinSet::new();
    for i in 0..20 {
        let (app, peer) = (app.clone(), peer.clone());
        claims.spawn(async move {
            let fan = format!("o_claim{i}");
            (text_from(&app, &peer, &fan, "claim").await.unwrap(), fan)
        });
    }
    let mut winners = Vec::new();
    while let Some(done) = claims.join_next().await {
        let (reply, fan) = done.unwrap();
        if reply == "won" {
            winners.push(fan);
        }
    }
    assert_eq!(
        winners.len(),
        1,
        "exactly one compare-and-set wins: {winners:?}"
    );
    assert_eq!(
        text_from(&app, &peer, "o_fan0", "total").await,
        Some(format!("100 {}", winners[0]))
    );

    // A dry run increments in memory only.
    let (status, dry) = app
        .post(
            "/wechat/plugins/test",
            json!({"account_id": peer.account_id, "plugin": "hits", "text": "hit"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{dry}");
    assert_eq!(dry["data"]["reply"]["content"], "101");
    assert_eq!(
        text_from(&app, &peer, "o_fan0", "total").await,
        Some(format!("100 {}", winners[0]))
    );

    // incr after a set of the same key in one call works on the value set.
    assert_eq!(
        text_from(&app, &peer, "o_fan0", "reset").await.as_deref(),
        Some("1004")
    );
    assert!(text_from(&app, &peer, "o_fan0", "total")
        .await
        .unwrap()
        .starts_with("1004 "));
    // A value that is not a whole number is refused, in words.
    text_from(&app, &peer, "o_fan0", "word").await;
    assert_eq!(text_from(&app, &peer, "o_fan0", "bad").await, None);
    let info = plugin_info(&app, "hits").await;
    let error = info["last_error"].as_str().unwrap();
    assert!(
        error.contains(r#"incr("word"): the value is "abc", not a whole number"#),
        "{info}"
    );
}

/// `wxmp plugin check <path>`: whether it passed, and what it printed.
fn cli_check(path: &std::path::Path) -> (bool, String) {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_wxmp"))
        .args(["plugin", "check"])
        .arg(path)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

#[test]
fn check_refuses_typos_in_the_declaration_with_line_column_and_a_suggestion() {
    let dir = tempfile::tempdir().unwrap();
    let body = "fn on_message(msg, ctx) { () }\nfn on_event(evt, ctx) { () }\n";
    for (declaration, at, says) in [
        (
            "const PLUGIN = #{\n    name: \"t\",\n    mesages: [\"text\"],\n};\n",
            "t.rhai:3:5:",
            r#"no key "mesages" (did you mean "messages"?)"#,
        ),
        (
            "const PLUGIN = #{ name: \"t\", prority: 250 };\n",
            "t.rhai:1:30:",
            r#"no key "prority" (did you mean "priority"?)"#,
        ),
        (
            "const PLUGIN = #{\n    name: \"t\",\n    messages: [\"text\", \"txt\"],\n};\n",
            "t.rhai:3:24:",
            r#""txt" is not a WeChat message type (did you mean "text"?)"#,
        ),
        (
            "const PLUGIN = #{\n  events: [\"CLICK\",\n     \"subscrbe\"],\n};\n",
            "t.rhai:3:6:",
            r#""subscrbe" is not a WeChat event (did you mean "subscribe"?)"#,
        ),
    ] {
        let file = dir.path().join("t.rhai");
        std::fs::write(&file, format!("{declaration}{body}")).unwrap();
        let (passed, output) = cli_check(&file);
        assert!(!passed, "{declaration}: {output}");
        assert!(
            output.contains(at),
            "{declaration}: expected {at} in {output}"
        );
        assert!(output.contains(says), "{declaration}: {output}");
    }
    // Case does not matter for events, and "*" is all.
    let file = dir.path().join("t.rhai");
    std::fs::write(
        &file,
        format!(
            "const PLUGIN = #{{ events: [\"click\", \"SUBSCRIBE\"], messages: [\"*\"] }};\n{body}"
        ),
    )
    .unwrap();
    let (passed, output) = cli_check(&file);
    assert!(passed, "{output}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_reports_a_typo_in_the_declaration_and_does_not_load_it() {
    let app = TestApp::spawn().await;
    write(
        &app,
        "typo.rhai",
        "const PLUGIN = #{\n    name: \"typo\",\n    events: [\"subscrbe\"],\n};\nfn on_event(evt, ctx) { \"hi\" }\n",
    );
    let (status, report) = app.post("/wechat/plugins/reload", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    let failed = &report["data"]["failed"][0];
    assert_eq!(failed["file"], "typo.rhai", "{report}");
    assert_eq!(failed["line"], 3, "{report}");
    assert_eq!(failed["column"], 14, "{report}");
    assert!(
        failed["message"]
            .as_str()
            .unwrap()
            .contains("did you mean \"subscribe\""),
        "{report}"
    );
    let info = plugin_info(&app, "typo").await;
    assert_eq!(info["status"], "failed", "{info}");
    assert_eq!(info["compile_error"]["line"], 3, "{info}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_that_throws_answers_with_its_on_error_text() {
    let app = TestApp::spawn().await;
    let peer = Peer::create(&app, "wxplugonerror001", 0).await;
    write(
        &app,
        "shaky.rhai",
        "const PLUGIN = #{ name: \"shaky\", priority: 250, messages: [\"text\"], on_error: \"系统繁忙，请稍后再试\" };\n\
         fn on_message(msg, ctx) {\n    if msg.content == \"boom\" { throw \"broken on purpose\"; }\n    if msg.content == \"spin\" { loop {} }\n    ()\n}\n",
    );
    write(
        &app,
        "quiet.rhai",
        "const PLUGIN = #{ name: \"quiet\", priority: 240, messages: [\"text\"] };\n\
         fn on_message(msg, ctx) {\n    if msg.content == \"hush\" { throw \"no on_error\"; }\n}\n",
    );
    let (_, report) = app.post("/wechat/plugins/reload", json!({})).await;
    assert_eq!(report["data"]["failed"], json!([]), "{report}");

    // A throw and a stopped loop both give the declared text, not silence.
    for text in ["boom", "spin"] {
        assert_eq!(
            reply_to(&app, &peer, text).await.as_deref(),
            Some("系统繁忙，请稍后再试"),
            "{text}"
        );
    }
    assert_eq!(plugin_info(&app, "shaky").await["errors"], 2);
    // Without on_error the chain goes on: no default reply, so nothing.
    assert_eq!(reply_to(&app, &peer, "hush").await, None);
    app.seed(&peer.account_id)
        .rule(json!({"reply_type": 3, "content": "default"}))
        .await;
    assert_eq!(
        reply_to(&app, &peer, "hush").await.as_deref(),
        Some("default")
    );
    // Messages it does not fail on pass on as before.
    assert_eq!(
        reply_to(&app, &peer, "hello").await.as_deref(),
        Some("default")
    );

    // Dry runs show the error and what the fan would get.
    let (_, dry) = app
        .post(
            "/wechat/plugins/test",
            json!({"account_id": peer.account_id, "plugin": "shaky", "text": "boom"}),
        )
        .await;
    assert_eq!(dry["data"]["outcome"], "error", "{dry}");
    assert!(
        dry["data"]["error"]
            .as_str()
            .unwrap()
            .contains("broken on purpose"),
        "{dry}"
    );
    assert_eq!(
        dry["data"]["reply"]["content"], "系统繁忙，请稍后再试",
        "{dry}"
    );
    let (_, chain) = app
        .post(
            "/wechat/plugins/test",
            json!({"account_id": peer.account_id, "text": "boom"}),
        )
        .await;
    assert_eq!(chain["data"]["handler"], "plugin:shaky", "{chain}");
    assert_eq!(
        chain["data"]["reply"]["content"], "系统繁忙，请稍后再试",
        "{chain}"
    );
}

const DEEP_BUG: &str = r#"const PLUGIN = #{ name: "deepbug", priority: 250, messages: ["text"] };
fn total(items) {
    let sum = 0;
    for item in items {
        sum += item.price * 2;
    }
    sum
}
fn on_message(msg, ctx) {
    if msg.content == "sum" { return `${total([#{ price: "9" }])}`; }
    if msg.content == "lib" { import "money" as m; return m::cents("x"); }
    ()
}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_runtime_error_points_at_the_failing_line_with_a_snippet_in_plain_words() {
    let app = TestApp::spawn().await;
    let peer = Peer::create(&app, "wxplugerrpos0001", 0).await;
    write(&app, "lib/money.rhai", "fn cents(x) {\n    x * 100\n}\n");
    write(&app, "deepbug.rhai", DEEP_BUG);
    let (_, report) = app.post("/wechat/plugins/reload", json!({})).await;
    assert_eq!(report["data"]["failed"], json!([]), "{report}");

    assert_eq!(reply_to(&app, &peer, "sum").await, None);
    let error = plugin_info(&app, "deepbug").await["last_error"]
        .as_str()
        .unwrap()
        .to_string();
    // Line 5 inside total(), not line 10 where on_message calls it.
    assert!(error.starts_with("deepbug.rhai:5:"), "{error}");
    assert!(error.contains("(in total)"), "{error}");
    assert!(
        error.contains("\n  5 | sum += item.price * 2;"),
        "snippet: {error}"
    );
    for rust in ["ImmutableString", "&str", "i64", "String |", "alloc::"] {
        assert!(
            !error.contains(rust),
            "no Rust type names ({rust}): {error}"
        );
    }
    assert!(error.contains("(string, int)"), "{error}");

    // In a shared module: its file and line.
    assert_eq!(reply_to(&app, &peer, "lib").await, None);
    let error = plugin_info(&app, "deepbug").await["last_error"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(error.starts_with("money.rhai:2:"), "{error}");
    assert!(error.contains("\n  2 | x * 100"), "{error}");

    // A dry run reports the same place.
    let (_, dry) = app
        .post(
            "/wechat/plugins/test",
            json!({"account_id": peer.account_id, "plugin": "deepbug", "text": "sum"}),
        )
        .await;
    assert!(
        dry["data"]["error"]
            .as_str()
            .unwrap()
            .starts_with("deepbug.rhai:5:"),
        "{dry}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_that_stops_compiling_is_stale_and_its_recovery_is_reported() {
    let app = TestApp::spawn().await;
    let peer = Peer::create(&app, "wxplugstale00001", 0).await;
    write(&app, "hello.rhai", HELLO);
    app.post("/wechat/plugins/reload", json!({})).await;
    assert_eq!(plugin_info(&app, "hello").await["status"], "active");

    write(
        &app,
        "hello.rhai",
        "const PLUGIN = #{ name: \"hello\" };\nfn on_message(msg, ctx) {\n    let x = ;\n}\n",
    );
    let (_, report) = app.post("/wechat/plugins/reload", json!({})).await;
    assert_eq!(report["data"]["failed"][0]["line"], 3, "{report}");
    assert_eq!(
        report["data"]["failed"][0]["snippet"], "let x = ;",
        "{report}"
    );
    let info = plugin_info(&app, "hello").await;
    assert_eq!(info["status"], "stale", "{info}");
    assert_eq!(
        reply_to(&app, &peer, "hi").await.as_deref(),
        Some("hello v1"),
        "the old version runs"
    );

    write(&app, "hello.rhai", &HELLO.replace("hello v1", "hello v2"));
    let (_, report) = app.post("/wechat/plugins/reload", json!({})).await;
    assert_eq!(report["data"]["recovered"], json!(["hello"]), "{report}");
    let info = plugin_info(&app, "hello").await;
    assert_eq!(info["status"], "active", "{info}");
    assert!(info["compile_error"].is_null(), "{info}");
    assert_eq!(
        reply_to(&app, &peer, "hi").await.as_deref(),
        Some("hello v2")
    );
    // Nothing to recover the next time.
    let (_, report) = app.post("/wechat/plugins/reload", json!({})).await;
    assert_eq!(report["data"]["recovered"], json!([]), "{report}");
}

#[test]
fn a_loop_stopped_at_the_top_level_has_a_position() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("top.rhai");
    std::fs::write(
        &file,
        "const PLUGIN = #{ name: \"top\" };\nlet i = 0;\nloop {\n    i += 1;\n}\nfn on_message(msg, ctx) { () }\n",
    )
    .unwrap();
    let (passed, output) = cli_check(&file);
    assert!(!passed);
    assert!(
        output.contains("top.rhai:4:") && output.contains(": stopped: ran longer than"),
        "{output}"
    );
    assert!(output.contains("  4 | i += 1;"), "{output}");
}

#[test]
fn check_and_test_take_a_folder_plugin_and_the_readme_greeting_runs() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("faq");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(
        folder.join("answers.rhai"),
        "fn answer() { \"第一行\\n第二行\" }\n",
    )
    .unwrap();
    std::fs::write(
        folder.join("main.rhai"),
        "fn on_message(msg, ctx) {\n    import \"faq/answers\" as a;\n    a::answer() + `|\\n|`\n}\n",
    )
    .unwrap();
    let (passed, output) = cli_check(&folder);
    assert!(passed, "{output}");
    assert!(
        output.contains("faq: ok") && output.contains("name:        faq"),
        "{output}"
    );
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_wxmp"))
        .args(["plugin", "test"])
        .arg(&folder)
        .args(["--text", "q"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    // "\n" is a line break; in a backtick string it stays a backslash and an n.
    assert!(stdout.contains("第一行\n第二行|\\n|"), "{stdout}");

    // The README's first example: compiles, and greets without a nickname.
    let readme = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("plugins/README.md"),
    )
    .unwrap();
    let example = readme
        .split("```rhai\n")
        .nth(1)
        .unwrap()
        .split("```")
        .next()
        .unwrap();
    assert!(!example.contains("nickname"), "{example}");
    let file = dir.path().join("hello.rhai");
    std::fs::write(&file, example).unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_wxmp"))
        .args(["plugin", "test"])
        .arg(&file)
        .args(["--text", "hi"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("你好！这是你第 1 次打招呼。"), "{stdout}");
}

fn tied(name: &str, says: &str) -> String {
    format!(
        "const PLUGIN = #{{ name: \"{name}\", priority: 250, messages: [\"text\"] }};\n\
         fn on_message(msg, ctx) {{ if msg.content == \"tie\" {{ \"{says}\" }} }}\n"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plugins_of_equal_priority_run_by_name_whatever_was_reloaded_last() {
    let app = TestApp::spawn().await;
    let peer = Peer::create(&app, "wxplugtie0000001", 0).await;
    // File names sort the other way round from plugin names.
    write(&app, "a.rhai", &tied("zeta", "zeta"));
    write(&app, "b.rhai", &tied("alpha", "alpha v1"));
    app.post("/wechat/plugins/reload", json!({})).await;
    assert_eq!(
        reply_to(&app, &peer, "tie").await.as_deref(),
        Some("alpha v1")
    );
    // Reloading either one keeps alpha first.
    write(&app, "b.rhai", &tied("alpha", "alpha v2"));
    app.post("/wechat/plugins/reload", json!({})).await;
    assert_eq!(
        reply_to(&app, &peer, "tie").await.as_deref(),
        Some("alpha v2")
    );
    write(&app, "a.rhai", &tied("zeta", "zeta v2"));
    app.post("/wechat/plugins/reload", json!({})).await;
    assert_eq!(
        reply_to(&app, &peer, "tie").await.as_deref(),
        Some("alpha v2")
    );
    let (_, chain) = app
        .post(
            "/wechat/plugins/test",
            json!({"account_id": peer.account_id, "text": "tie"}),
        )
        .await;
    assert_eq!(chain["data"]["handler"], "plugin:alpha", "{chain}");
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
        json!({"id": store["id"], "kind": "keyword", "keyword": "门店", "exact": false, "match_type": 2})
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

#[tokio::test]
async fn staff_commands_answer_only_fans_an_admin_marked_as_staff() {
    let app = TestApp::spawn().await;
    let peer = Peer::create(&app, "wxplugstaff00001", 0).await;
    write(
        &app,
        "stats.rhai",
        "const PLUGIN = #{ name: \"stats\", messages: [\"text\"] };\n\
         fn on_message(msg, ctx) {\n\
             if msg.content != \"统计\" { return; }\n\
             if ctx.fan.staff { `今日 ${ctx.incr(\"asked\")}` } else { \"仅限工作人员\" }\n\
         }\n",
    );
    let (_, report) = app.post("/wechat/plugins/reload", json!({})).await;
    assert_eq!(report["data"]["failed"], json!([]), "{report}");
    let ask = |openid: &'static str| {
        let (app, peer) = (&app, &peer);
        async move {
            let answer = peer
                .send(
                    app,
                    &peer.text(openid, "统计", rand::random::<u32>() as i64),
                )
                .await;
            answer.reply.map(|r| r.text("Content"))
        }
    };
    assert_eq!(ask("o_boss").await.as_deref(), Some("仅限工作人员"));
    ask("o_fan").await;

    let (_, fans) = app
        .get(&format!(
            "/wechat/wxusers/list?account_id={}&openid=o_boss",
            peer.account_id
        ))
        .await;
    let boss = fans["data"]["list"][0]["id"].as_str().unwrap().to_string();
    let (status, body) = app
        .put("/wechat/wxusers/edit", json!({"id": boss, "is_staff": 2}))
        .await;
    crate::helpers::assert_field_error(status, &body, "is_staff");
    let (status, body) = app
        .put("/wechat/wxusers/edit", json!({"id": boss, "is_staff": 1}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    assert_eq!(ask("o_boss").await.as_deref(), Some("今日 1"));
    assert_eq!(ask("o_fan").await.as_deref(), Some("仅限工作人员"));
    let (_, staff) = app
        .get(&format!(
            "/wechat/wxusers/list?account_id={}&is_staff=1",
            peer.account_id
        ))
        .await;
    assert_eq!(staff["data"]["total"], 1, "{staff}");
    assert_eq!(staff["data"]["list"][0]["openid"], "o_boss");
}

#[tokio::test]
async fn ctx_fan_is_the_fan_as_stored_with_this_message_counted() {
    let app = TestApp::spawn().await;
    let peer = Peer::create(&app, "wxplugfanread001", 0).await;
    // `ctx.fan` is read from the database when a script first asks for it
    // (and once per call); the received message is committed before.
    write(
        &app,
        "whoami.rhai",
        "const PLUGIN = #{ name: \"whoami\", messages: [\"text\"] };\n\
         fn on_message(msg, ctx) {\n\
             let first = ctx.fan;\n\
             `${first.known} ${ctx.fan.message_count} ${ctx.fan.openid}`\n\
         }\n",
    );
    let (_, report) = app.post("/wechat/plugins/reload", json!({})).await;
    assert_eq!(report["data"]["failed"], json!([]), "{report}");
    for expected in ["true 1 o_reader", "true 2 o_reader"] {
        let answer = peer
            .send(
                &app,
                &peer.text("o_reader", "hi", rand::random::<u32>() as i64),
            )
            .await;
        assert_eq!(
            answer.reply.map(|r| r.text("Content")).as_deref(),
            Some(expected)
        );
    }
}

#[tokio::test]
async fn a_call_too_long_or_waiting_for_state_runs_once_with_its_effects_once() {
    // Calls are tried on the async worker first and run again on a blocking
    // thread when they need more (many operations, a state read): the
    // abandoned try must leave nothing behind: no state, no log line, no
    // counter counted twice.
    let app = TestApp::spawn().await;
    let peer = Peer::create(&app, "wxpluginline0001", 0).await;
    write(
        &app,
        "busy.rhai",
        "const PLUGIN = #{ name: \"busy\", messages: [\"text\"] };\n\
         fn on_message(msg, ctx) {\n\
             if msg.content == \"quick\" { print(\"quick\"); return \"quick\"; }\n\
             print(\"start\");\n\
             ctx.set(\"last\", msg.content);\n\
             let sum = 0;\n\
             for i in 0..5000 { sum += i; }\n\
             `${ctx.incr(\"calls\")} ${sum}`\n\
         }\n",
    );
    let (_, report) = app.post("/wechat/plugins/reload", json!({})).await;
    assert_eq!(report["data"]["failed"], json!([]), "{report}");
    let say = |text: &'static str| {
        let (app, peer) = (&app, &peer);
        async move {
            let answer = peer
                .send(
                    app,
                    &peer.text("o_busy", text, rand::random::<u32>() as i64),
                )
                .await;
            answer.reply.map(|r| r.text("Content"))
        }
    };
    assert_eq!(say("quick").await.as_deref(), Some("quick"));
    assert_eq!(say("long").await.as_deref(), Some("1 12497500"));
    assert_eq!(say("long").await.as_deref(), Some("2 12497500"));

    for (text, log) in [("quick", "quick"), ("long", "start")] {
        let (status, dry) = app
            .post(
                "/wechat/plugins/test",
                json!({"account_id": peer.account_id, "plugin": "busy", "openid": "o_busy", "text": text}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{dry}");
        let logs: Vec<&str> = dry["data"]["logs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["message"].as_str().unwrap())
            .collect();
        assert_eq!(logs, vec![log], "{dry}");
    }
    let (status, dry) = app
        .post(
            "/wechat/plugins/test",
            json!({"account_id": peer.account_id, "plugin": "busy", "openid": "o_busy", "text": "long"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{dry}");
    assert_eq!(dry["data"]["reply"]["content"], "3 12497500", "{dry}");
    assert_eq!(
        dry["data"]["state_writes"].as_array().unwrap().len(),
        2,
        "one set, one incr: {dry}"
    );
}
