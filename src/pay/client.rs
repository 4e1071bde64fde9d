//! The WeChat Pay API v3 client: signs every request as the merchant and
//! verifies every response's signature before anything in it is trusted.
//! Platform certificates are downloaded (and decrypted with the APIv3 key)
//! when the merchant uses them.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::Method;
use sea_orm::{ActiveValue, DatabaseConnection, EntityTrait};
use serde_json::{json, Value};

use super::crypto::{self, MerchantSigner, SignedHeaders, Verifier, VerifyError};
use crate::entity::accounts;
use crate::error::AppError;

/// An account's WeChat Pay settings, parsed and ready to sign and verify.
/// Its `Debug` shows no secret.
#[derive(Clone)]
pub struct PayAccount {
    pub account_id: i64,
    pub app_id: String,
    pub mch_id: String,
    api_v3_key: Vec<u8>,
    pub signer: MerchantSigner,
    pub verifier: Verifier,
    /// The merchant verifies with platform certificates (it has some, or it
    /// has no WeChat Pay public key), so they are downloaded when missing.
    pub uses_certificates: bool,
}

impl std::fmt::Debug for PayAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PayAccount")
            .field("account_id", &self.account_id)
            .field("mch_id", &self.mch_id)
            .field("signer", &self.signer)
            .field("verifier", &self.verifier)
            .finish_non_exhaustive()
    }
}

/// One stored platform certificate (`wx_accounts.pay_platform_certs` is a list of these).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct StoredCertificate {
    pub serial_no: String,
    pub effective_time: String,
    pub expire_time: String,
    /// PEM.
    pub certificate: String,
}

impl PayAccount {
    /// Parses the pay settings of `account`; a 409 names what is missing.
    pub fn from_model(account: &accounts::Model) -> Result<Self, AppError> {
        let mut missing = Vec::new();
        for (name, value) in [
            ("mch_id", &account.mch_id),
            ("pay_api_v3_key", &account.pay_api_v3_key),
            ("pay_cert_serial", &account.pay_cert_serial),
            ("pay_private_key", &account.pay_private_key),
        ] {
            if value.trim().is_empty() {
                missing.push(name);
            }
        }
        if !missing.is_empty() {
            return Err(AppError::Conflict(format!(
                "account {} is not set up for WeChat Pay: {} missing",
                account.id,
                missing.join(", ")
            )));
        }
        let broken = |field: &str, e: &dyn std::fmt::Display| {
            AppError::Conflict(format!(
                "account {}: {field} cannot be used: {e}",
                account.id
            ))
        };
        let signer = MerchantSigner::new(
            &account.mch_id,
            &account.pay_cert_serial,
            &account.pay_private_key,
        )
        .map_err(|e| broken("pay_private_key", &e))?;
        if account.pay_api_v3_key.len() != crypto::API_V3_KEY_LEN {
            return Err(broken("pay_api_v3_key", &"must be 32 bytes"));
        }
        let mut verifier = Verifier::default();
        if !account.pay_public_key.trim().is_empty() {
            let key = crypto::parse_public_key(&account.pay_public_key)
                .map_err(|e| broken("pay_public_key", &e))?;
            if account.pay_public_key_id.is_empty() {
                return Err(broken(
                    "pay_public_key_id",
                    &"is required with pay_public_key",
                ));
            }
            verifier.add(&account.pay_public_key_id, key);
        }
        let stored = stored_certificates(account);
        let now = chrono::Utc::now().timestamp();
        for cert in &stored {
            match crypto::parse_certificate(&cert.certificate) {
                Ok(info) if info.not_after >= now => verifier.add(&cert.serial_no, info.public_key),
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(account_id = account.id, serial = %cert.serial_no, error = %e, "stored platform certificate unusable")
                }
            }
        }
        Ok(Self {
            account_id: account.id,
            app_id: account.app_id.clone(),
            mch_id: account.mch_id.clone(),
            api_v3_key: account.pay_api_v3_key.as_bytes().to_vec(),
            signer,
            uses_certificates: !stored.is_empty() || account.pay_public_key.trim().is_empty(),
            verifier,
        })
    }

    pub fn api_v3_key(&self) -> &[u8] {
        &self.api_v3_key
    }
}

pub fn stored_certificates(account: &accounts::Model) -> Vec<StoredCertificate> {
    account
        .pay_platform_certs
        .as_ref()
        .and_then(|v| serde_json::from_value(v.clone()).ok())
        .unwrap_or_default()
}

/// What went wrong talking to WeChat Pay.
#[derive(Debug, thiserror::Error)]
pub enum PayError {
    /// No verified answer: the outcome at WeChat is unknown.
    #[error("no trustworthy answer from WeChat Pay: {0}")]
    Unknown(String),
    /// WeChat Pay answered, signed, with an error.
    #[error("WeChat Pay refused ({status}): {code}: {message}")]
    Rejected {
        status: u16,
        code: String,
        message: String,
    },
}

impl From<PayError> for AppError {
    fn from(error: PayError) -> Self {
        match error {
            PayError::Unknown(_) => AppError::Unavailable(error.to_string()),
            PayError::Rejected { .. } => AppError::Conflict(error.to_string()),
        }
    }
}

/// WeChat Pay over HTTP: one connection pool, the base URL, and when each
/// account last downloaded platform certificates (not more than once per
/// [`REFRESH_INTERVAL`] unless forced: unknown serials are cheap to send).
pub struct PayClient {
    http: reqwest::Client,
    base: String,
    db: DatabaseConnection,
    last_refresh: Mutex<HashMap<i64, Instant>>,
}

struct RawResponse {
    status: u16,
    headers: Result<SignedHeaders, VerifyError>,
    body: Vec<u8>,
}

async fn send(
    http: &reqwest::Client,
    base: &str,
    account: &PayAccount,
    method: Method,
    path_and_query: &str,
    body: Option<&Value>,
) -> Result<RawResponse, PayError> {
    let body_text = body.map(Value::to_string).unwrap_or_default();
    let timestamp = chrono::Utc::now().timestamp();
    let nonce = crypto::nonce();
    let authorization = account.signer.authorization(
        method.as_str(),
        path_and_query,
        &body_text,
        timestamp,
        &nonce,
    );
    let mut request = http
        .request(
            method,
            format!("{}{path_and_query}", base.trim_end_matches('/')),
        )
        .header("Authorization", authorization)
        .header("Accept", "application/json");
    if body.is_some() {
        request = request
            .header("Content-Type", "application/json")
            .body(body_text);
    }
    let response = request
        .send()
        .await
        .map_err(|e| PayError::Unknown(format!("request failed: {e}")))?;
    let status = response.status().as_u16();
    let headers = SignedHeaders::from_headers(response.headers());
    let body = response
        .bytes()
        .await
        .map_err(|e| PayError::Unknown(format!("reading the answer failed: {e}")))?
        .to_vec();
    Ok(RawResponse {
        status,
        headers,
        body,
    })
}

fn interpret(raw: RawResponse) -> Result<Value, PayError> {
    let value: Value = if raw.body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&raw.body)
            .map_err(|e| PayError::Unknown(format!("answer is not JSON: {e}")))?
    };
    if (200..300).contains(&raw.status) {
        return Ok(value);
    }
    if raw.status >= 500 {
        return Err(PayError::Unknown(format!(
            "WeChat Pay answered {}: {}",
            raw.status,
            value["message"].as_str().unwrap_or("")
        )));
    }
    Err(PayError::Rejected {
        status: raw.status,
        code: value["code"].as_str().unwrap_or("UNKNOWN").to_string(),
        message: value["message"].as_str().unwrap_or("").to_string(),
    })
}

const REFRESH_INTERVAL: Duration = Duration::from_secs(30);

impl PayClient {
    pub fn new(base: &str, db: DatabaseConnection) -> Self {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(15))
            .user_agent(concat!("wxmp/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_default();
        Self {
            http,
            base: base.trim_end_matches('/').to_string(),
            db,
            last_refresh: Mutex::new(HashMap::new()),
        }
    }

    /// Calls WeChat Pay as `account`: a signed request, a verified answer. An
    /// answer signed by a platform certificate wxmp does not have yet makes it
    /// download the certificates once and verify again.
    pub async fn call(
        &self,
        account: &mut PayAccount,
        method: Method,
        path_and_query: &str,
        body: Option<&Value>,
    ) -> Result<Value, PayError> {
        if account.uses_certificates && account.verifier.is_empty() {
            self.refresh_certificates(account, false).await?;
        }
        let raw = send(
            &self.http,
            &self.base,
            account,
            method,
            path_and_query,
            body,
        )
        .await?;
        let headers = raw
            .headers
            .clone()
            .map_err(|e| PayError::Unknown(format!("unsigned answer ({}): {e}", raw.status)))?;
        let now = chrono::Utc::now().timestamp();
        match account.verifier.verify(&headers, &raw.body, now) {
            Ok(()) => {}
            Err(VerifyError::UnknownSerial(_)) if account.uses_certificates => {
                self.refresh_certificates(account, false).await?;
                account
                    .verifier
                    .verify(&headers, &raw.body, now)
                    .map_err(|e| PayError::Unknown(format!("answer not verified: {e}")))?;
            }
            Err(e) => return Err(PayError::Unknown(format!("answer not verified: {e}"))),
        }
        interpret(raw)
    }

    /// Downloads the platform certificates (`GET /v3/certificates`), decrypts
    /// them with the APIv3 key, verifies the answer, stores them on the account
    /// and adds them to `account.verifier`. Returns the serials now stored.
    pub async fn refresh_certificates(
        &self,
        account: &mut PayAccount,
        force: bool,
    ) -> Result<Vec<String>, PayError> {
        {
            let mut last = self.last_refresh.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(at) = last.get(&account.account_id) {
                if !force && at.elapsed() < REFRESH_INTERVAL {
                    return Err(PayError::Unknown(
                        "platform certificates were refreshed moments ago; the signing serial is still unknown".into(),
                    ));
                }
            }
            last.insert(account.account_id, Instant::now());
        }
        let raw = send(
            &self.http,
            &self.base,
            account,
            Method::GET,
            "/v3/certificates",
            None,
        )
        .await?;
        let headers = raw
            .headers
            .clone()
            .map_err(|e| PayError::Unknown(format!("unsigned certificate list: {e}")))?;
        let body = raw.body.clone();
        let listing = interpret(raw)?;
        let mut fresh = Vec::new();
        let mut verifier = account.verifier.clone();
        for item in listing["data"].as_array().cloned().unwrap_or_default() {
            let serial_no = item["serial_no"].as_str().unwrap_or_default().to_string();
            let sealed = &item["encrypt_certificate"];
            let pem = crypto::decrypt_resource(
                account.api_v3_key(),
                sealed["algorithm"].as_str().unwrap_or_default(),
                sealed["nonce"].as_str().unwrap_or_default(),
                sealed["associated_data"].as_str().unwrap_or_default(),
                sealed["ciphertext"].as_str().unwrap_or_default(),
            )
            .map_err(|e| PayError::Unknown(format!("certificate {serial_no}: {e}")))?;
            let pem = String::from_utf8(pem)
                .map_err(|_| PayError::Unknown(format!("certificate {serial_no} is not text")))?;
            let info = crypto::parse_certificate(&pem)
                .map_err(|e| PayError::Unknown(format!("certificate {serial_no}: {e}")))?;
            if info.serial_no != serial_no {
                return Err(PayError::Unknown(format!(
                    "certificate listed as {serial_no} has serial {}",
                    info.serial_no
                )));
            }
            verifier.add(&serial_no, info.public_key.clone());
            fresh.push(StoredCertificate {
                serial_no,
                effective_time: item["effective_time"].as_str().unwrap_or_default().into(),
                expire_time: item["expire_time"].as_str().unwrap_or_default().into(),
                certificate: pem,
            });
        }
        // The listing came sealed with the APIv3 key, so its certificates may
        // vouch for the answer that carried them.
        verifier
            .verify(&headers, &body, chrono::Utc::now().timestamp())
            .map_err(|e| PayError::Unknown(format!("certificate list not verified: {e}")))?;
        let serials: Vec<String> = fresh.iter().map(|c| c.serial_no.clone()).collect();
        accounts::Entity::update(accounts::ActiveModel {
            id: ActiveValue::Unchanged(account.account_id),
            pay_platform_certs: ActiveValue::Set(Some(json!(fresh))),
            updated_at: ActiveValue::Set(crate::db::now()),
            ..Default::default()
        })
        .exec(&self.db)
        .await
        .map_err(|e| PayError::Unknown(format!("storing certificates: {e}")))?;
        account.verifier = verifier;
        account.uses_certificates = true;
        tracing::info!(
            account_id = account.account_id,
            ?serials,
            "platform certificates refreshed"
        );
        Ok(serials)
    }
}
