//! What WeChat web pages need from the API: jsapi tickets and the JS-SDK
//! signature, and OAuth web authorization (code → openid, user info).

use std::collections::HashMap;
use std::sync::Mutex;

use reqwest::Method;
use serde_json::Value;

use super::{Body, WxApi, WxError};
use crate::entity::accounts;

/// Where fans authorize (a browser URL, not an API).
pub const OAUTH_AUTHORIZE: &str = "https://open.weixin.qq.com/connect/oauth2/authorize";

fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The URL a web page sends the fan to for OAuth (`scope` snsapi_base or
/// snsapi_userinfo); WeChat sends the fan back to `redirect_uri` with a code.
pub fn authorize_url(app_id: &str, redirect_uri: &str, scope: &str, state: &str) -> String {
    format!(
        "{OAUTH_AUTHORIZE}?appid={app_id}&redirect_uri={}&response_type=code&scope={scope}&state={state}#wechat_redirect",
        encode(redirect_uri)
    )
}

/// `sha1("jsapi_ticket=…&noncestr=…&timestamp=…&url=…")`, hex.
pub fn jssdk_signature(ticket: &str, nonce: &str, timestamp: i64, url: &str) -> String {
    use sha1::{Digest, Sha1};
    let plain = format!("jsapi_ticket={ticket}&noncestr={nonce}&timestamp={timestamp}&url={url}");
    crate::wechat::signature::hex(&Sha1::digest(plain.as_bytes()))
}

/// jsapi tickets: shared like tokens (one fetch at a time, refreshed early).
#[derive(Default)]
pub struct Tickets {
    cached: Mutex<HashMap<i64, (String, chrono::DateTime<chrono::Utc>)>>,
    fetching: tokio::sync::Mutex<()>,
}

impl WxApi {
    pub async fn jsapi_ticket(&self, account: &accounts::Model) -> Result<String, WxError> {
        let fresh = |tickets: &Tickets| {
            tickets
                .cached
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get(&account.id)
                .filter(|(_, expires)| *expires - super::REFRESH_MARGIN > chrono::Utc::now())
                .map(|(ticket, _)| ticket.clone())
        };
        if let Some(ticket) = fresh(&self.tickets) {
            return Ok(ticket);
        }
        let _one_fetch = self.tickets.fetching.lock().await;
        if let Some(ticket) = fresh(&self.tickets) {
            return Ok(ticket);
        }
        let answer = self
            .call(
                account,
                Method::GET,
                "/cgi-bin/ticket/getticket",
                &[("type", "jsapi".into())],
                Body::Empty,
            )
            .await?;
        let ticket = answer["ticket"].as_str().unwrap_or_default().to_string();
        if ticket.is_empty() {
            return Err(WxError::BadResponse("getticket returned no ticket".into()));
        }
        let expires = chrono::Utc::now()
            + chrono::Duration::seconds(answer["expires_in"].as_i64().unwrap_or(7200));
        self.tickets
            .cached
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(account.id, (ticket.clone(), expires));
        Ok(ticket)
    }

    /// `sns/oauth2/access_token`: code → openid (and a web access token).
    pub async fn oauth_exchange(
        &self,
        account: &accounts::Model,
        code: &str,
    ) -> Result<Value, WxError> {
        if account.app_secret.is_empty() {
            return Err(WxError::NotConfigured(format!(
                "account {} has no AppSecret",
                account.app_id
            )));
        }
        let query = [
            ("appid", account.app_id.clone()),
            ("secret", account.app_secret.clone()),
            ("code", code.to_string()),
            ("grant_type", "authorization_code".to_string()),
        ];
        self.send_once(
            Method::GET,
            "/sns/oauth2/access_token",
            &query,
            &Body::Empty,
        )
        .await
    }

    pub async fn oauth_userinfo(&self, web_token: &str, openid: &str) -> Result<Value, WxError> {
        let query = [
            ("access_token", web_token.to_string()),
            ("openid", openid.to_string()),
            ("lang", "zh_CN".to_string()),
        ];
        self.send_once(Method::GET, "/sns/userinfo", &query, &Body::Empty)
            .await
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn jssdk_signature_follows_the_documented_string() {
        // printf 'jsapi_ticket=T&noncestr=N&timestamp=1&url=https://a.example/p?x=1' | sha1sum
        assert_eq!(
            super::jssdk_signature("T", "N", 1, "https://a.example/p?x=1"),
            "b3d60bb69e03e1ce66eea535a2c5b80be0f0043b"
        );
        assert_eq!(
            super::encode("https://a.b/c?d=1&e=你"),
            "https%3A%2F%2Fa.b%2Fc%3Fd%3D1%26e%3D%E4%BD%A0"
        );
    }
}
