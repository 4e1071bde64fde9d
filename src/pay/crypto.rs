//! WeChat Pay API v3 cryptography, free of HTTP and database concerns:
//! merchant request signing (`Authorization: WECHATPAY2-SHA256-RSA2048 …`),
//! the JSAPI `paySign`, verification of signed responses and notifications
//! against the WeChat Pay public key and platform certificates (both at once,
//! keyed by serial), and AEAD_AES_256_GCM resource decryption.

use std::collections::BTreeMap;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use rsa::pkcs1::{DecodeRsaPrivateKey, DecodeRsaPublicKey};
use rsa::pkcs1v15::{Signature, SigningKey, VerifyingKey};
use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePublicKey};
use rsa::sha2::Sha256;
use rsa::signature::{SignatureEncoding, Signer, Verifier as _};
use rsa::traits::PublicKeyParts;
use rsa::{RsaPrivateKey, RsaPublicKey};

/// The scheme of the `Authorization` header.
pub const AUTH_SCHEME: &str = "WECHATPAY2-SHA256-RSA2048";
/// Signatures starting with this are WeChat's probes, never real traffic.
pub const SIGNTEST_PREFIX: &str = "WECHATPAY/SIGNTEST/";
/// How far a signed timestamp may be from now, in seconds.
pub const MAX_SKEW_SECS: i64 = 300;
/// The length of the APIv3 key, in bytes.
pub const API_V3_KEY_LEN: usize = 32;
const MIN_RSA_BITS: usize = 2048;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeyError {
    #[error("is not PEM: expected -----BEGIN {0}-----")]
    NotPem(&'static str),
    #[error("cannot be parsed: {0}")]
    Malformed(String),
    #[error("is a {0}-bit RSA key; WeChat Pay needs at least 2048 bits")]
    TooShort(usize),
}

/// A merchant private key: PKCS#8 (`PRIVATE KEY`, what WeChat's tool
/// produces) or PKCS#1 (`RSA PRIVATE KEY`), RSA of at least 2048 bits.
pub fn parse_private_key(pem: &str) -> Result<RsaPrivateKey, KeyError> {
    let pem = pem.trim();
    let key = if pem.starts_with("-----BEGIN PRIVATE KEY-----") {
        RsaPrivateKey::from_pkcs8_pem(pem).map_err(|e| KeyError::Malformed(e.to_string()))?
    } else if pem.starts_with("-----BEGIN RSA PRIVATE KEY-----") {
        RsaPrivateKey::from_pkcs1_pem(pem).map_err(|e| KeyError::Malformed(e.to_string()))?
    } else {
        return Err(KeyError::NotPem("PRIVATE KEY"));
    };
    key.validate()
        .map_err(|e| KeyError::Malformed(e.to_string()))?;
    check_bits(key.size())?;
    Ok(key)
}

/// A public key: SPKI (`PUBLIC KEY`, the "WeChat Pay public key"), PKCS#1
/// (`RSA PUBLIC KEY`) or the key inside a `CERTIFICATE`.
pub fn parse_public_key(pem: &str) -> Result<RsaPublicKey, KeyError> {
    let pem = pem.trim();
    let key = if pem.starts_with("-----BEGIN PUBLIC KEY-----") {
        RsaPublicKey::from_public_key_pem(pem).map_err(|e| KeyError::Malformed(e.to_string()))?
    } else if pem.starts_with("-----BEGIN RSA PUBLIC KEY-----") {
        RsaPublicKey::from_pkcs1_pem(pem).map_err(|e| KeyError::Malformed(e.to_string()))?
    } else if pem.starts_with("-----BEGIN CERTIFICATE-----") {
        return parse_certificate(pem).map(|cert| cert.public_key);
    } else {
        return Err(KeyError::NotPem("PUBLIC KEY"));
    };
    check_bits(key.size())?;
    Ok(key)
}

fn check_bits(bytes: usize) -> Result<(), KeyError> {
    if bytes * 8 < MIN_RSA_BITS {
        Err(KeyError::TooShort(bytes * 8))
    } else {
        Ok(())
    }
}

/// What wxmp needs of a platform certificate.
#[derive(Debug, Clone)]
pub struct CertificateInfo {
    /// The certificate's serial number in upper-case hex, as WeChat names it.
    pub serial_no: String,
    pub public_key: RsaPublicKey,
    pub not_before: i64,
    pub not_after: i64,
}

/// Parses a PEM X.509 certificate carrying an RSA key.
pub fn parse_certificate(pem: &str) -> Result<CertificateInfo, KeyError> {
    use x509_cert::der::{DecodePem, Encode};
    let cert = x509_cert::Certificate::from_pem(pem.trim().as_bytes())
        .map_err(|e| KeyError::Malformed(format!("certificate: {e}")))?;
    let tbs = &cert.tbs_certificate;
    let spki = tbs
        .subject_public_key_info
        .to_der()
        .map_err(|e| KeyError::Malformed(e.to_string()))?;
    let public_key = RsaPublicKey::from_public_key_der(&spki)
        .map_err(|e| KeyError::Malformed(format!("certificate key: {e}")))?;
    check_bits(public_key.size())?;
    let serial_no = tbs
        .serial_number
        .as_bytes()
        .iter()
        .skip_while(|b| **b == 0)
        .map(|b| format!("{b:02X}"))
        .collect();
    Ok(CertificateInfo {
        serial_no,
        public_key,
        not_before: tbs.validity.not_before.to_unix_duration().as_secs() as i64,
        not_after: tbs.validity.not_after.to_unix_duration().as_secs() as i64,
    })
}

/// A public key as PEM (SPKI), e.g. to show or store.
pub fn public_key_pem(key: &RsaPublicKey) -> String {
    key.to_public_key_pem(rsa::pkcs8::LineEnding::LF)
        .unwrap_or_default()
}

/// A random 32-character alphanumeric nonce.
pub fn nonce() -> String {
    use rand::distributions::{Alphanumeric, DistString};
    Alphanumeric.sample_string(&mut rand::rngs::OsRng, 32)
}

/// The string a merchant signs for a request.
pub fn request_message(
    method: &str,
    path_and_query: &str,
    timestamp: i64,
    nonce: &str,
    body: &str,
) -> String {
    format!("{method}\n{path_and_query}\n{timestamp}\n{nonce}\n{body}\n")
}

/// The bytes WeChat Pay signs for a response or a notification.
pub fn response_message(timestamp: &str, nonce: &str, body: &[u8]) -> Vec<u8> {
    let mut message = Vec::with_capacity(timestamp.len() + nonce.len() + body.len() + 3);
    message.extend_from_slice(timestamp.as_bytes());
    message.push(b'\n');
    message.extend_from_slice(nonce.as_bytes());
    message.push(b'\n');
    message.extend_from_slice(body);
    message.push(b'\n');
    message
}

/// Signs as a merchant: requests and JSAPI parameters.
#[derive(Clone)]
pub struct MerchantSigner {
    pub mch_id: String,
    /// Serial number of the merchant API certificate.
    pub serial_no: String,
    key: SigningKey<Sha256>,
}

impl std::fmt::Debug for MerchantSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the key.
        f.debug_struct("MerchantSigner")
            .field("mch_id", &self.mch_id)
            .field("serial_no", &self.serial_no)
            .finish_non_exhaustive()
    }
}

/// The parameters `WeixinJSBridge.invoke('getBrandWCPayRequest', …)` takes.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct JsapiParams {
    pub app_id: String,
    pub time_stamp: String,
    pub nonce_str: String,
    pub package: String,
    pub sign_type: String,
    pub pay_sign: String,
}

impl MerchantSigner {
    pub fn new(mch_id: &str, serial_no: &str, private_key_pem: &str) -> Result<Self, KeyError> {
        Ok(Self::from_key(
            mch_id,
            serial_no,
            parse_private_key(private_key_pem)?,
        ))
    }

    pub fn from_key(mch_id: &str, serial_no: &str, key: RsaPrivateKey) -> Self {
        Self {
            mch_id: mch_id.into(),
            serial_no: serial_no.into(),
            key: SigningKey::new(key),
        }
    }

    /// base64(RSA-SHA256 PKCS#1 v1.5) of `message`.
    pub fn sign(&self, message: &[u8]) -> String {
        B64.encode(self.key.sign(message).to_bytes())
    }

    /// The `Authorization` header value for one request.
    pub fn authorization(
        &self,
        method: &str,
        path_and_query: &str,
        body: &str,
        timestamp: i64,
        nonce: &str,
    ) -> String {
        let signature =
            self.sign(request_message(method, path_and_query, timestamp, nonce, body).as_bytes());
        format!(
            "{AUTH_SCHEME} mchid=\"{}\",nonce_str=\"{nonce}\",signature=\"{signature}\",timestamp=\"{timestamp}\",serial_no=\"{}\"",
            self.mch_id, self.serial_no
        )
    }

    /// Signed parameters for the JSAPI payment page.
    pub fn jsapi_params(
        &self,
        app_id: &str,
        prepay_id: &str,
        timestamp: i64,
        nonce: &str,
    ) -> JsapiParams {
        let package = format!("prepay_id={prepay_id}");
        let pay_sign = self.sign(format!("{app_id}\n{timestamp}\n{nonce}\n{package}\n").as_bytes());
        JsapiParams {
            app_id: app_id.into(),
            time_stamp: timestamp.to_string(),
            nonce_str: nonce.into(),
            package,
            sign_type: "RSA".into(),
            pay_sign,
        }
    }
}

/// The parts of an `Authorization` header (used to check our own requests).
pub fn parse_authorization(header: &str) -> Option<BTreeMap<String, String>> {
    let rest = header.strip_prefix(AUTH_SCHEME)?.trim_start();
    let mut fields = BTreeMap::new();
    for part in rest.split(',') {
        let (name, value) = part.trim().split_once('=')?;
        let value = value.strip_prefix('"')?.strip_suffix('"')?;
        fields.insert(name.to_string(), value.to_string());
    }
    Some(fields)
}

/// The signature headers of a response or notification.
#[derive(Debug, Clone, Default)]
pub struct SignedHeaders {
    pub timestamp: String,
    pub nonce: String,
    pub signature: String,
    pub serial: String,
}

impl SignedHeaders {
    pub fn from_headers(headers: &axum::http::HeaderMap) -> Result<Self, VerifyError> {
        let get = |name: &'static str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
                .ok_or(VerifyError::Missing(name))
        };
        Ok(Self {
            timestamp: get("wechatpay-timestamp")?,
            nonce: get("wechatpay-nonce")?,
            signature: get("wechatpay-signature")?,
            serial: get("wechatpay-serial")?,
        })
    }
}

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum VerifyError {
    #[error("header {0} is missing")]
    Missing(&'static str),
    #[error("a WECHATPAY/SIGNTEST/ probe signature is never accepted")]
    Probe,
    #[error("timestamp {0} is not within 5 minutes of now")]
    Stale(String),
    #[error("no WeChat Pay public key or platform certificate with serial {0}")]
    UnknownSerial(String),
    #[error("the signature does not match")]
    BadSignature,
}

/// The keys that verify WeChat Pay: the WeChat Pay public key under its
/// `PUB_KEY_ID_…` and platform certificates under their serials, together.
#[derive(Clone, Default)]
pub struct Verifier {
    keys: BTreeMap<String, VerifyingKey<Sha256>>,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("serials", &self.serials())
            .finish()
    }
}

impl Verifier {
    pub fn add(&mut self, serial: &str, key: RsaPublicKey) {
        self.keys.insert(serial.to_string(), VerifyingKey::new(key));
    }

    pub fn contains(&self, serial: &str) -> bool {
        self.keys.contains_key(serial)
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    pub fn serials(&self) -> Vec<String> {
        self.keys.keys().cloned().collect()
    }

    /// Checks a signed body: probe, freshness (against `now`, unix seconds),
    /// key by serial, then the signature itself.
    pub fn verify(
        &self,
        headers: &SignedHeaders,
        body: &[u8],
        now: i64,
    ) -> Result<(), VerifyError> {
        if headers.signature.starts_with(SIGNTEST_PREFIX) {
            return Err(VerifyError::Probe);
        }
        let timestamp: i64 = headers
            .timestamp
            .parse()
            .map_err(|_| VerifyError::Stale(headers.timestamp.clone()))?;
        if (now - timestamp).abs() > MAX_SKEW_SECS {
            return Err(VerifyError::Stale(headers.timestamp.clone()));
        }
        let key = self
            .keys
            .get(&headers.serial)
            .ok_or_else(|| VerifyError::UnknownSerial(headers.serial.clone()))?;
        let raw = B64
            .decode(headers.signature.as_bytes())
            .map_err(|_| VerifyError::BadSignature)?;
        let signature =
            Signature::try_from(raw.as_slice()).map_err(|_| VerifyError::BadSignature)?;
        key.verify(
            &response_message(&headers.timestamp, &headers.nonce, body),
            &signature,
        )
        .map_err(|_| VerifyError::BadSignature)
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DecryptError {
    #[error("the APIv3 key must be 32 bytes")]
    KeyLength,
    #[error("the nonce must be 12 bytes")]
    NonceLength,
    #[error("unsupported algorithm {0}; expected AEAD_AES_256_GCM")]
    Algorithm(String),
    #[error("the ciphertext is not base64")]
    Base64,
    #[error("the ciphertext does not authenticate with this APIv3 key")]
    Authentication,
}

/// Decrypts an `AEAD_AES_256_GCM` resource (the 16-byte tag ends the ciphertext).
pub fn decrypt_resource(
    api_v3_key: &[u8],
    algorithm: &str,
    nonce: &str,
    associated_data: &str,
    ciphertext_b64: &str,
) -> Result<Vec<u8>, DecryptError> {
    if algorithm != "AEAD_AES_256_GCM" {
        return Err(DecryptError::Algorithm(
            algorithm.chars().take(32).collect(),
        ));
    }
    let cipher = Aes256Gcm::new_from_slice(api_v3_key).map_err(|_| DecryptError::KeyLength)?;
    if nonce.len() != 12 {
        return Err(DecryptError::NonceLength);
    }
    let ciphertext = B64
        .decode(ciphertext_b64.as_bytes())
        .map_err(|_| DecryptError::Base64)?;
    cipher
        .decrypt(
            Nonce::from_slice(nonce.as_bytes()),
            Payload {
                msg: &ciphertext,
                aad: associated_data.as_bytes(),
            },
        )
        .map_err(|_| DecryptError::Authentication)
}

/// A notification's body once opened: its id, event type and the decrypted
/// resource.
#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    pub id: String,
    pub event_type: String,
    pub resource: serde_json::Value,
}

/// Why a notification's body cannot be opened.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum NotificationError {
    #[error("the body is not a JSON object")]
    NotAnObject,
    #[error("id and event_type are required")]
    MissingFields,
    #[error("resource: {0}")]
    Resource(#[from] DecryptError),
    #[error("the decrypted resource is not a JSON object")]
    ResourceNotAnObject,
}

/// Opens a (verified) notification body: `{id, event_type, resource:
/// {algorithm, nonce, associated_data, ciphertext}}`, decrypted with the
/// APIv3 key.
pub fn open_notification(
    api_v3_key: &[u8],
    body: &[u8],
) -> Result<Notification, NotificationError> {
    use serde_json::Value;
    let envelope: Value = match serde_json::from_slice(body) {
        Ok(value @ Value::Object(_)) => value,
        _ => return Err(NotificationError::NotAnObject),
    };
    let text = |value: &Value| value.as_str().unwrap_or_default().to_string();
    let (id, event_type) = (text(&envelope["id"]), text(&envelope["event_type"]));
    if id.is_empty() || id.len() > 64 || event_type.is_empty() || event_type.len() > 64 {
        return Err(NotificationError::MissingFields);
    }
    let resource = &envelope["resource"];
    let field = |key: &str| resource[key].as_str().unwrap_or_default();
    let plaintext = decrypt_resource(
        api_v3_key,
        field("algorithm"),
        field("nonce"),
        field("associated_data"),
        field("ciphertext"),
    )?;
    match serde_json::from_slice(&plaintext) {
        Ok(resource @ Value::Object(_)) => Ok(Notification {
            id,
            event_type,
            resource,
        }),
        _ => Err(NotificationError::ResourceNotAnObject),
    }
}

/// Encrypts a resource the way WeChat Pay does (for fakes and tests).
pub fn encrypt_resource(
    api_v3_key: &[u8],
    nonce: &str,
    associated_data: &str,
    plaintext: &[u8],
) -> Result<String, DecryptError> {
    let cipher = Aes256Gcm::new_from_slice(api_v3_key).map_err(|_| DecryptError::KeyLength)?;
    if nonce.len() != 12 {
        return Err(DecryptError::NonceLength);
    }
    let sealed = cipher
        .encrypt(
            Nonce::from_slice(nonce.as_bytes()),
            Payload {
                msg: plaintext,
                aad: associated_data.as_bytes(),
            },
        )
        .map_err(|_| DecryptError::Authentication)?;
    Ok(B64.encode(sealed))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rsa::pkcs8::EncodePrivateKey;
    use std::sync::OnceLock;

    fn key() -> &'static RsaPrivateKey {
        static KEY: OnceLock<RsaPrivateKey> = OnceLock::new();
        KEY.get_or_init(|| RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048).unwrap())
    }

    #[test]
    fn signs_and_verifies_round_trip() {
        let signer = MerchantSigner::from_key("1900000001", "ABC", key().clone());
        let mut verifier = Verifier::default();
        verifier.add("PUB_KEY_ID_1", key().to_public_key());
        let body = br#"{"a":1}"#;
        let now = 1_700_000_000;
        let signature = signer.sign(&response_message(&now.to_string(), "n", body));
        let headers = SignedHeaders {
            timestamp: now.to_string(),
            nonce: "n".into(),
            signature,
            serial: "PUB_KEY_ID_1".into(),
        };
        assert_eq!(verifier.verify(&headers, body, now + 10), Ok(()));
        assert_eq!(
            verifier.verify(&headers, b"{\"a\":2}", now),
            Err(VerifyError::BadSignature)
        );
        assert!(matches!(
            verifier.verify(&headers, body, now + 301),
            Err(VerifyError::Stale(_))
        ));
        let unknown = SignedHeaders {
            serial: "X".into(),
            ..headers.clone()
        };
        assert_eq!(
            verifier.verify(&unknown, body, now),
            Err(VerifyError::UnknownSerial("X".into()))
        );
        let probe = SignedHeaders {
            signature: format!("{SIGNTEST_PREFIX}abc"),
            ..headers
        };
        assert_eq!(verifier.verify(&probe, body, now), Err(VerifyError::Probe));
    }

    #[test]
    fn authorization_has_every_field() {
        let signer = MerchantSigner::from_key("1900000001", "SERIAL1", key().clone());
        let header = signer.authorization("GET", "/v3/x?mchid=1", "", 1_700_000_000, "abc");
        let fields = parse_authorization(&header).unwrap();
        assert_eq!(fields["mchid"], "1900000001");
        assert_eq!(fields["serial_no"], "SERIAL1");
        assert_eq!(fields["timestamp"], "1700000000");
        assert_eq!(fields["nonce_str"], "abc");
        let raw = B64.decode(&fields["signature"]).unwrap();
        VerifyingKey::<Sha256>::new(key().to_public_key())
            .verify(
                b"GET\n/v3/x?mchid=1\n1700000000\nabc\n\n",
                &Signature::try_from(raw.as_slice()).unwrap(),
            )
            .unwrap();
    }

    #[test]
    fn keys_parse_strictly() {
        let pem = key().to_pkcs8_pem(rsa::pkcs8::LineEnding::LF).unwrap();
        assert!(parse_private_key(&pem).is_ok());
        assert_eq!(
            parse_private_key("hello").unwrap_err(),
            KeyError::NotPem("PRIVATE KEY")
        );
        let broken = pem.replace(&pem[100..140], &"A".repeat(40));
        assert!(matches!(
            parse_private_key(&broken),
            Err(KeyError::Malformed(_))
        ));
        let public = public_key_pem(&key().to_public_key());
        assert!(parse_public_key(&public).is_ok());
        assert!(
            parse_public_key("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----").is_err()
        );
        let small = RsaPrivateKey::new(&mut rand::rngs::OsRng, 1024).unwrap();
        let small_pem = small.to_pkcs8_pem(rsa::pkcs8::LineEnding::LF).unwrap();
        assert_eq!(
            parse_private_key(&small_pem).unwrap_err(),
            KeyError::TooShort(1024)
        );
    }

    #[test]
    fn aead_round_trip_and_tamper() {
        let key = [7u8; 32];
        let sealed = encrypt_resource(&key, "0123456789ab", "transaction", b"hello").unwrap();
        let open =
            |ad: &str, ct: &str| decrypt_resource(&key, "AEAD_AES_256_GCM", "0123456789ab", ad, ct);
        assert_eq!(open("transaction", &sealed).unwrap(), b"hello");
        assert_eq!(open("refund", &sealed), Err(DecryptError::Authentication));
        assert_eq!(
            decrypt_resource(&key, "AEAD_AES_256_GCM", "short", "", &sealed),
            Err(DecryptError::NonceLength)
        );
        assert!(matches!(
            decrypt_resource(&key, "AES_CBC", "0123456789ab", "", &sealed),
            Err(DecryptError::Algorithm(_))
        ));
    }

    #[test]
    fn a_notification_opens_only_when_whole() {
        let key = [7u8; 32];
        let body = |plaintext: &[u8], id: &str| {
            let ciphertext = encrypt_resource(&key, "0123456789ab", "transaction", plaintext);
            serde_json::json!({
                "id": id, "event_type": "TRANSACTION.SUCCESS",
                "resource": {"algorithm": "AEAD_AES_256_GCM", "nonce": "0123456789ab",
                             "associated_data": "transaction", "ciphertext": ciphertext.unwrap()},
            })
            .to_string()
        };
        let opened = open_notification(
            &key,
            body(br#"{"trade_state":"SUCCESS"}"#, "EV-1").as_bytes(),
        );
        assert_eq!(opened.unwrap().resource["trade_state"], "SUCCESS");
        assert_eq!(
            open_notification(&key, b"[1]"),
            Err(NotificationError::NotAnObject)
        );
        assert_eq!(
            open_notification(&key, body(b"{}", "").as_bytes()),
            Err(NotificationError::MissingFields)
        );
        assert_eq!(
            open_notification(&key, body(b"[]", "EV-1").as_bytes()),
            Err(NotificationError::ResourceNotAnObject)
        );
        assert_eq!(
            open_notification(&[8u8; 32], body(b"{}", "EV-1").as_bytes()),
            Err(NotificationError::Resource(DecryptError::Authentication))
        );
    }
}
