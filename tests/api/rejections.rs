//! Requests the server cannot even read (a bad query string, path or
//! multipart form) are refused with the JSON envelope and a message naming
//! the problem, like every other error: never axum's plain text.

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::helpers::TestApp;

/// Sends a raw request and asserts the answer is a 400 envelope whose
/// message contains `needle`.
async fn assert_refused(request: reqwest::RequestBuilder, needle: &str) {
    let response = request.send().await.expect("answered");
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let text = response.text().await.unwrap();
    assert_eq!(status, StatusCode::BAD_REQUEST, "{text}");
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}: {text}"
    );
    let body: Value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"));
    assert_eq!(body["code"], 400, "{body}");
    assert!(body["data"].is_null(), "{body}");
    let msg = body["msg"].as_str().unwrap();
    assert!(msg.contains(needle), "{msg:?} should name {needle:?}");
}

#[tokio::test]
async fn a_missing_query_parameter_is_an_envelope_naming_it() {
    let app = TestApp::spawn().await;
    let request = app
        .client
        .delete(app.url("/wechat/admins/del"))
        .bearer_auth(&app.token);
    assert_refused(request, "id").await;
}

#[tokio::test]
async fn a_query_parameter_of_the_wrong_type_is_an_envelope_naming_it() {
    let app = TestApp::spawn().await;
    let request = app
        .client
        .get(app.url("/wechat/admins/list?page=many"))
        .bearer_auth(&app.token);
    assert_refused(request, "bad query string").await;
}

#[tokio::test]
async fn a_callback_with_a_repeated_signature_is_an_envelope() {
    let app = TestApp::spawn().await;
    let request = app
        .client
        .get(app.url("/wechat/official_account/callback?signature=a&signature=b&echostr=x"));
    assert_refused(request, "signature").await;
}

#[tokio::test]
async fn a_path_that_is_not_utf8_is_an_envelope() {
    let app = TestApp::spawn().await;
    let request = app
        .client
        .get(app.url("/wechat/files/media/%FF%FE.jpg"))
        .bearer_auth(&app.token);
    assert_refused(request, "bad path").await;
}

#[tokio::test]
async fn an_upload_that_is_not_multipart_is_an_envelope() {
    let app = TestApp::spawn().await;
    let request = app
        .client
        .post(app.url("/wechat/wxmaterials/upload_file"))
        .bearer_auth(&app.token)
        .json(&serde_json::json!({"file": "not a form"}));
    assert_refused(request, "multipart/form-data").await;
}

#[tokio::test]
async fn a_multipart_body_cut_short_is_an_envelope() {
    let app = TestApp::spawn().await;
    let request = app
        .client
        .post(app.url("/wechat/wxmaterials/upload_file"))
        .bearer_auth(&app.token)
        .header("content-type", "multipart/form-data; boundary=XYZ")
        .body(
            "--XYZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.jpg\"\r\n\r\nabc",
        );
    assert_refused(request, "multipart").await;
}

#[tokio::test]
async fn a_pay_notification_for_a_path_that_is_not_utf8_is_refused_in_wechat_pays_form() {
    let app = TestApp::spawn().await;
    let (status, body) = app
        .send(Method::POST, "/wechat/wxpay/notify/%FF", None, None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(body["code"], "FAIL", "{body}");
}
