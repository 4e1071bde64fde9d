//! Interoperability with an independent implementation of WeChat's callback
//! protocol: `wechatpy` (PyPI) encrypts and signs the request as WeChat does,
//! and decrypts and verifies wxmp's encrypted reply.

use crate::helpers::TestApp;
use crate::wechat::{Peer, AES_KEY, TOKEN};
use serde_json::{json, Value};

fn run_wechatpy(args: Vec<String>) -> Value {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/interop/wechatpy_peer.py"
    );
    let output = std::process::Command::new("python3")
        .arg(script)
        .args(args)
        .output()
        .expect("python3 runs (install it, and `pip install wechatpy cryptography`: scripts/services does)");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "wechatpy peer failed (is `wechatpy` installed? scripts/services installs it): {stderr}"
    );
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(&output.stdout)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wechatpy_as_wechat_talks_to_wxmp_in_aes_mode() {
    let app = TestApp::spawn().await;
    let peer = Peer::create(&app, "wxinterop0000001", 2).await;
    app.seed(&peer.account_id)
        .rule(json!({"keyword": "互通", "match_type": 2, "content": "wechatpy 你好 ✅"}))
        .await;
    let url = app.url(&format!(
        "/wechat/official_account/callback/{}",
        peer.app_id
    ));
    let args = [
        url.as_str(),
        TOKEN,
        AES_KEY,
        &peer.app_id,
        &peer.original_id,
        "o_interop",
        "测试互通",
        "9001",
    ]
    .map(String::from)
    .to_vec();
    // The server runs on this runtime; the peer blocks, so it gets its own thread.
    let result = tokio::task::spawn_blocking(move || run_wechatpy(args))
        .await
        .unwrap();
    assert_eq!(result["status"], 200, "{result}");
    assert_eq!(result["type"], "text", "{result}");
    assert_eq!(result["content"], "wechatpy 你好 ✅");
    assert_eq!(result["to"], "o_interop");
    assert_eq!(result["from"], peer.original_id);

    let (_, stored) = app
        .get(&format!(
            "/wechat/wxmessages/list?account_id={}&direction=1",
            peer.account_id
        ))
        .await;
    assert_eq!(stored["data"]["list"][0]["content"], "测试互通");
    assert_eq!(stored["data"]["list"][0]["msg_id"], "9001");
}
