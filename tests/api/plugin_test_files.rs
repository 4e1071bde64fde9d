//! `name.test.toml` next to a plugin, run by `wxmp plugin test <dir>`: the
//! shipped examples pass; a case checks replies, state, settings, queued
//! WeChat actions, timers and HTTP answered from fixtures; a failing case
//! prints what was expected and what came, and the command exits non-zero.

use std::path::{Path, PathBuf};

fn plugin_test(path: &Path) -> (bool, String) {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_wxmp"))
        .args(["plugin", "test"])
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
fn the_example_plugins_pass_their_test_files() {
    let examples = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("plugins");
    let (ok, out) = plugin_test(&examples);
    assert!(ok, "{out}");
    for file in ["guess.test.toml", "hours.test.toml", "router.test.toml"] {
        assert!(
            out.contains(&format!("ok    {}", examples.join(file).display())),
            "{file}: {out}"
        );
    }
    assert!(out.contains("7 passed, 0 failed"), "{out}");
    // One plugin's file alone, by the plugin's path.
    let (ok, out) = plugin_test(&examples.join("guess.rhai"));
    assert!(ok && out.contains("3 passed, 0 failed"), "{out}");
}

const SHOP: &str = r#"
const PLUGIN = #{
    name: "shop",
    messages: ["text"],
    http_hosts: ["api.shop.example"],
    settings: [#{ name: "greeting", type: "string", "default": "您好" }],
};
fn on_message(msg, ctx) {
    let me = ctx.fan.openid;
    if msg.content == "order" {
        let r = http::get("https://api.shop.example/orders/1");
        let order = json::decode(r.body);
        ctx.set("last_order", order.id);
        wechat::tag(me, 7);
        schedule(3600, "follow_up", #{ id: order.id });
        return `${settings().greeting}，订单 ${order.id}：${order.status}`;
    }
    if msg.content == "boom" { throw "broken on purpose"; }
}
"#;

const SHOP_TESTS: &str = r#"
[[case]]
name = "an order is looked up, tagged and followed up"
fan = "o_bob"
time = "2026-12-07T09:00:00+08:00"
settings = { greeting = "Hi" }
http_fixtures = [{ url = "https://api.shop.example/orders/1", body = '{"id": 1, "status": "shipped"}' }]

[[case.step]]
text = "order"
reply = "Hi，订单 1：shipped"
expect_state = [{ scope = "account", key = "last_order", value = 1 }]
actions = [{ action = "tag", openid = "o_bob", params = { tag_id = 7 } }]
timers = [{ name = "follow_up", data = { id = 1 } }]

[[case]]
name = "an expected error"

[[case.step]]
text = "boom"
error = "broken on purpose"

[[case]]
name = "this one is wrong"
http_fixtures = [{ url = "https://api.shop.example/orders/1", body = '{"id": 2, "status": "lost"}' }]

[[case.step]]
text = "order"
reply = "您好，订单 2：shipped"
actions = []
"#;

#[test]
fn a_test_file_checks_replies_state_actions_timers_and_prints_a_diff_on_failure() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("shop.rhai"), SHOP).unwrap();
    std::fs::write(dir.path().join("shop.test.toml"), SHOP_TESTS).unwrap();
    let (ok, out) = plugin_test(dir.path());
    assert!(!ok, "a failing case fails the command: {out}");
    assert!(
        out.contains("ok    ") && out.contains("an order is looked up"),
        "{out}"
    );
    assert!(out.contains("an expected error"), "{out}");
    assert!(
        out.contains("FAIL  ") && out.contains("this one is wrong"),
        "{out}"
    );
    assert!(
        out.contains("step 1: reply\n    - expected: \"您好，订单 2：shipped\"\n    + got:      \"您好，订单 2：lost\""),
        "{out}"
    );
    assert!(out.contains("step 1: actions\n    - expected: []"), "{out}");
    assert!(out.contains("2 passed, 1 failed"), "{out}");

    // A broken test file, a setting of the wrong type, no test file at all.
    std::fs::write(dir.path().join("shop.test.toml"), "[[case]]\nname = 1\n").unwrap();
    let (ok, out) = plugin_test(dir.path());
    assert!(
        !ok && out.contains("FAIL") && out.contains("(the file)"),
        "{out}"
    );
    std::fs::write(
        dir.path().join("shop.test.toml"),
        "[[case]]\nname = \"x\"\nsettings = { greeting = 5 }\n[[case.step]]\ntext = \"hi\"\n",
    )
    .unwrap();
    let (ok, out) = plugin_test(dir.path());
    assert!(
        !ok && out.contains("settings.greeting (string) must be a string"),
        "{out}"
    );
    std::fs::remove_file(dir.path().join("shop.test.toml")).unwrap();
    let (ok, out) = plugin_test(dir.path());
    assert!(!ok && out.contains("no test files"), "{out}");
}
