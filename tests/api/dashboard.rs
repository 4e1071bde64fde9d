//! The dashboard's figures (issue 13, bug 8): the auto-reply rules that
//! answered most (not the fans' texts), plugin calls counted in the database
//! (kept across restarts, dry runs left out), and every account together
//! (admins: all; operators: their own).

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::TestApp;
use crate::wechat::Peer;

const PLUG: &str = r#"
const PLUGIN = #{ name: "plug", priority: 250, messages: ["text"] };
fn on_message(msg, ctx) {
    if msg.content == "boom" { throw "broken on purpose"; }
    if msg.content == "plug" { return "plugged"; }
    ()
}
"#;

async fn stats(app: &TestApp, token: Option<&str>, query: &str) -> (StatusCode, Value) {
    app.send(
        reqwest::Method::GET,
        &format!("/wechat/dashboard/stats?{query}"),
        Some(token.unwrap_or(&app.token)),
        None,
    )
    .await
}

fn plugin<'a>(body: &'a Value, name: &str) -> &'a Value {
    body["data"]["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("no {name} in {body}"))
}

/// (label, hits) of the top rules: the keyword, or `follow` / `default`.
fn top_rules(body: &Value) -> Vec<(String, i64)> {
    body["data"]["top_rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let label = match r["reply_type"].as_i64() {
                Some(1) => "follow".to_string(),
                Some(3) => "default".to_string(),
                _ => r["keyword"].as_str().unwrap_or("?").to_string(),
            };
            (label, r["hits"].as_i64().unwrap())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_counts_rules_and_plugin_calls_for_one_or_all_accounts_across_restarts() {
    let data_dir = tempfile::tempdir().unwrap();
    let config = crate::helpers::test_config(data_dir.path()).await;
    std::fs::create_dir_all(&config.plugins_dir).unwrap();
    std::fs::write(config.plugins_dir.join("plug.rhai"), PLUG).unwrap();
    let app = TestApp::attach(wxmp::Running::start(config.clone()).await.unwrap()).await;
    let shop = Peer::create(&app, "wxdashrules00001", 0).await;
    let cafe = Peer::create(&app, "wxdashrules00002", 0).await;
    app.seed(&shop.account_id)
        .rule(json!({"keyword": "价格", "match_type": 2, "content": "99 元"}))
        .await;
    app.seed(&shop.account_id)
        .rule(json!({"reply_type": 1, "content": "欢迎"}))
        .await;
    app.seed(&shop.account_id)
        .rule(json!({"reply_type": 3, "content": "稍后回复您"}))
        .await;
    app.seed(&cafe.account_id)
        .rule(json!({"keyword": "营业", "match_type": 1, "content": "9 点开门"}))
        .await;

    // Different texts answered by one rule count for that rule.
    shop.send(&app, &shop.event("o_a", "subscribe", "", 1_700_000_000))
        .await;
    for (n, (fan, text)) in [
        ("o_a", "价格多少"),
        ("o_b", "请问价格"),
        ("o_b", "价格?"),
        ("o_c", "随便说说"),
        ("o_a", "plug"),
        ("o_a", "plug"),
        ("o_a", "boom"),
    ]
    .iter()
    .enumerate()
    {
        let answer = shop.send(&app, &shop.text(fan, text, 100 + n as i64)).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    }
    for (n, text) in ["营业", "plug"].iter().enumerate() {
        cafe.send(&app, &cafe.text("o_z", text, 200 + n as i64))
            .await;
    }
    // Dry runs, of the plugin and of the whole chain, are not counted.
    for body in [
        json!({"account_id": shop.account_id, "plugin": "plug", "text": "plug"}),
        json!({"account_id": shop.account_id, "plugin": "plug", "text": "boom"}),
        json!({"account_id": shop.account_id, "text": "plug"}),
    ] {
        let (status, dry) = app.post("/wechat/plugins/test", body).await;
        assert_eq!(status, StatusCode::OK, "{dry}");
    }

    let one_account = format!("account_id={}&days=7", shop.account_id);
    let (status, one) = stats(&app, None, &one_account).await;
    assert_eq!(status, StatusCode::OK, "{one}");
    assert_eq!(one["data"]["scope"], "account");
    let shown = |rules: &[(&str, i64)]| -> Vec<(String, i64)> {
        rules.iter().map(|(l, n)| (l.to_string(), *n)).collect()
    };
    assert_eq!(
        top_rules(&one),
        shown(&[("价格", 3), ("default", 2), ("follow", 1)])
    );
    assert_eq!(one["data"]["top_rules"][0]["deleted"], false);
    assert_eq!(
        one["data"]["answered_by"],
        json!([
            {"handler": "builtin:keyword", "replies": 3},
            {"handler": "builtin:default", "replies": 2},
            {"handler": "plugin:plug", "replies": 2},
            {"handler": "builtin:follow", "replies": 1},
        ])
    );
    // Every text went through the plugin: 7 calls, 1 error; the dry runs not.
    let plug = plugin(&one, "plug");
    assert_eq!(
        (plug["calls"].as_i64(), plug["errors"].as_i64()),
        (Some(7), Some(1)),
        "{plug}"
    );
    assert!(plug["last_error"]
        .as_str()
        .unwrap()
        .contains("broken on purpose"));
    assert_eq!(one["data"]["plugin_errors"][0]["name"], "plug");

    // All accounts together, for an admin.
    let (status, all) = stats(&app, None, "days=7").await;
    assert_eq!(status, StatusCode::OK, "{all}");
    assert_eq!(all["data"]["scope"], "all");
    assert_eq!(
        top_rules(&all),
        shown(&[("价格", 3), ("default", 2), ("follow", 1), ("营业", 1)])
    );
    let plug = plugin(&all, "plug");
    assert_eq!(
        (plug["calls"].as_i64(), plug["errors"].as_i64()),
        (Some(9), Some(1))
    );
    let today = all["data"]["days"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(today["received"], 10, "{today}");

    // An operator's "all" is their own accounts; another account is refused.
    app.post(
        "/wechat/admins/add",
        json!({"username": "cafeop", "password": "operator-pass-9", "role": "operator", "account_ids": [cafe.account_id]}),
    )
    .await;
    let token = app.login("cafeop", "operator-pass-9").await;
    let (status, mine) = stats(&app, Some(&token), "").await;
    assert_eq!(status, StatusCode::OK, "{mine}");
    assert_eq!(top_rules(&mine), shown(&[("营业", 1)]));
    assert_eq!(plugin(&mine, "plug")["calls"], 2);
    assert_eq!(plugin(&mine, "plug")["errors"], 0);
    assert!(plugin(&mine, "plug")["last_error"].is_null());
    let (status, body) = stats(&app, Some(&token), &one_account).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, body) = stats(&app, None, "account_id=nope").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

    // One more call, then a restart: the counts are in the database.
    shop.send(&app, &shop.text("o_a", "plug", 300)).await;
    app.server.shutdown().await.unwrap();
    let app = TestApp::attach(wxmp::Running::start(config).await.unwrap()).await;
    let (_, one) = stats(&app, None, &one_account).await;
    let plug = plugin(&one, "plug");
    assert_eq!(
        (plug["calls"].as_i64(), plug["errors"].as_i64()),
        (Some(8), Some(1)),
        "{plug}"
    );
    let (_, listed) = app.get("/wechat/plugins/list").await;
    let listed = &listed["data"]["list"][0];
    assert_eq!(
        (listed["calls"].as_i64(), listed["errors"].as_i64()),
        (Some(10), Some(1)),
        "{listed}"
    );

    // A deleted rule still counts, named as deleted.
    let rule = one["data"]["top_rules"][0]["rule_id"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, body) = app
        .delete(&format!("/wechat/wxautoreplies/del?id={rule}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, one) = stats(&app, None, &one_account).await;
    assert_eq!(
        one["data"]["top_rules"][0],
        json!({"rule_id": rule, "hits": 3, "deleted": true})
    );
}
