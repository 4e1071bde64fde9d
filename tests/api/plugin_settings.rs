//! Per-account plugin settings: declared in `PLUGIN.settings`, set per
//! account over `/wechat/plugins/settings` (checked against the declared
//! types, 422 naming each bad value, nothing saved then), read by the
//! script with `settings()`; bad declarations are refused at their line.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{assert_field_error, TestApp};
use crate::wechat::Peer;

const HOURS: &str = r#"
const PLUGIN = #{
    name: "hours",
    priority: 250,
    messages: ["text"],
    settings: [
        #{ name: "greeting", type: "string", "default": "欢迎", description: "first line" },
        #{ name: "opens_at", type: "int", "default": 9 },
        #{ name: "discount", type: "float", "default": 0.5 },
        #{ name: "weekends", type: "bool", "default": false },
    ],
};
fn on_message(msg, ctx) {
    let s = settings();
    if msg.content == "hours" {
        return `${s.greeting} ${s.opens_at} ${s.discount} ${s.weekends} ${s.len()}`;
    }
}
"#;

async fn hours_app() -> (TestApp, Peer, Peer) {
    let app = TestApp::spawn().await;
    let dir = app.server.state.config.plugins_dir.clone();
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("hours.rhai"), HOURS).unwrap();
    let (_, report) = app.post("/wechat/plugins/reload", json!({})).await;
    assert_eq!(report["data"]["failed"], json!([]), "{report}");
    let one = Peer::create(&app, "wxsettings000001", 0).await;
    let two = Peer::create(&app, "wxsettings000002", 0).await;
    (app, one, two)
}

async fn say(app: &TestApp, peer: &Peer, text: &str) -> String {
    let msg_id = rand::random::<u32>() as i64;
    let answer = peer.send(app, &peer.text("o_set", text, msg_id)).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    answer.reply.map(|r| r.text("Content")).unwrap_or_default()
}

async fn put(app: &TestApp, account: &str, values: Value) -> (StatusCode, Value) {
    app.put(
        "/wechat/plugins/settings",
        json!({"plugin": "hours", "account_id": account, "values": values}),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_set_values_per_account_and_the_script_reads_them() {
    let (app, one, two) = hours_app().await;
    let path = format!(
        "/wechat/plugins/settings?plugin=hours&account_id={}",
        one.account_id
    );
    let (status, shown) = app.get(&path).await;
    assert_eq!(status, StatusCode::OK, "{shown}");
    let first = &shown["data"]["settings"][0];
    assert_eq!(
        (
            &first["name"],
            &first["type"],
            &first["default"],
            &first["description"],
            &first["value"],
            &first["is_set"]
        ),
        (
            &json!("greeting"),
            &json!("string"),
            &json!("欢迎"),
            &json!("first line"),
            &json!("欢迎"),
            &json!(false)
        )
    );
    assert_eq!(say(&app, &one, "hours").await, "欢迎 9 0.5 false 4");

    let (status, set) = put(
        &app,
        &one.account_id,
        json!({"greeting": "您好", "opens_at": 10, "discount": 1, "weekends": true}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{set}");
    assert_eq!(
        set["data"]["values"],
        json!({"greeting": "您好", "opens_at": 10, "discount": 1.0, "weekends": true})
    );
    assert_eq!(set["data"]["settings"][1]["is_set"], true, "{set}");
    assert_eq!(say(&app, &one, "hours").await, "您好 10 1.0 true 4");
    // The other account keeps the defaults.
    assert_eq!(say(&app, &two, "hours").await, "欢迎 9 0.5 false 4");
    // A dry run sees the account's values too.
    let (_, dry) = app
        .post(
            "/wechat/plugins/test",
            json!({"account_id": one.account_id, "plugin": "hours", "text": "hours"}),
        )
        .await;
    assert_eq!(
        dry["data"]["reply"]["content"], "您好 10 1.0 true 4",
        "{dry}"
    );

    // A PUT sets what it names; null goes back to the default.
    let (status, set) = put(&app, &one.account_id, json!({"greeting": null})).await;
    assert_eq!(status, StatusCode::OK, "{set}");
    assert_eq!(say(&app, &one, "hours").await, "欢迎 10 1.0 true 4");

    // Wrong types and unknown settings: 422 naming each, nothing saved.
    let (status, body) = put(
        &app,
        &one.account_id,
        json!({"opens_at": "11", "discount": "cheap", "weekends": 1, "greeting": "Hi", "colour": "red"}),
    )
    .await;
    assert_field_error(status, &body, "values.opens_at");
    let fields = &body["data"]["fields"];
    assert_eq!(
        fields["values.opens_at"], "opens_at (int) must be a whole number, not the string \"11\"",
        "{body}"
    );
    assert!(
        fields["values.discount"]
            .as_str()
            .unwrap()
            .contains("must be a number"),
        "{body}"
    );
    assert!(
        fields["values.weekends"]
            .as_str()
            .unwrap()
            .contains("must be true or false"),
        "{body}"
    );
    assert!(
        fields["values.colour"].as_str().unwrap().contains(
            "has no setting \"colour\"; its settings are greeting, opens_at, discount, weekends"
        ),
        "{body}"
    );
    assert!(fields.get("values.greeting").is_none(), "{body}");
    assert_eq!(say(&app, &one, "hours").await, "欢迎 10 1.0 true 4");
    let (status, body) = put(&app, &one.account_id, json!({"opens_at": 9.5})).await;
    assert_field_error(status, &body, "values.opens_at");
    let (status, body) = put(&app, &one.account_id, json!({"greeting": "x".repeat(4097)})).await;
    assert_field_error(status, &body, "values.greeting");

    // An unknown plugin or account, a body without values.
    let (status, body) = app
        .put(
            "/wechat/plugins/settings",
            json!({"plugin": "nope", "account_id": one.account_id, "values": {}}),
        )
        .await;
    assert_field_error(status, &body, "plugin");
    let (status, body) = put(&app, "123456", json!({})).await;
    assert_field_error(status, &body, "account_id");
    let (status, body) = app
        .put(
            "/wechat/plugins/settings",
            json!({"plugin": "hours", "account_id": one.account_id}),
        )
        .await;
    assert_field_error(status, &body, "values");
    let (status, body) = app.get("/wechat/plugins/settings?plugin=hours").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["msg"].as_str().unwrap().contains("account_id"),
        "{body}"
    );

    // Audited; operators may read their account's values, not set them.
    let (_, trail) = app
        .get("/wechat/audit_log/list?action=update_settings")
        .await;
    assert_eq!(trail["data"]["total"], 2, "{trail}");
    assert_eq!(trail["data"]["list"][0]["resource_id"], "hours");
    app.add(
        "/wechat/admins/add",
        json!({"username": "op-settings", "password": "operator-pass-1", "role": "operator", "account_ids": [one.account_id]}),
    )
    .await;
    let token = app.login("op-settings", "operator-pass-1").await;
    let (status, body) = app
        .send(reqwest::Method::GET, &path, Some(&token), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = app
        .send(
            reqwest::Method::PUT,
            "/wechat/plugins/settings",
            Some(&token),
            Some(
                json!({"plugin": "hours", "account_id": one.account_id, "values": {"opens_at": 8}}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_setting_declarations_are_refused_at_their_line() {
    let app = TestApp::spawn().await;
    let dir = app.server.state.config.plugins_dir.clone();
    std::fs::create_dir_all(&dir).unwrap();
    let cases = [
        (
            r#"#{ name: "n", type: "integer", "default": 1 }"#,
            "type \"integer\" is not one of string, int, float, bool",
        ),
        (
            r#"#{ name: "n", type: "int", "default": "9" }"#,
            "the default must be a whole number, not the string \"9\"",
        ),
        (r#"#{ name: "n", type: "bool" }"#, "give a default"),
        (
            r#"#{ name: "n", type: "int", "default": 1, descripton: "" }"#,
            "no key \"descripton\"",
        ),
        (
            r#"#{ name: "n", type: "int", default: 1 }"#,
            "in a map, quote it (\"default\": …)",
        ),
        (
            r#"#{ name: "a b", type: "int", "default": 1 }"#,
            "1–64 letters, digits or '_'",
        ),
        (
            r#"#{ name: "n", type: "int", "default": 1 }, #{ name: "n", type: "int", "default": 2 }"#,
            "declared twice",
        ),
    ];
    for (i, (setting, expected)) in cases.iter().enumerate() {
        let source = format!(
            "const PLUGIN = #{{\n    name: \"bad{i}\",\n    settings: [{setting}],\n}};\nfn on_message(msg, ctx) {{ }}\n"
        );
        std::fs::write(dir.join(format!("bad{i}.rhai")), source).unwrap();
        let (_, report) = app.post("/wechat/plugins/reload", json!({})).await;
        let failed = report["data"]["failed"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| {
                f["file"]
                    .as_str()
                    .unwrap_or_default()
                    .ends_with(&format!("bad{i}.rhai"))
            })
            .cloned()
            .unwrap_or_else(|| panic!("{setting}: not refused: {report}"));
        let error = failed["message"].as_str().unwrap_or_default();
        assert!(error.contains(expected), "{setting}: {error}");
        assert_eq!(failed["line"], 3, "{setting}: {failed}");
        std::fs::remove_file(dir.join(format!("bad{i}.rhai"))).unwrap();
    }
}
