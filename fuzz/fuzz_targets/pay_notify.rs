//! A WeChat Pay notification: `Wechatpay-*` headers → signature check →
//! JSON envelope → AEAD_AES_256_GCM resource → trade or refund report. The
//! first byte picks what the rest is: headers and body as sent (one header a
//! line, then the body), a body signed right by the fake WeChat Pay's key, a
//! body past the signature check, or a resource plaintext sealed right with
//! the APIv3 key. (RSA signing is slow, so only one input in four signs.)
#![no_main]

use std::sync::OnceLock;

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use libfuzzer_sys::fuzz_target;
use wxmp::dev::fake_pay::{keys, public_pem, signed_headers, SignWith, API_V3_KEY, PUB_KEY_ID};
use wxmp::pay::crypto::{
    encrypt_resource, open_notification, parse_public_key, SignedHeaders, Verifier,
};
use wxmp::pay::ledger::{RefundReport, TradeReport};

const HEADERS: [&str; 4] = [
    "wechatpay-timestamp",
    "wechatpay-nonce",
    "wechatpay-signature",
    "wechatpay-serial",
];

fn verifier() -> &'static Verifier {
    static VERIFIER: OnceLock<Verifier> = OnceLock::new();
    VERIFIER.get_or_init(|| {
        let mut verifier = Verifier::default();
        let key = parse_public_key(&public_pem(&keys().wechat)).expect("public key");
        verifier.add(PUB_KEY_ID, key);
        verifier
    })
}

fn header_map(pairs: &[(String, String)]) -> Option<HeaderMap> {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        map.insert(
            HeaderName::from_bytes(name.as_bytes()).ok()?,
            HeaderValue::from_str(value).ok()?,
        );
    }
    Some(map)
}

/// Verifies and opens; what opens is read as WeChat Pay's reports.
fn receive(headers: &HeaderMap, body: &[u8]) -> bool {
    let Ok(signed) = SignedHeaders::from_headers(headers) else {
        return false;
    };
    let now = chrono::Utc::now().timestamp();
    verifier().verify(&signed, body, now).is_ok() && open(body)
}

/// Opens a verified body; what opens is read as WeChat Pay's reports.
fn open(body: &[u8]) -> bool {
    open_notification(API_V3_KEY.as_bytes(), body).is_ok_and(|notification| {
        let _ = TradeReport::from_json(&notification.resource);
        let _ = RefundReport::from_json(&notification.resource);
        true
    })
}

// The fake WeChat Pay's RSA keys are generated once, before the first input:
// three 2048-bit keys in a coverage-instrumented build take longer than
// libFuzzer's per-input timeout on a busy machine.
fuzz_target!(init: {
    verifier();
}, |data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    match mode % 4 {
        0 => {
            let mut parts = rest.splitn(5, |b| *b == b'\n');
            let values: Vec<String> = parts
                .by_ref()
                .take(4)
                .map(|v| String::from_utf8_lossy(v).into_owned())
                .collect();
            let body = parts.next().unwrap_or_default();
            let pairs: Vec<(String, String)> = HEADERS
                .iter()
                .zip(values)
                .map(|(name, value)| (name.to_string(), value))
                .collect();
            if let Some(headers) = header_map(&pairs) {
                receive(&headers, body);
            }
        }
        1 => {
            let headers = header_map(&signed_headers(SignWith::PublicKey, rest, None))
                .expect("the fake's headers are valid");
            let signed = SignedHeaders::from_headers(&headers).expect("all four headers");
            let now = chrono::Utc::now().timestamp();
            assert_eq!(verifier().verify(&signed, rest, now), Ok(()));
            receive(&headers, rest);
        }
        2 => {
            open(rest);
        }
        _ => {
            let nonce = "0123456789ab";
            let ciphertext = encrypt_resource(API_V3_KEY.as_bytes(), nonce, "transaction", rest)
                .expect("valid key and nonce");
            let body = serde_json::json!({
                "id": "EV-1", "event_type": "TRANSACTION.SUCCESS",
                "resource": {
                    "algorithm": "AEAD_AES_256_GCM", "nonce": nonce,
                    "associated_data": "transaction", "ciphertext": ciphertext,
                },
            })
            .to_string();
            let is_object = matches!(
                serde_json::from_slice::<serde_json::Value>(rest),
                Ok(serde_json::Value::Object(_))
            );
            assert_eq!(open(body.as_bytes()), is_object);
        }
    }
});
