//! Secrets never reach the log: the binary runs a day's work at debug level
//! (sign-ins, an account with all its secrets, encrypted callbacks, WeChat
//! API calls with a token, refused requests), and its whole output is
//! searched for every secret it was given or made.

use crate::helpers::KillOnDrop;
use reqwest::StatusCode;
use serde_json::{json, Value};
use wxmp::dev::fake_wechat::FakeWeChat;
use wxmp::wechat::{signature, MessageCrypto};

const APP_ID: &str = "wxsecretlog00001";
const APP_SECRET: &str = "SECRETappsecret0123456789abcdef0";
const TOKEN: &str = "SECRETcallbacktoken42";
const AES_KEY: &str = "SECRETabcdefghijklmnopqrstuvwxyz0123456789X";
const JWT_SECRET: &str = "SECRET-jwt-signing-key-0123456789";
const ADMIN_PASSWORD: &str = "SECRET-admin-password-1";
const WRONG_PASSWORD: &str = "SECRET-wrong-guess-1";
const PAY_KEY: &str = "SECRETpayapiv3key0123456789abcde";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_appears_in_the_log_of_a_working_server() {
    let fake = FakeWeChat::new(&[(APP_ID, APP_SECRET)]);
    let wechat = fake.start("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_wxmp"))
        .current_dir(dir.path())
        .env("WXMP_LISTEN", format!("127.0.0.1:{port}"))
        .env("WXMP_LOG", "debug")
        .env("WXMP_JWT_SECRET", JWT_SECRET)
        .env("WXMP_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("WXMP_WECHAT_API_BASE", format!("http://{wechat}"))
        .env_remove("WXMP_DATABASE_URL")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut server = KillOnDrop(Some(child));
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let mut ready = false;
    for _ in 0..200 {
        if client.get(format!("{base}/readyz")).send().await.is_ok() {
            ready = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(ready, "the server did not become ready");

    let login = |password: &'static str| {
        client
            .post(format!("{base}/auth/login"))
            .json(&json!({"username": "admin", "password": password}))
            .send()
    };
    assert_eq!(
        login(WRONG_PASSWORD).await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    let signed_in: Value = login(ADMIN_PASSWORD).await.unwrap().json().await.unwrap();
    let jwt = signed_in["data"]["token"].as_str().unwrap().to_string();
    let admin = |method: reqwest::Method, path: &str, body: Value| {
        client
            .request(method, format!("{base}{path}"))
            .bearer_auth(&jwt)
            .json(&body)
            .send()
    };
    let added: Value = admin(
        reqwest::Method::POST,
        "/wechat/wxaccounts/add",
        json!({"account_name": "日志", "app_id": APP_ID, "app_secret": APP_SECRET,
               "original_id": "gh_secretlog01", "token": TOKEN, "encoding_aes_key": AES_KEY,
               "message_mode": 2, "pay_api_v3_key": PAY_KEY}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let account_id = added["data"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{added}"))
        .to_string();
    // A bad edit (its error names the field, not the value) and WeChat calls.
    admin(
        reqwest::Method::PUT,
        "/wechat/wxaccounts/edit",
        json!({"id": account_id, "encoding_aes_key": format!("{AES_KEY}!")}),
    )
    .await
    .unwrap();
    for _ in 0..2 {
        admin(
            reqwest::Method::POST,
            "/wechat/wxmenus/delete_remote_menu",
            json!({"account_id": account_id}),
        )
        .await
        .unwrap();
        fake.revoke_tokens();
    }
    let access_tokens: Vec<String> = fake
        .recorded()
        .iter()
        .filter_map(|r| r.query.get("access_token").cloned())
        .collect();
    assert!(!access_tokens.is_empty());

    // Encrypted callbacks: a good one, one with a bad signature, one broken.
    let crypto = MessageCrypto::new(AES_KEY, APP_ID).unwrap();
    let message = "<xml><ToUserName>gh_secretlog01</ToUserName><FromUserName>o_log</FromUserName>\
        <CreateTime>1700000000</CreateTime><MsgType>text</MsgType><Content>hi</Content><MsgId>1</MsgId></xml>";
    let encrypted = crypto.encrypt(message);
    let timestamp = chrono::Utc::now().timestamp().to_string();
    for (encrypt, msg_signature) in [
        (
            encrypted.clone(),
            signature::sign(&[TOKEN, &timestamp, "n", &encrypted]),
        ),
        (encrypted.clone(), "0".repeat(40)),
        (
            "AAAA".to_string(),
            signature::sign(&[TOKEN, &timestamp, "n", "AAAA"]),
        ),
    ] {
        let url = format!(
            "{base}/wechat/official_account/callback/{APP_ID}?signature={}&timestamp={timestamp}&nonce=n&encrypt_type=aes&msg_signature={msg_signature}",
            signature::sign(&[TOKEN, &timestamp, "n"])
        );
        client
            .post(url)
            .body(format!("<xml><ToUserName>gh_secretlog01</ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"))
            .send()
            .await
            .unwrap();
    }

    let child = server.0.take().unwrap();
    let pid = child.id().to_string();
    std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    let output = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        log.contains("callback refused"),
        "the log was captured: {log}"
    );
    let mut secrets = vec![
        APP_SECRET.to_string(),
        TOKEN.to_string(),
        AES_KEY.to_string(),
        JWT_SECRET.to_string(),
        ADMIN_PASSWORD.to_string(),
        WRONG_PASSWORD.to_string(),
        PAY_KEY.to_string(),
        jwt,
    ];
    secrets.extend(access_tokens);
    for secret in secrets {
        assert!(!log.contains(&secret), "{secret} is in the log");
    }
    assert!(!log.contains("SECRET"), "no part of a secret either");
}
