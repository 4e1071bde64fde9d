//! `wxmp simulate`: plays WeChat against a running server, so rules and
//! plugins can be tried without WeChat. Builds the message, signs it (and
//! encrypts it for compatible and AES accounts), posts it, and opens the reply.

use crate::wechat::{signature, xml, MessageCrypto, SampleMessage};

/// What to send, and to whom.
#[derive(Clone, Debug)]
pub struct Simulation {
    /// Server base URL, e.g. `http://127.0.0.1:8080`.
    pub server: String,
    pub app_id: String,
    pub token: String,
    pub encoding_aes_key: String,
    /// 0 plaintext, 1 compatible, 2 AES.
    pub mode: i16,
    /// The account's original id (`gh_…`); the app id when unknown.
    pub original_id: String,
    /// The fan's openid.
    pub from: String,
    pub message: SampleMessage,
}

/// The answer, opened.
#[derive(Debug)]
pub struct SimulationResult {
    pub status: u16,
    /// The message as sent (before encryption).
    pub sent: String,
    /// `success` / empty for no reply, else the reply document, decrypted.
    pub reply: String,
    pub encrypted: bool,
}

impl Simulation {
    pub fn message_xml(&self, now: i64) -> String {
        self.message.to_xml(&self.original_id, &self.from, now)
    }

    pub async fn run(&self) -> anyhow::Result<SimulationResult> {
        let now = chrono::Utc::now().timestamp();
        let timestamp = now.to_string();
        let nonce = format!("sim{}", rand::random::<u32>());
        let sent = self.message_xml(now);
        let crypto = if self.mode == 0 {
            None
        } else {
            Some(
                MessageCrypto::new(&self.encoding_aes_key, &self.app_id)
                    .map_err(|e| anyhow::anyhow!("--aes-key: {e}"))?,
            )
        };
        let mut url = format!(
            "{}/wechat/official_account/callback/{}?signature={}&timestamp={timestamp}&nonce={nonce}&openid={}",
            self.server.trim_end_matches('/'),
            self.app_id,
            signature::sign(&[&self.token, &timestamp, &nonce]),
            self.from
        );
        let body = match &crypto {
            Some(crypto) => {
                let encrypted = crypto.encrypt(&sent);
                let msg_signature = signature::sign(&[&self.token, &timestamp, &nonce, &encrypted]);
                url.push_str(&format!("&encrypt_type=aes&msg_signature={msg_signature}"));
                format!(
                    "<xml><ToUserName>{}</ToUserName><Encrypt>{}</Encrypt></xml>",
                    crate::wechat::reply::cdata(&self.original_id),
                    crate::wechat::reply::cdata(&encrypted)
                )
            }
            None => sent.clone(),
        };
        let response = reqwest::Client::new()
            .post(&url)
            .header("content-type", "text/xml")
            .body(body)
            .send()
            .await
            .map_err(|e| anyhow::anyhow!("cannot reach {}: {e}", self.server))?;
        let status = response.status().as_u16();
        let text = response.text().await?;
        let (reply, encrypted) = self.open_reply(crypto.as_ref(), &text)?;
        Ok(SimulationResult {
            status,
            sent,
            reply,
            encrypted,
        })
    }

    /// Verifies and decrypts an encrypted reply; returns other bodies as they are.
    fn open_reply(
        &self,
        crypto: Option<&MessageCrypto>,
        body: &str,
    ) -> anyhow::Result<(String, bool)> {
        let Ok(outer) = xml::parse(body) else {
            return Ok((body.to_string(), false));
        };
        let (Some(encrypted), Some(crypto)) = (outer.get("Encrypt"), crypto) else {
            return Ok((body.to_string(), false));
        };
        let given = outer.text("MsgSignature");
        let expected = signature::sign(&[
            &self.token,
            &outer.text("TimeStamp"),
            &outer.text("Nonce"),
            encrypted,
        ]);
        if !signature::constant_time_eq(given.as_bytes(), expected.as_bytes()) {
            anyhow::bail!("the reply's MsgSignature does not verify");
        }
        Ok((crypto.decrypt(encrypted)?, true))
    }
}
