//! The callback's decrypt path: outer XML → msg_signature → base64 → AES-CBC
//! → 32-byte PKCS#7 unpad → length → AppID → inner XML. The first byte picks
//! what the rest is: arbitrary plaintext (encrypted here with the account's
//! key, so unpadding, the length field and the AppID check see every shape),
//! or a whole request body whose signature is computed right or taken as is.
#![no_main]

use aes::cipher::{block_padding::NoPadding, BlockEncryptMut, KeyIvInit};
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::Engine;
use libfuzzer_sys::fuzz_target;
use wxmp::wechat::{signature, xml, InboundMessage, MessageCrypto};

const KEY: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
const APP_ID: &str = "wx5823bf96d3bd56c7";
const TOKEN: &str = "fuzztoken";

/// AES-256-CBC of `plain` (zero-filled to 16 bytes) with the key of `KEY`.
fn encrypt_raw(plain: &[u8]) -> String {
    // KEY's last character has trailing bits set, as consoles make them.
    let lenient = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new().with_decode_allow_trailing_bits(true),
    );
    let key = lenient.decode(format!("{KEY}=")).expect("the key is valid");
    let mut data = plain.to_vec();
    data.resize(plain.len().div_ceil(16).max(1) * 16, 0);
    let length = data.len();
    let sealed = cbc::Encryptor::<aes::Aes256>::new(key[..].into(), key[..16].into())
        .encrypt_padded_mut::<NoPadding>(&mut data, length)
        .expect("a whole number of blocks")
        .to_vec();
    STANDARD.encode(sealed)
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let crypto = MessageCrypto::new(KEY, APP_ID).expect("the key is valid");
    match mode % 3 {
        0 => {
            if let Ok(message) = crypto.decrypt(&encrypt_raw(rest)) {
                // Only a message for this AppID comes out, and it seals again.
                let sealed = crypto.encrypt(&message);
                assert_eq!(crypto.decrypt(&sealed).as_deref(), Ok(message.as_str()));
                let _ = InboundMessage::parse(&message);
            }
        }
        _ => {
            let Ok(body) = std::str::from_utf8(rest) else {
                return;
            };
            let Ok(outer) = xml::parse(body) else {
                return;
            };
            let Some(encrypted) = outer.get("Encrypt") else {
                return;
            };
            let (timestamp, nonce) = ("1700000000", "nonce");
            let given = if mode % 3 == 1 {
                signature::sign(&[TOKEN, timestamp, nonce, encrypted])
            } else {
                outer.text("MsgSignature")
            };
            if let Ok(inner) = crypto.open(TOKEN, timestamp, nonce, &given, encrypted) {
                let _ = InboundMessage::parse(&inner);
            }
        }
    }
});
