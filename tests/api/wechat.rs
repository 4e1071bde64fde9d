//! WeChat's side of the callback, for tests: builds messages, signs and (in
//! AES mode) encrypts them as WeChat does, and opens the replies.

use reqwest::StatusCode;
use serde_json::json;
use wxmp::wechat::{signature, xml, MessageCrypto};

use crate::helpers::TestApp;

pub const TOKEN: &str = "callbacktoken";
pub const AES_KEY: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";

/// One account as WeChat knows it.
#[derive(Clone)]
pub struct Peer {
    pub account_id: String,
    pub app_id: String,
    pub original_id: String,
    pub mode: i16,
    pub crypto: MessageCrypto,
}

/// What came back.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub body: String,
    /// The reply document, decrypted and verified when it was encrypted.
    pub reply: Option<xml::Fields>,
    pub encrypted: bool,
}

impl Peer {
    /// Adds an account in `mode` (0 plaintext, 1 compatible, 2 AES).
    pub async fn create(app: &TestApp, app_id: &str, mode: i16) -> Self {
        let original_id = format!("gh_{app_id}");
        let account = app
            .add(
                "/wechat/wxaccounts/add",
                json!({
                    "app_id": app_id, "account_name": format!("公众号 {app_id}"), "original_id": original_id,
                    "token": TOKEN, "encoding_aes_key": AES_KEY, "message_mode": mode,
                }),
            )
            .await;
        Peer {
            account_id: account["id"].as_str().unwrap().to_string(),
            app_id: app_id.into(),
            original_id,
            mode,
            crypto: MessageCrypto::new(AES_KEY, app_id).unwrap(),
        }
    }

    pub fn text(&self, openid: &str, content: &str, msg_id: i64) -> String {
        self.message(openid, &format!("<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId>"))
    }

    pub fn event(&self, openid: &str, event: &str, key: &str, create_time: i64) -> String {
        format!(
            "<xml><ToUserName><![CDATA[{}]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>\
             <CreateTime>{create_time}</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[{event}]]></Event>\
             <EventKey><![CDATA[{key}]]></EventKey></xml>",
            self.original_id
        )
    }

    /// A message with the common header and `body`.
    pub fn message(&self, openid: &str, body: &str) -> String {
        format!(
            "<xml><ToUserName><![CDATA[{}]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>\
             <CreateTime>{}</CreateTime>{body}</xml>",
            self.original_id,
            chrono::Utc::now().timestamp()
        )
    }

    /// Sends `message` as WeChat would for this account's mode (encrypted in
    /// modes 1 and 2) to `/callback/{app_id}`.
    pub async fn send(&self, app: &TestApp, message: &str) -> Answer {
        self.send_as(app, message, self.mode != 0, true).await
    }

    /// Sends, choosing encryption and whether the URL names the account.
    pub async fn send_as(
        &self,
        app: &TestApp,
        message: &str,
        encrypt: bool,
        with_app_id: bool,
    ) -> Answer {
        let timestamp = chrono::Utc::now().timestamp().to_string();
        let nonce = format!("{}", rand::random::<u32>());
        let mut url = if with_app_id {
            app.url(&format!(
                "/wechat/official_account/callback/{}",
                self.app_id
            ))
        } else {
            app.url("/wechat/official_account/callback")
        };
        let signature = signature::sign(&[TOKEN, &timestamp, &nonce]);
        url.push_str(&format!(
            "?signature={signature}&timestamp={timestamp}&nonce={nonce}&openid=o"
        ));
        let body = if encrypt {
            let encrypted = self.crypto.encrypt(message);
            let msg_signature = signature::sign(&[TOKEN, &timestamp, &nonce, &encrypted]);
            url.push_str(&format!("&encrypt_type=aes&msg_signature={msg_signature}"));
            if self.mode == 1 {
                // Compatible mode: plaintext fields and the encrypted copy.
                message.replacen(
                    "</xml>",
                    &format!("<Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"),
                    1,
                )
            } else {
                format!("<xml><ToUserName><![CDATA[{}]]></ToUserName><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>", self.original_id)
            }
        } else {
            message.to_string()
        };
        self.post_raw(app, &url, body).await
    }

    pub async fn post_raw(&self, app: &TestApp, url: &str, body: String) -> Answer {
        let response = app
            .client
            .post(url)
            .body(body)
            .send()
            .await
            .expect("answered");
        let status = response.status();
        let body = response.text().await.unwrap();
        let (reply, encrypted) = self.open(&body);
        Answer {
            status,
            body,
            reply,
            encrypted,
        }
    }

    /// Parses a reply body; an encrypted one must carry a valid MsgSignature.
    pub fn open(&self, body: &str) -> (Option<xml::Fields>, bool) {
        if !body.starts_with("<xml>") {
            return (None, false);
        }
        let outer = xml::parse(body).expect("reply is XML");
        match outer.get("Encrypt") {
            Some(encrypted) => {
                let timestamp = outer.get("TimeStamp").expect("TimeStamp");
                let nonce = outer.get("Nonce").expect("Nonce");
                let given = outer.get("MsgSignature").expect("MsgSignature");
                assert_eq!(
                    given,
                    signature::sign(&[TOKEN, timestamp, nonce, encrypted]),
                    "reply MsgSignature"
                );
                let inner = self.crypto.decrypt(encrypted).expect("reply decrypts");
                (Some(xml::parse(&inner).unwrap()), true)
            }
            None => (Some(outer), false),
        }
    }
}
