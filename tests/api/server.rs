//! The server as a whole: health, the OpenAPI document, the binary's start-up
//! errors and graceful shutdown.

use crate::helpers::TestApp;
use reqwest::{Method, StatusCode};

/// Every authenticated path of the specification.
const SPEC_PATHS: &[(&str, &str)] = &[
    ("get", "/wechat/wxaccounts/list"),
    ("post", "/wechat/wxaccounts/add"),
    ("put", "/wechat/wxaccounts/edit"),
    ("delete", "/wechat/wxaccounts/del"),
    ("get", "/wechat/wxautoreplies/list"),
    ("post", "/wechat/wxautoreplies/add"),
    ("put", "/wechat/wxautoreplies/edit"),
    ("delete", "/wechat/wxautoreplies/del"),
    ("get", "/wechat/wxmaterials/list"),
    ("post", "/wechat/wxmaterials/add"),
    ("put", "/wechat/wxmaterials/edit"),
    ("delete", "/wechat/wxmaterials/del"),
    ("get", "/wechat/wxmenus/list"),
    ("post", "/wechat/wxmenus/add"),
    ("put", "/wechat/wxmenus/edit"),
    ("delete", "/wechat/wxmenus/del"),
    ("get", "/wechat/wxmessages/list"),
    ("post", "/wechat/wxmessages/add"),
    ("put", "/wechat/wxmessages/edit"),
    ("delete", "/wechat/wxmessages/del"),
    ("get", "/wechat/wxusers/list"),
    ("post", "/wechat/wxusers/add"),
    ("put", "/wechat/wxusers/edit"),
    ("delete", "/wechat/wxusers/del"),
    ("get", "/wechat/wxtemplates/list"),
    ("post", "/wechat/wxtemplates/add"),
    ("put", "/wechat/wxtemplates/edit"),
    ("delete", "/wechat/wxtemplates/del"),
    ("get", "/wechat/wxtemplates/logs"),
    ("get", "/wechat/wxpay/orders"),
    ("get", "/wechat/wxpay/refunds"),
];

#[tokio::test]
async fn health_and_readiness_answer_without_a_token() {
    let app = TestApp::spawn().await;
    let (status, body) = app.send(Method::GET, "/healthz", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["data"]["status"], "alive");
    let (status, body) = app.send(Method::GET, "/readyz", None, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["status"], "ready");
}

#[tokio::test]
async fn openapi_document_covers_every_endpoint() {
    let app = TestApp::spawn().await;
    let (status, document) = app
        .send(Method::GET, "/api-docs/openapi.json", None, None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(document["openapi"].as_str().unwrap().starts_with("3."));
    for (method, path) in SPEC_PATHS {
        let operation = &document["paths"][path][method];
        assert!(operation.is_object(), "{method} {path} is not documented");
        assert!(
            operation["security"].is_array(),
            "{method} {path} must say it needs a token"
        );
    }
    for path in ["/auth/login", "/auth/me", "/healthz", "/readyz"] {
        assert!(document["paths"][path].is_object(), "{path}");
    }
    let account = &document["components"]["schemas"]["Account"]["properties"];
    assert_eq!(account["id"]["type"], "string");
    assert_eq!(account["message_mode"]["type"], "integer");
    // Every documented admin path answers (with 401 here: no token), never 404/405.
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            if operation.get("security").is_none() {
                continue;
            }
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let response = app
                .client
                .request(method.clone(), app.url(path))
                .send()
                .await
                .unwrap();
            assert!(
                ![StatusCode::NOT_FOUND, StatusCode::METHOD_NOT_ALLOWED]
                    .contains(&response.status()),
                "{method} {path}"
            );
        }
    }
}

#[tokio::test]
async fn openapi_document_uses_valid_path_templates_and_describes_errors() {
    let app = TestApp::spawn().await;
    let (_, document) = app
        .send(Method::GET, "/api-docs/openapi.json", None, None)
        .await;
    let paths = document["paths"].as_object().unwrap();
    // OpenAPI has no wildcard: the files route is a plain template whose
    // parameter says it may hold slashes.
    assert!(paths.keys().all(|p| !p.contains('*')), "{:?}", paths.keys());
    let files = &document["paths"]["/wechat/files/{local_path}"]["get"];
    let parameter = &files["parameters"][0];
    assert_eq!(parameter["name"], "local_path");
    assert_eq!(parameter["in"], "path");
    assert_eq!(parameter["required"], true);
    assert!(parameter["description"]
        .as_str()
        .unwrap()
        .contains("slashes"));
    // Every template parameter is declared, and every error is the envelope
    // with `data` that may be null.
    let template = regex::Regex::new(r"\{([^}]+)\}").unwrap();
    for (path, item) in paths {
        for (method, operation) in item.as_object().unwrap() {
            for name in template.captures_iter(path).map(|c| c[1].to_string()) {
                let declared = operation["parameters"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|p| p["in"] == "path" && p["name"] == name.as_str());
                assert!(
                    declared,
                    "{method} {path}: path parameter {name} is not declared"
                );
            }
            for (status, response) in operation["responses"].as_object().unwrap() {
                if status.starts_with('2') {
                    continue;
                }
                let schema = &response["content"]["application/json"]["schema"]["$ref"];
                assert!(
                    schema == "#/components/schemas/Error"
                        || schema == "#/components/schemas/PayFail",
                    "{method} {path} {status}: {schema}"
                );
            }
        }
    }
    let data_types = &document["components"]["schemas"]["Error"]["properties"]["data"]["type"];
    assert!(
        data_types.as_array().unwrap().contains(&"null".into()),
        "{data_types}"
    );
    // What the server really answers: a refusal for a missing file is the
    // documented 404 envelope, the QR code is a PNG.
    let (status, body) = app.get("/wechat/files/media/ab/missing.jpg").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(files["responses"]["404"].is_object());
    assert!(body["data"].is_null());
    let qrcode = &document["paths"]["/wechat/wxpay/qrcode"]["get"]["responses"]["200"];
    assert!(qrcode["content"]["image/png"].is_object(), "{qrcode}");
}

#[test]
fn a_bad_setting_is_a_clear_start_up_error() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_wxmp"))
        .env("WXMP_WORKER_ID", "5000")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("WXMP_WORKER_ID"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn the_binary_serves_with_no_configuration_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    // Only the address is set: the database, data dir, secret and first
    // admin all come from the defaults, relative to the working directory.
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_wxmp"))
        .current_dir(dir.path())
        .env("WXMP_LISTEN", format!("127.0.0.1:{port}"))
        .env_remove("WXMP_DATABASE_URL")
        .env_remove("WXMP_ADMIN_PASSWORD")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let ready = runtime.block_on(async {
        for _ in 0..200 {
            if let Ok(response) = reqwest::get(format!("http://127.0.0.1:{port}/readyz")).await {
                return response.status() == StatusCode::OK;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        false
    });
    assert!(ready, "the server did not become ready");
    assert!(dir.path().join("data/wxmp.db").exists());
    assert!(dir.path().join("data/jwt_secret").exists());
    let pid = child.id().to_string();
    assert!(std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "exit status {:?}", output.status);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("password:"),
        "the generated admin password is printed once: {stderr}"
    );
}

/// A handler slow enough to still be running when shutdown starts.
struct Slow;

impl wxmp::callback::chain::Handler for Slow {
    fn name(&self) -> &str {
        "slow"
    }
    fn priority(&self) -> i32 {
        1000
    }
    fn handle(
        &self,
        _: std::sync::Arc<wxmp::callback::chain::Context>,
    ) -> wxmp::callback::chain::HandlerFuture {
        Box::pin(async {
            tokio::time::sleep(std::time::Duration::from_millis(700)).await;
            wxmp::callback::chain::Outcome::Reply(wxmp::wechat::Reply::Text {
                content: "finished".into(),
            })
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_lets_requests_in_flight_finish() {
    let app = TestApp::spawn().await;
    let peer = crate::wechat::Peer::create(&app, "wxshutdown000001", 0).await;
    app.server.state.chain.register(std::sync::Arc::new(Slow));
    let in_flight = {
        let (peer, message, client) = (
            peer.clone(),
            peer.text("o_fan", "hi", 1),
            app.client.clone(),
        );
        let url = app.url(&format!(
            "/wechat/official_account/callback/{}",
            peer.app_id
        ));
        tokio::spawn(async move {
            let timestamp = chrono::Utc::now().timestamp().to_string();
            let signature = wxmp::wechat::signature::sign(&[crate::wechat::TOKEN, &timestamp, "n"]);
            let response = client
                .post(format!(
                    "{url}?signature={signature}&timestamp={timestamp}&nonce=n"
                ))
                .body(message)
                .send()
                .await
                .unwrap();
            (response.status(), response.text().await.unwrap())
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let addr = app.server.addr;
    let TestApp { server, .. } = app;
    server.shutdown().await.unwrap();
    let (status, body) = in_flight.await.unwrap();
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("finished"), "{body}");
    assert!(
        reqwest::get(format!("http://{addr}/healthz"))
            .await
            .is_err(),
        "no longer serving"
    );
}

/// A port free at the time of asking.
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[test]
fn wxmp_sandbox_serves_the_fake_wechat_api_and_the_fake_wechat_pay() {
    let (wechat_port, pay_port) = (free_port(), free_port());
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_wxmp"))
        .args(["sandbox", "--listen", &format!("127.0.0.1:{wechat_port}")])
        .args(["--pay-listen", &format!("127.0.0.1:{pay_port}")])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let (wechat, pay) = (
        format!("http://127.0.0.1:{wechat_port}"),
        format!("http://127.0.0.1:{pay_port}"),
    );
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (token, unsigned, unknown_order) = runtime.block_on(async {
        let client = reqwest::Client::new();
        // The fake WeChat Pay starts last (after making its RSA keys).
        let mut unsigned = None;
        for _ in 0..600 {
            if let Ok(response) = client.get(format!("{pay}/v3/certificates")).send().await {
                let status = response.status();
                unsigned = Some((status, response.json::<serde_json::Value>().await.unwrap()));
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        let token = client
            .get(format!(
                "{wechat}/cgi-bin/token?grant_type=client_credential&appid=wxany&secret=s"
            ))
            .send()
            .await
            .unwrap()
            .json::<serde_json::Value>()
            .await
            .unwrap();
        let unknown = client
            .post(format!("{pay}/sandbox/orders/NO_SUCH_ORDER/pay"))
            .send()
            .await
            .unwrap();
        let unknown = (
            unknown.status(),
            unknown.json::<serde_json::Value>().await.unwrap(),
        );
        (token, unsigned, unknown)
    });
    let pid = child.id().to_string();
    assert!(std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let unsigned = unsigned.expect("the fake WeChat Pay did not answer");
    assert!(
        token["access_token"].is_string(),
        "any AppID and secret: {token}"
    );
    assert_eq!(unsigned.0, StatusCode::UNAUTHORIZED, "{}", unsigned.1);
    assert_eq!(unsigned.1["code"], "SIGN_ERROR");
    assert_eq!(
        unknown_order.0,
        StatusCode::NOT_FOUND,
        "{}",
        unknown_order.1
    );
    assert_eq!(unknown_order.1["code"], "ORDER_NOT_EXIST");
    assert!(output.status.success(), "exit status {:?}", output.status);
    for expected in [
        format!("WXMP_WECHAT_API_BASE={wechat}"),
        format!("WXMP_PAY_API_BASE={pay}"),
        format!("mch_id: {}", wxmp::dev::fake_pay::MCH_ID),
        format!("pay_cert_serial: {}", wxmp::dev::fake_pay::MERCHANT_SERIAL),
        format!("pay_api_v3_key: {}", wxmp::dev::fake_pay::API_V3_KEY),
        format!("pay_public_key_id: {}", wxmp::dev::fake_pay::PUB_KEY_ID),
        "-----BEGIN PRIVATE KEY-----".to_string(),
        "-----BEGIN PUBLIC KEY-----".to_string(),
    ] {
        assert!(
            stdout.contains(&expected),
            "{expected} missing from:\n{stdout}"
        );
    }
}
