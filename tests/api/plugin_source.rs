//! The plugin editor's routes: `GET/PUT /wechat/plugins/source`,
//! `POST /wechat/plugins/check` and `POST /wechat/plugins/run_tests`. Admins read a plugin's file by the plugin's
//! name, save text that compiles (written atomically, rescanned, audited),
//! and get a 422 with the line and column for text that does not (the file
//! untouched); names that are not plugin names, operators and oversized
//! sources are refused.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{assert_field_error, TestApp};

fn greet(reply: &str) -> String {
    format!(
        "const PLUGIN = #{{ name: \"greet\", priority: 250, messages: [\"text\"] }};\n\
         fn on_message(msg, ctx) {{\n    return \"{reply}\";\n}}\n"
    )
}

const BROKEN: &str = "const PLUGIN = #{ name: \"greet\", priority: 250, messages: [\"text\"] };\n\
fn on_message(msg, ctx) {\n    let x = ;\n    return \"never\";\n}\n";

async fn app_with_greet() -> (TestApp, std::path::PathBuf) {
    let app = TestApp::spawn().await;
    let dir = app.server.state.config.plugins_dir.clone();
    std::fs::create_dir_all(dir.join("faq")).unwrap();
    std::fs::write(dir.join("greet.rhai"), greet("hello")).unwrap();
    std::fs::write(
        dir.join("faq").join("main.rhai"),
        "fn on_message(msg, ctx) { () }\n",
    )
    .unwrap();
    let (_, report) = app.post("/wechat/plugins/reload", json!({})).await;
    assert_eq!(report["data"]["failed"], json!([]), "{report}");
    (app, dir)
}

async fn dry_reply(app: &TestApp, account: &str) -> Value {
    let (status, body) = app
        .post(
            "/wechat/plugins/test",
            json!({"account_id": account, "plugin": "greet", "text": "hi"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["data"]["reply"]["content"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_read_a_plugin_and_save_a_version_that_compiles() {
    let (app, dir) = app_with_greet().await;
    let account = app.add_account("wxsource0000001").await;

    let (status, body) = app.get("/wechat/plugins/source?name=greet").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["file"], "greet.rhai");
    assert_eq!(body["data"]["source"], greet("hello"));
    assert_eq!(body["data"]["max_bytes"], 256 * 1024);
    // A folder plugin is its main.rhai.
    let (status, body) = app.get("/wechat/plugins/source?name=faq").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["file"], "faq/main.rhai");
    assert_eq!(dry_reply(&app, &account).await, "hello");

    let (_, listed) = app.get("/wechat/plugins/list").await;
    let hash_before = listed["data"]["list"][1]["source_hash"].clone();
    let (status, body) = app
        .put(
            "/wechat/plugins/source",
            json!({"name": "greet", "source": greet("bonjour")}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["file"], "greet.rhai");
    assert_eq!(body["data"]["plugin"]["status"], "active", "{body}");
    assert_ne!(body["data"]["plugin"]["source_hash"], hash_before);
    assert_eq!(body["data"]["reload"]["loaded"], json!(["greet"]), "{body}");
    assert_eq!(
        std::fs::read_to_string(dir.join("greet.rhai")).unwrap(),
        greet("bonjour")
    );
    // No temporary file is left beside it.
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n.ends_with(".saving"))
        .collect();
    assert_eq!(leftovers, Vec::<String>::new());
    assert_eq!(dry_reply(&app, &account).await, "bonjour");

    let (_, trail) = app.get("/wechat/audit_log/list?action=update_source").await;
    assert_eq!(trail["data"]["total"], 1, "{trail}");
    assert_eq!(trail["data"]["list"][0]["resource_id"], "greet");

    // Checking without saving.
    let (status, body) = app
        .post(
            "/wechat/plugins/check",
            json!({"name": "greet", "source": greet("x")}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["ok"], true);
    let (status, body) = app
        .post("/wechat/plugins/check", json!({"source": greet("x")}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_source_that_does_not_compile_is_refused_at_its_line_and_nothing_is_written() {
    let (app, dir) = app_with_greet().await;
    for (method, path) in [
        (Method::PUT, "/wechat/plugins/source"),
        (Method::POST, "/wechat/plugins/check"),
    ] {
        let (status, body) = app
            .send(
                method,
                path,
                Some(&app.token),
                Some(json!({"name": "greet", "source": BROKEN})),
            )
            .await;
        assert_field_error(status, &body, "source");
        let error = &body["data"]["script_error"];
        assert_eq!(error["line"], 3, "{body}");
        assert!(error["column"].as_u64().is_some_and(|c| c > 0), "{body}");
        assert_eq!(error["snippet"], "let x = ;", "{body}");
        assert_eq!(error["file"], "greet.rhai", "{body}");
        assert!(
            body["data"]["fields"]["source"]
                .as_str()
                .unwrap()
                .contains(":3:"),
            "{body}"
        );
    }
    assert_eq!(
        std::fs::read_to_string(dir.join("greet.rhai")).unwrap(),
        greet("hello")
    );
    let (_, listed) = app.get("/wechat/plugins/list").await;
    let greet_row = listed["data"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "greet")
        .cloned()
        .unwrap();
    assert_eq!(greet_row["status"], "active", "{listed}");
    // Loader checks count too: an unknown metadata key is refused at its line.
    let typo = "const PLUGIN = #{ name: \"greet\",\n  mesages: [\"text\"] };\nfn on_message(msg, ctx) { () }\n";
    let (status, body) = app
        .put(
            "/wechat/plugins/source",
            json!({"name": "greet", "source": typo}),
        )
        .await;
    assert_field_error(status, &body, "source");
    assert!(body["data"]["script_error"]["line"].is_number(), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_that_are_not_plugin_names_are_refused() {
    let (app, dir) = app_with_greet().await;
    let outside = dir.parent().unwrap().join("outside.rhai");
    std::fs::write(&outside, "fn on_message(msg, ctx) { () }\n").unwrap();
    for name in [
        "../outside",
        "..",
        "faq/main",
        "greet.rhai",
        "/etc/passwd",
        "",
        "a b",
    ] {
        let path = format!(
            "/wechat/plugins/source?name={}",
            crate::helpers::urlencode(name)
        );
        let (status, body) = app.get(&path).await;
        assert_field_error(status, &body, "name");
        let (status, body) = app
            .put(
                "/wechat/plugins/source",
                json!({"name": name, "source": greet("pwned")}),
            )
            .await;
        assert_field_error(status, &body, "name");
    }
    let (status, body) = app.get("/wechat/plugins/source?name=nobody").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    // A link inside the folder to a file outside it is not followed.
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(&outside, dir.join("linked.rhai")).unwrap();
        let (status, body) = app
            .put(
                "/wechat/plugins/source",
                json!({"name": "linked", "source": greet("pwned")}),
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    }
    assert_eq!(
        std::fs::read_to_string(&outside).unwrap(),
        "fn on_message(msg, ctx) { () }\n"
    );
    assert!(!dir.parent().unwrap().join("pwned.rhai").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operators_are_refused_and_oversized_sources_too() {
    let (app, dir) = app_with_greet().await;
    let account = app.add_account("wxsource0000002").await;
    app.add(
        "/wechat/admins/add",
        json!({"username": "op-source", "password": "operator-pass-1", "role": "operator", "account_ids": [account]}),
    )
    .await;
    let token = app.login("op-source", "operator-pass-1").await;
    for (method, path, body) in [
        (Method::GET, "/wechat/plugins/source?name=greet", None),
        (
            Method::PUT,
            "/wechat/plugins/source",
            Some(json!({"name": "greet", "source": greet("op")})),
        ),
        (
            Method::POST,
            "/wechat/plugins/check",
            Some(json!({"source": greet("op")})),
        ),
        (
            Method::POST,
            "/wechat/plugins/run_tests",
            Some(json!({"name": "greet"})),
        ),
        (
            Method::POST,
            "/wechat/plugins/create",
            Some(json!({"name": "mine"})),
        ),
        (
            Method::POST,
            "/wechat/plugins/delete",
            Some(json!({"name": "greet"})),
        ),
    ] {
        let (status, answer) = app.send(method, path, Some(&token), body).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}: {answer}");
    }

    let huge = format!("{}// {}\n", greet("big"), "x".repeat(300 * 1024));
    for (method, path) in [
        (Method::PUT, "/wechat/plugins/source"),
        (Method::POST, "/wechat/plugins/check"),
    ] {
        let (status, body) = app
            .send(
                method,
                path,
                Some(&app.token),
                Some(json!({"name": "greet", "source": huge})),
            )
            .await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
        assert!(body["msg"].as_str().unwrap().contains("256 KiB"), "{body}");
    }
    assert_eq!(
        std::fs::read_to_string(dir.join("greet.rhai")).unwrap(),
        greet("hello")
    );
}

const GREET_TESTS: &str = r#"
[[case]]
name = "hi gets hello"
[[case.step]]
text = "hi"
reply = "hello"

[[case]]
name = "a wrong expectation"
[[case.step]]
text = "hi"
reply = "bonjour"
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_editor_runs_a_plugins_test_file_against_the_saved_plugin() {
    let (app, dir) = app_with_greet().await;
    // No test file yet: nothing ran, and the answer names the file to write.
    let (status, body) = app
        .post("/wechat/plugins/run_tests", json!({"name": "greet"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["cases"], json!([]), "{body}");
    assert_eq!(body["data"]["test_file"], "greet.test.toml", "{body}");
    let (_, body) = app
        .post("/wechat/plugins/run_tests", json!({"name": "faq"}))
        .await;
    assert_eq!(body["data"]["test_file"], "faq.test.toml", "{body}");

    std::fs::write(dir.join("greet.test.toml"), GREET_TESTS).unwrap();
    let (status, body) = app
        .post("/wechat/plugins/run_tests", json!({"name": "greet"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let data = &body["data"];
    assert_eq!(
        (data["passed"].as_u64(), data["failed"].as_u64()),
        (Some(1), Some(1)),
        "{body}"
    );
    assert_eq!(data["cases"][0]["name"], "hi gets hello");
    assert_eq!(data["cases"][0]["passed"], true);
    assert_eq!(data["cases"][0]["file"], "greet.test.toml");
    assert_eq!(data["cases"][1]["passed"], false);
    let failure = data["cases"][1]["failures"][0].as_str().unwrap();
    assert!(
        failure.contains("bonjour") && failure.contains("hello"),
        "{failure}"
    );

    // Saving a new version: the tests run against it.
    let (status, body) = app
        .put(
            "/wechat/plugins/source",
            json!({"name": "greet", "source": greet("bonjour")}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, body) = app
        .post("/wechat/plugins/run_tests", json!({"name": "greet"}))
        .await;
    assert_eq!(body["data"]["passed"], 1, "{body}");
    assert_eq!(body["data"]["cases"][1]["passed"], true, "{body}");

    // A broken test file is one failed case that says why; no plugin, 404.
    std::fs::write(dir.join("greet.test.toml"), "[[case]\nname = ").unwrap();
    let (status, body) = app
        .post("/wechat/plugins/run_tests", json!({"name": "greet"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["failed"], 1, "{body}");
    assert_eq!(body["data"]["cases"][0]["name"], "(the file)", "{body}");
    let (status, body) = app
        .post("/wechat/plugins/run_tests", json!({"name": "nope"}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, body) = app
        .post("/wechat/plugins/run_tests", json!({"name": "../etc"}))
        .await;
    assert_field_error(status, &body, "name");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_create_a_plugin_from_the_starter_and_delete_it() {
    let (app, dir) = app_with_greet().await;
    let (status, body) = app
        .post("/wechat/plugins/create", json!({"name": "coupon"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["file"], "coupon.rhai", "{body}");
    assert_eq!(body["data"]["plugin"]["status"], "active", "{body}");
    // The starter is off everywhere until an admin switches it on.
    assert_eq!(body["data"]["plugin"]["opt_in"], true, "{body}");
    let text = std::fs::read_to_string(dir.join("coupon.rhai")).unwrap();
    assert!(text.contains("name: \"coupon\""), "{text}");

    // Taken names, names that are no names, and sources that do not compile.
    for (name, code) in [
        ("coupon", "plugin_exists"),
        ("greet", "plugin_exists"),
        ("faq", "plugin_exists"),
    ] {
        let (status, body) = app
            .post("/wechat/plugins/create", json!({"name": name}))
            .await;
        assert_field_error(status, &body, "name");
        assert_eq!(body["data"]["codes"]["name"]["code"], code, "{body}");
    }
    let (status, body) = app
        .post("/wechat/plugins/create", json!({"name": "../up"}))
        .await;
    assert_field_error(status, &body, "name");
    let (status, body) = app
        .post(
            "/wechat/plugins/create",
            json!({"name": "broken", "source": BROKEN}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["data"]["script_error"]["line"], 3, "{body}");
    assert!(!dir.join("broken.rhai").exists());

    // Deleted: the file goes, and the plugin with it.
    let (status, body) = app
        .post("/wechat/plugins/delete", json!({"name": "coupon"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(!dir.join("coupon.rhai").exists());
    let (_, list) = app.get("/wechat/plugins/list").await;
    assert!(
        !list["data"]["list"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == "coupon"),
        "{list}"
    );
    let (status, body) = app
        .post("/wechat/plugins/delete", json!({"name": "coupon"}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    // A folder plugin is removed on the server, not here.
    let (status, body) = app
        .post("/wechat/plugins/delete", json!({"name": "faq"}))
        .await;
    assert_field_error(status, &body, "name");
    assert_eq!(
        body["data"]["codes"]["name"]["code"], "folder_plugin",
        "{body}"
    );
    assert!(dir.join("faq/main.rhai").exists());
    // Both are in the audit trail.
    let (_, audit) = app.get("/wechat/audit_log/list?resource=plugin").await;
    let actions: Vec<&str> = audit["data"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert!(
        actions.contains(&"create") && actions.contains(&"delete"),
        "{audit}"
    );
}
