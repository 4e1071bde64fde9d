//! A fake WeChat Pay API v3 on 127.0.0.1 for tests and examples. It checks
//! every request's `Authorization` signature with the merchant's public key,
//! keeps real order and refund state, signs every answer (with the "WeChat
//! Pay public key" or a platform certificate's key, per merchant), serves
//! `/v3/certificates` encrypted with the APIv3 key, and builds signed,
//! encrypted notifications to send to wxmp. It uses the `rsa`, `aes-gcm`
//! and `x509-cert` crates directly, not wxmp's own code, so it checks wxmp
//! rather than agreeing with it.
#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::str::FromStr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use rsa::pkcs1v15::{Signature, SigningKey, VerifyingKey};
use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
use rsa::sha2::Sha256;
use rsa::signature::{SignatureEncoding, Signer, Verifier};
use rsa::{RsaPrivateKey, RsaPublicKey};
use serde_json::{json, Value};

pub const MCH_ID: &str = "1900000109";
pub const APP_ID: &str = "wxpaytest0000001";
pub const MERCHANT_SERIAL: &str = "444F4864EA9B34415B7A6B0A1BD7AE12F5C4C2D3";
pub const PUB_KEY_ID: &str = "PUB_KEY_ID_0119000001092026113000000000000001";
pub const API_V3_KEY: &str = "0123456789abcdefABCDEFGHIJKLMNOP";

/// 2048-bit keys are slow to make: one set per process.
pub struct Keys {
    pub merchant: RsaPrivateKey,
    /// The "WeChat Pay public key" pair.
    pub wechat: RsaPrivateKey,
    /// The platform certificate's key pair.
    pub platform: RsaPrivateKey,
    pub certificate_pem: String,
    pub certificate_serial: String,
}

pub fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| {
        let mut rng = rand::rngs::OsRng;
        let merchant = RsaPrivateKey::new(&mut rng, 2048).expect("merchant key");
        let wechat = RsaPrivateKey::new(&mut rng, 2048).expect("WeChat Pay key");
        let platform = RsaPrivateKey::new(&mut rng, 2048).expect("platform key");
        let (certificate_pem, certificate_serial) = make_certificate(&platform);
        Keys {
            merchant,
            wechat,
            platform,
            certificate_pem,
            certificate_serial,
        }
    })
}

fn make_certificate(key: &RsaPrivateKey) -> (String, String) {
    use x509_cert::builder::{Builder, CertificateBuilder, Profile};
    use x509_cert::der::EncodePem;
    use x509_cert::name::Name;
    use x509_cert::serial_number::SerialNumber;
    use x509_cert::spki::SubjectPublicKeyInfoOwned;
    use x509_cert::time::Validity;
    let mut serial = [0u8; 20];
    rand::Rng::fill(&mut rand::rngs::OsRng, &mut serial[..]);
    serial[0] = 0x10 | (serial[0] & 0x6f);
    let serial_hex: String = serial.iter().map(|b| format!("{b:02X}")).collect();
    let signer = SigningKey::<Sha256>::new(key.clone());
    let spki = SubjectPublicKeyInfoOwned::from_key(key.to_public_key()).expect("spki");
    let builder = CertificateBuilder::new(
        Profile::Root,
        SerialNumber::new(&serial).expect("serial"),
        Validity::from_now(Duration::from_secs(5 * 365 * 86_400)).expect("validity"),
        Name::from_str("CN=Tenpay.com Fake Platform,O=Tenpay.com,C=CN").expect("name"),
        spki,
        &signer,
    )
    .expect("certificate builder");
    let cert = builder.build::<Signature>().expect("certificate");
    (cert.to_pem(LineEnding::LF).expect("PEM"), serial_hex)
}

pub fn private_pem(key: &RsaPrivateKey) -> String {
    key.to_pkcs8_pem(LineEnding::LF).expect("PEM").to_string()
}

pub fn public_pem(key: &RsaPrivateKey) -> String {
    key.to_public_key()
        .to_public_key_pem(LineEnding::LF)
        .expect("PEM")
}

/// Which key signs answers and notifications.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignWith {
    /// The WeChat Pay public key's pair, serial [`PUB_KEY_ID`].
    PublicKey,
    /// The platform certificate's key, serial = the certificate's serial.
    Certificate,
}

impl SignWith {
    pub fn serial(self) -> String {
        match self {
            SignWith::PublicKey => PUB_KEY_ID.into(),
            SignWith::Certificate => keys().certificate_serial.clone(),
        }
    }

    fn key(self) -> &'static RsaPrivateKey {
        match self {
            SignWith::PublicKey => &keys().wechat,
            SignWith::Certificate => &keys().platform,
        }
    }
}

/// Signs `TIMESTAMP\nNONCE\nBODY\n` as WeChat Pay does.
pub fn wechat_sign(with: SignWith, timestamp: &str, nonce: &str, body: &[u8]) -> String {
    let mut message = format!("{timestamp}\n{nonce}\n").into_bytes();
    message.extend_from_slice(body);
    message.push(b'\n');
    B64.encode(
        SigningKey::<Sha256>::new(with.key().clone())
            .sign(&message)
            .to_bytes(),
    )
}

pub fn encrypt(api_v3_key: &str, nonce: &str, associated_data: &str, plaintext: &[u8]) -> String {
    let cipher = Aes256Gcm::new_from_slice(api_v3_key.as_bytes()).expect("32-byte key");
    let sealed = cipher
        .encrypt(
            Nonce::from_slice(nonce.as_bytes()),
            Payload {
                msg: plaintext,
                aad: associated_data.as_bytes(),
            },
        )
        .expect("encrypt");
    B64.encode(sealed)
}

fn random_text(len: usize) -> String {
    use rand::distributions::{Alphanumeric, DistString};
    Alphanumeric.sample_string(&mut rand::rngs::OsRng, len)
}

/// One request the fake received (its signature checked or not).
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path_and_query: String,
    pub authorization: String,
    pub body: String,
    pub signature_ok: bool,
}

#[derive(Debug, Clone)]
pub struct FakeOrder {
    pub appid: String,
    pub mchid: String,
    pub out_trade_no: String,
    pub trade_type: String,
    pub total: i64,
    pub trade_state: String,
    pub transaction_id: String,
    pub notify_url: String,
    pub openid: String,
    pub success_time: String,
    pub refunded: i64,
}

#[derive(Debug, Clone)]
pub struct FakeRefund {
    pub mchid: String,
    pub out_trade_no: String,
    pub out_refund_no: String,
    pub refund_id: String,
    pub refund: i64,
    pub total: i64,
    pub status: String,
    pub notify_url: String,
}

struct Merchant {
    serial: String,
    public_key: RsaPublicKey,
    api_v3_key: String,
    sign_with: SignWith,
}

#[derive(Default)]
pub struct Inner {
    merchants: HashMap<String, Merchant>,
    pub orders: HashMap<String, FakeOrder>,
    pub refunds: HashMap<String, FakeRefund>,
    pub requests: Vec<Recorded>,
    /// Held before answering a refund (to make concurrent refunds overlap).
    pub refund_delay: Duration,
    /// Answers the next refund request with this error (status, code).
    pub refuse_next_refund: Option<(u16, String)>,
    /// Makes the next refund, then answers 500 as if the answer were lost.
    pub lose_next_refund_answer: bool,
    sequence: u64,
}

pub struct FakePay {
    pub addr: SocketAddr,
    pub inner: Arc<Mutex<Inner>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakePay {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakePay {
    /// Starts the fake with the test merchant [`MCH_ID`] registered.
    pub async fn start(sign_with: SignWith) -> Self {
        let inner = Arc::new(Mutex::new(Inner::default()));
        inner.lock().unwrap().merchants.insert(
            MCH_ID.into(),
            Merchant {
                serial: MERCHANT_SERIAL.into(),
                public_key: keys().merchant.to_public_key(),
                api_v3_key: API_V3_KEY.into(),
                sign_with,
            },
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let shared = inner.clone();
        let app = axum::Router::new().fallback(
            move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                let shared = shared.clone();
                async move { handle(shared, method, uri, headers, body).await }
            },
        );
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.ok();
        });
        Self { addr, inner, task }
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Which key signs this merchant's answers from now on.
    pub fn sign_with(&self, with: SignWith) {
        self.inner
            .lock()
            .unwrap()
            .merchants
            .get_mut(MCH_ID)
            .unwrap()
            .sign_with = with;
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.inner.lock().unwrap().requests.clone()
    }

    pub fn order(&self, out_trade_no: &str) -> Option<FakeOrder> {
        self.inner.lock().unwrap().orders.get(out_trade_no).cloned()
    }

    pub fn refund(&self, out_refund_no: &str) -> Option<FakeRefund> {
        self.inner
            .lock()
            .unwrap()
            .refunds
            .get(out_refund_no)
            .cloned()
    }

    /// The payer pays: the order becomes SUCCESS. Returns the decrypted
    /// TRANSACTION.SUCCESS resource WeChat would notify.
    pub fn pay(&self, out_trade_no: &str) -> Value {
        let mut inner = self.inner.lock().unwrap();
        inner.sequence += 1;
        let sequence = inner.sequence;
        let order = inner.orders.get_mut(out_trade_no).expect("order exists");
        assert_eq!(
            order.trade_state, "NOTPAY",
            "only unpaid orders can be paid"
        );
        order.trade_state = "SUCCESS".into();
        order.transaction_id = format!("42000000{sequence:020}");
        order.success_time = chrono::Utc::now()
            .with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).unwrap())
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, false);
        order_json(order)
    }

    /// WeChat finishes a refund: SUCCESS (or CLOSED). Returns the REFUND.* resource.
    pub fn finish_refund(&self, out_refund_no: &str, status: &str) -> Value {
        let mut inner = self.inner.lock().unwrap();
        let refund = inner.refunds.get_mut(out_refund_no).expect("refund exists");
        refund.status = status.into();
        let (out_trade_no, amount) = (refund.out_trade_no.clone(), refund.refund);
        // Notifications name it refund_status; answers name it status.
        let mut resource = refund_json(refund);
        let status_value = resource.as_object_mut().unwrap().remove("status").unwrap();
        resource["refund_status"] = status_value;
        if status == "CLOSED" {
            if let Some(order) = inner.orders.get_mut(&out_trade_no) {
                order.refunded -= amount;
            }
        }
        resource
    }

    /// A signed, encrypted notification: (headers, body).
    pub fn notification(
        &self,
        event_type: &str,
        resource: &Value,
        with: SignWith,
    ) -> (Vec<(String, String)>, String) {
        let nonce = random_text(12);
        let associated_data = if event_type.starts_with("REFUND.") {
            "refund"
        } else {
            "transaction"
        };
        let body = json!({
            "id": format!("EV-{}", random_text(20)),
            "create_time": chrono::Utc::now().to_rfc3339(),
            "resource_type": "encrypt-resource",
            "event_type": event_type,
            "summary": "支付成功",
            "resource": {
                "original_type": associated_data,
                "algorithm": "AEAD_AES_256_GCM",
                "ciphertext": encrypt(API_V3_KEY, &nonce, associated_data, resource.to_string().as_bytes()),
                "associated_data": associated_data,
                "nonce": nonce,
            }
        })
        .to_string();
        (signed_headers(with, body.as_bytes(), None), body)
    }
}

/// Wechatpay-* headers over `body` (timestamp now unless given).
pub fn signed_headers(
    with: SignWith,
    body: &[u8],
    timestamp: Option<i64>,
) -> Vec<(String, String)> {
    let timestamp = timestamp
        .unwrap_or_else(|| chrono::Utc::now().timestamp())
        .to_string();
    let nonce = random_text(32);
    let signature = wechat_sign(with, &timestamp, &nonce, body);
    vec![
        ("Wechatpay-Timestamp".into(), timestamp),
        ("Wechatpay-Nonce".into(), nonce),
        ("Wechatpay-Signature".into(), signature),
        ("Wechatpay-Serial".into(), with.serial()),
        (
            "Wechatpay-Signature-Type".into(),
            "WECHATPAY2-SHA256-RSA2048".into(),
        ),
    ]
}

fn order_json(order: &FakeOrder) -> Value {
    let mut value = json!({
        "appid": order.appid,
        "mchid": order.mchid,
        "out_trade_no": order.out_trade_no,
        "trade_type": order.trade_type,
        "trade_state": order.trade_state,
        "trade_state_desc": order.trade_state,
        "amount": { "total": order.total, "currency": "CNY" },
    });
    if !order.transaction_id.is_empty() {
        value["transaction_id"] = json!(order.transaction_id);
        value["success_time"] = json!(order.success_time);
        value["amount"]["payer_total"] = json!(order.total);
        value["payer"] = json!({ "openid": if order.openid.is_empty() { "oNativePayer" } else { &order.openid } });
    }
    value
}

fn refund_json(refund: &FakeRefund) -> Value {
    let mut value = json!({
        "mchid": refund.mchid,
        "refund_id": refund.refund_id,
        "out_refund_no": refund.out_refund_no,
        "out_trade_no": refund.out_trade_no,
        "status": refund.status,
        "amount": { "refund": refund.refund, "total": refund.total, "payer_refund": refund.refund, "currency": "CNY" },
    });
    if refund.status == "SUCCESS" {
        value["success_time"] = json!(chrono::Utc::now().to_rfc3339());
    }
    value
}

fn error(status: u16, code: &str, message: &str) -> (u16, Option<Value>) {
    (status, Some(json!({ "code": code, "message": message })))
}

/// Checks `Authorization` as WeChat Pay does; returns the merchant id.
fn check_authorization(
    inner: &Inner,
    method: &Method,
    path_and_query: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<String, String> {
    let header = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .ok_or("no Authorization")?;
    let rest = header
        .strip_prefix("WECHATPAY2-SHA256-RSA2048 ")
        .ok_or("wrong scheme")?;
    let mut fields = HashMap::new();
    for part in rest.split(',') {
        let (name, value) = part.split_once('=').ok_or("malformed field")?;
        fields.insert(name.trim(), value.trim_matches('"'));
    }
    let field = |name: &str| fields.get(name).copied().ok_or(format!("no {name}"));
    let mchid = field("mchid")?;
    let merchant = inner.merchants.get(mchid).ok_or("unknown mchid")?;
    if field("serial_no")? != merchant.serial {
        return Err("wrong serial_no".into());
    }
    let timestamp: i64 = field("timestamp")?.parse().map_err(|_| "bad timestamp")?;
    if (chrono::Utc::now().timestamp() - timestamp).abs() > 300 {
        return Err("stale timestamp".into());
    }
    let body = std::str::from_utf8(body).map_err(|_| "body not UTF-8")?;
    let message = format!(
        "{method}\n{path_and_query}\n{timestamp}\n{}\n{body}\n",
        field("nonce_str")?
    );
    let signature = B64
        .decode(field("signature")?)
        .map_err(|_| "signature not base64")?;
    VerifyingKey::<Sha256>::new(merchant.public_key.clone())
        .verify(
            message.as_bytes(),
            &Signature::try_from(signature.as_slice()).map_err(|_| "bad signature bytes")?,
        )
        .map_err(|_| "signature does not verify")?;
    Ok(mchid.to_string())
}

async fn handle(
    shared: Arc<Mutex<Inner>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path_and_query = uri
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_default();
    let (checked, delay) = {
        let mut inner = shared.lock().unwrap();
        let checked = check_authorization(&inner, &method, &path_and_query, &headers, &body);
        inner.requests.push(Recorded {
            method: method.to_string(),
            path_and_query: path_and_query.clone(),
            authorization: headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .into(),
            body: String::from_utf8_lossy(&body).into(),
            signature_ok: checked.is_ok(),
        });
        (checked, inner.refund_delay)
    };
    let mchid = match checked {
        Ok(mchid) => mchid,
        Err(reason) => {
            return respond(&shared, MCH_ID, error(401, "SIGN_ERROR", &reason));
        }
    };
    if uri.path() == "/v3/refund/domestic/refunds" && !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let answer = {
        let mut inner = shared.lock().unwrap();
        route(&mut inner, &mchid, &method, &uri, &request)
    };
    respond(&shared, &mchid, answer)
}

fn respond(
    shared: &Arc<Mutex<Inner>>,
    mchid: &str,
    (status, body): (u16, Option<Value>),
) -> Response {
    let with = shared
        .lock()
        .unwrap()
        .merchants
        .get(mchid)
        .map_or(SignWith::PublicKey, |m| m.sign_with);
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let mut response = (StatusCode::from_u16(status).unwrap(), body.clone()).into_response();
    for (name, value) in signed_headers(with, body.as_bytes(), None) {
        response.headers_mut().insert(
            axum::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(&value).unwrap(),
        );
    }
    if !body.is_empty() {
        response
            .headers_mut()
            .insert("content-type", HeaderValue::from_static("application/json"));
    }
    response
}

fn route(
    inner: &mut Inner,
    mchid: &str,
    method: &Method,
    uri: &Uri,
    request: &Value,
) -> (u16, Option<Value>) {
    let path = uri.path();
    let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
    inner.sequence += 1;
    let sequence = inner.sequence;
    match (method.as_str(), path) {
        ("POST", "/v3/pay/transactions/jsapi" | "/v3/pay/transactions/native") => {
            let jsapi = path.ends_with("jsapi");
            if text(&request["mchid"]) != mchid {
                return error(400, "PARAM_ERROR", "mchid does not match the signer");
            }
            let total = request["amount"]["total"].as_i64().unwrap_or(0);
            let out_trade_no = text(&request["out_trade_no"]);
            let openid = text(&request["payer"]["openid"]);
            if total < 1
                || out_trade_no.is_empty()
                || text(&request["description"]).is_empty()
                || text(&request["appid"]).is_empty()
                || !text(&request["notify_url"]).starts_with("http")
                || (jsapi && openid.is_empty())
            {
                return error(400, "PARAM_ERROR", "missing or invalid parameters");
            }
            if inner.orders.contains_key(&out_trade_no) {
                return error(400, "INVALID_REQUEST", "out_trade_no already used");
            }
            inner.orders.insert(
                out_trade_no.clone(),
                FakeOrder {
                    appid: text(&request["appid"]),
                    mchid: mchid.into(),
                    out_trade_no,
                    trade_type: if jsapi { "JSAPI" } else { "NATIVE" }.into(),
                    total,
                    trade_state: "NOTPAY".into(),
                    transaction_id: String::new(),
                    notify_url: text(&request["notify_url"]),
                    openid,
                    success_time: String::new(),
                    refunded: 0,
                },
            );
            if jsapi {
                (
                    200,
                    Some(
                        json!({ "prepay_id": format!("wx{sequence:08}fakeprepay{}", random_text(10)) }),
                    ),
                )
            } else {
                (
                    200,
                    Some(
                        json!({ "code_url": format!("weixin://wxpay/bizpayurl?pr={}", random_text(7)) }),
                    ),
                )
            }
        }
        ("GET", _) if path.starts_with("/v3/pay/transactions/out-trade-no/") => {
            let no = &path["/v3/pay/transactions/out-trade-no/".len()..];
            if uri.query() != Some(&format!("mchid={mchid}")) {
                return error(400, "PARAM_ERROR", "mchid is required");
            }
            match inner.orders.get(no) {
                Some(order) if order.mchid == mchid => (200, Some(order_json(order))),
                _ => error(404, "ORDER_NOT_EXIST", "no such order"),
            }
        }
        ("POST", _)
            if path.starts_with("/v3/pay/transactions/out-trade-no/")
                && path.ends_with("/close") =>
        {
            let no = &path["/v3/pay/transactions/out-trade-no/".len()..path.len() - "/close".len()];
            if text(&request["mchid"]) != mchid {
                return error(400, "PARAM_ERROR", "mchid is required");
            }
            match inner.orders.get_mut(no) {
                Some(order) if matches!(order.trade_state.as_str(), "SUCCESS" | "REFUND") => {
                    error(400, "ORDERPAID", "the order is paid")
                }
                Some(order) => {
                    order.trade_state = "CLOSED".into();
                    (204, None)
                }
                None => error(404, "ORDER_NOT_EXIST", "no such order"),
            }
        }
        ("POST", "/v3/refund/domestic/refunds") => {
            if let Some((status, code)) = inner.refuse_next_refund.take() {
                return error(status, &code, "refused on purpose");
            }
            let out_refund_no = text(&request["out_refund_no"]);
            if let Some(existing) = inner.refunds.get(&out_refund_no) {
                return (200, Some(refund_json(existing)));
            }
            let out_trade_no = text(&request["out_trade_no"]);
            let refund = request["amount"]["refund"].as_i64().unwrap_or(0);
            let Some(order) = inner.orders.get_mut(&out_trade_no) else {
                return error(404, "RESOURCE_NOT_EXISTS", "no such order");
            };
            if !matches!(order.trade_state.as_str(), "SUCCESS" | "REFUND") {
                return error(400, "INVALID_REQUEST", "the order is not paid");
            }
            if request["amount"]["total"].as_i64() != Some(order.total) || refund < 1 {
                return error(400, "PARAM_ERROR", "amount does not match the order");
            }
            if order.refunded + refund > order.total {
                return error(403, "NOT_ENOUGH", "refund exceeds the paid amount");
            }
            order.refunded += refund;
            order.trade_state = "REFUND".into();
            let record = FakeRefund {
                mchid: mchid.into(),
                out_trade_no,
                out_refund_no: out_refund_no.clone(),
                refund_id: format!("50300000{sequence:020}"),
                refund,
                total: order.total,
                status: "PROCESSING".into(),
                notify_url: text(&request["notify_url"]),
            };
            let answer = refund_json(&record);
            inner.refunds.insert(out_refund_no, record);
            if std::mem::take(&mut inner.lose_next_refund_answer) {
                return error(500, "SYSTEM_ERROR", "answer lost on purpose");
            }
            (200, Some(answer))
        }
        ("GET", _) if path.starts_with("/v3/refund/domestic/refunds/") => {
            let no = &path["/v3/refund/domestic/refunds/".len()..];
            match inner.refunds.get(no) {
                Some(refund) if refund.mchid == mchid => (200, Some(refund_json(refund))),
                _ => error(404, "RESOURCE_NOT_EXISTS", "no such refund"),
            }
        }
        ("GET", "/v3/certificates") => {
            let key = inner.merchants[mchid].api_v3_key.clone();
            let nonce = random_text(12);
            let now = chrono::Utc::now();
            (
                200,
                Some(json!({ "data": [{
                    "serial_no": keys().certificate_serial,
                    "effective_time": now.to_rfc3339(),
                    "expire_time": (now + chrono::Duration::days(5 * 365)).to_rfc3339(),
                    "encrypt_certificate": {
                        "algorithm": "AEAD_AES_256_GCM",
                        "nonce": nonce,
                        "associated_data": "certificate",
                        "ciphertext": encrypt(&key, &nonce, "certificate", keys().certificate_pem.as_bytes()),
                    }
                }]})),
            )
        }
        _ => error(404, "NOT_FOUND", "no such endpoint in the fake"),
    }
}
