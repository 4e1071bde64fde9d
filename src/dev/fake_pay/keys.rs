//! The fake WeChat Pay's keys and signatures: the merchant, "WeChat Pay public
//! key" and platform certificate key pairs (made once per process), a
//! self-signed platform certificate, `Wechatpay-*` answer signatures and
//! AEAD_AES_256_GCM resources, done with `rsa`, `aes-gcm` and `x509-cert`
//! directly rather than with wxmp's own `pay` code.

use std::str::FromStr;
use std::sync::OnceLock;
use std::time::Duration;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use rsa::pkcs1v15::{Signature, SigningKey};
use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
use rsa::sha2::Sha256;
use rsa::signature::{SignatureEncoding, Signer};
use rsa::RsaPrivateKey;

use super::PUB_KEY_ID;

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

pub(super) fn random_text(len: usize) -> String {
    use rand::distributions::{Alphanumeric, DistString};
    Alphanumeric.sample_string(&mut rand::rngs::OsRng, len)
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
