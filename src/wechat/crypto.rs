//! WeChat's message encryption (WXBizMsgCrypt): AES-256-CBC with the key from
//! the account's EncodingAESKey, IV = first 16 key bytes, PKCS#7 padding to
//! 32-byte blocks, plaintext `random(16) ‖ len(u32 BE) ‖ msg ‖ app_id`.

use aes::cipher::{block_padding::NoPadding, BlockDecryptMut, BlockEncryptMut, KeyIvInit};
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::engine::DecodePaddingMode;
use base64::Engine;
use rand::RngCore;

type Encryptor = cbc::Encryptor<aes::Aes256>;
type Decryptor = cbc::Decryptor<aes::Aes256>;

/// WeChat pads to 32 bytes, not AES's 16.
const PAD_BLOCK: usize = 32;
const RANDOM_PREFIX: usize = 16;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CryptoError {
    #[error("EncodingAESKey must be 43 base64 characters")]
    BadKey,
    #[error("Encrypt is not valid base64")]
    BadBase64,
    #[error("ciphertext length {0} is not a positive multiple of 16 bytes")]
    BadCiphertextLength(usize),
    #[error("bad PKCS#7 padding after decryption")]
    BadPadding,
    #[error("the decrypted length field does not fit the message")]
    BadLength,
    #[error("the decrypted message is not UTF-8")]
    NotUtf8,
    #[error("the message is for AppID {found:?}, not this account's")]
    WrongAppId { found: String },
    #[error("msg_signature does not match")]
    BadSignature,
}

/// Consoles generate keys whose last character has non-zero trailing bits;
/// accept them as WeChat does.
fn key_engine() -> GeneralPurpose {
    GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new()
            .with_decode_allow_trailing_bits(true)
            .with_decode_padding_mode(DecodePaddingMode::RequireCanonical),
    )
}

/// The encryption of one account: its key and AppID.
#[derive(Clone)]
pub struct MessageCrypto {
    key: [u8; 32],
    app_id: String,
}

impl std::fmt::Debug for MessageCrypto {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MessageCrypto")
            .field("app_id", &self.app_id)
            .finish_non_exhaustive()
    }
}

impl MessageCrypto {
    pub fn new(encoding_aes_key: &str, app_id: &str) -> Result<Self, CryptoError> {
        if encoding_aes_key.len() != 43 {
            return Err(CryptoError::BadKey);
        }
        let bytes = key_engine()
            .decode(format!("{encoding_aes_key}="))
            .map_err(|_| CryptoError::BadKey)?;
        let key: [u8; 32] = bytes.try_into().map_err(|_| CryptoError::BadKey)?;
        Ok(Self {
            key,
            app_id: app_id.to_string(),
        })
    }

    fn iv(&self) -> [u8; 16] {
        let mut iv = [0u8; 16];
        iv.copy_from_slice(&self.key[..16]);
        iv
    }

    /// Opens an encrypted callback: checks `msg_signature` (over the token,
    /// timestamp, nonce and the `Encrypt` value, in constant time), then
    /// decrypts. The signature is what makes a changed ciphertext fail: CBC
    /// alone would let a flipped bit through into the message.
    pub fn open(
        &self,
        token: &str,
        timestamp: &str,
        nonce: &str,
        msg_signature: &str,
        encrypted: &str,
    ) -> Result<String, CryptoError> {
        if !super::signature::verify(msg_signature, &[token, timestamp, nonce, encrypted]) {
            return Err(CryptoError::BadSignature);
        }
        self.decrypt(encrypted)
    }

    /// Decrypts an `Encrypt` value and checks padding, length and AppID.
    pub fn decrypt(&self, encrypted: &str) -> Result<String, CryptoError> {
        let mut data = STANDARD
            .decode(encrypted.trim())
            .map_err(|_| CryptoError::BadBase64)?;
        if data.is_empty() || data.len() % 16 != 0 {
            return Err(CryptoError::BadCiphertextLength(data.len()));
        }
        let plain = Decryptor::new(&self.key.into(), &self.iv().into())
            .decrypt_padded_mut::<NoPadding>(&mut data)
            .map_err(|_| CryptoError::BadPadding)?;
        let pad = *plain.last().ok_or(CryptoError::BadPadding)? as usize;
        if pad == 0
            || pad > PAD_BLOCK
            || pad > plain.len()
            || plain[plain.len() - pad..]
                .iter()
                .any(|b| *b as usize != pad)
        {
            return Err(CryptoError::BadPadding);
        }
        let body = &plain[..plain.len() - pad];
        if body.len() < RANDOM_PREFIX + 4 {
            return Err(CryptoError::BadLength);
        }
        let length_bytes: [u8; 4] = body[RANDOM_PREFIX..RANDOM_PREFIX + 4]
            .try_into()
            .map_err(|_| CryptoError::BadLength)?;
        let length = u32::from_be_bytes(length_bytes) as usize;
        let message_start = RANDOM_PREFIX + 4;
        let message_end = message_start
            .checked_add(length)
            .ok_or(CryptoError::BadLength)?;
        if message_end > body.len() {
            return Err(CryptoError::BadLength);
        }
        let app_id = &body[message_end..];
        if app_id != self.app_id.as_bytes() {
            return Err(CryptoError::WrongAppId {
                found: String::from_utf8_lossy(app_id).chars().take(64).collect(),
            });
        }
        String::from_utf8(body[message_start..message_end].to_vec())
            .map_err(|_| CryptoError::NotUtf8)
    }

    /// Encrypts `message` with a fresh random prefix from a CSPRNG (ChaCha,
    /// seeded from the OS: no system call per message).
    pub fn encrypt(&self, message: &str) -> String {
        let mut prefix = [0u8; RANDOM_PREFIX];
        rand::thread_rng().fill_bytes(&mut prefix);
        self.encrypt_with_prefix(message, prefix)
    }

    /// Encryption with a given prefix: deterministic, for fixed test vectors.
    pub fn encrypt_with_prefix(&self, message: &str, prefix: [u8; RANDOM_PREFIX]) -> String {
        let mut data =
            Vec::with_capacity(RANDOM_PREFIX + 4 + message.len() + self.app_id.len() + PAD_BLOCK);
        data.extend_from_slice(&prefix);
        data.extend_from_slice(&(message.len() as u32).to_be_bytes());
        data.extend_from_slice(message.as_bytes());
        data.extend_from_slice(self.app_id.as_bytes());
        let pad = PAD_BLOCK - data.len() % PAD_BLOCK;
        data.extend(std::iter::repeat_n(pad as u8, pad));
        let length = data.len();
        let encrypted = Encryptor::new(&self.key.into(), &self.iv().into())
            .encrypt_padded_mut::<NoPadding>(&mut data, length)
            .map(<[u8]>::to_vec)
            .unwrap_or_default();
        STANDARD.encode(encrypted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const KEY: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
    const APP_ID: &str = "wx5823bf96d3bd56c7";

    #[test]
    fn round_trip_with_chinese_and_emoji() {
        let crypto = MessageCrypto::new(KEY, APP_ID).unwrap();
        for message in [
            "",
            "a",
            "<xml><Content><![CDATA[你好 🎉]]></Content></xml>",
            &"x".repeat(5000),
        ] {
            assert_eq!(crypto.decrypt(&crypto.encrypt(message)).unwrap(), message);
        }
    }

    #[test]
    fn fixed_vector() {
        // Computed independently with Python's `cryptography` package from the
        // layout in WECHAT.md (prefix 16 × 'a').
        let crypto = MessageCrypto::new(KEY, APP_ID).unwrap();
        let encrypted = crypto.encrypt_with_prefix("hello", *b"aaaaaaaaaaaaaaaa");
        assert_eq!(encrypted, FIXED_CIPHERTEXT);
        assert_eq!(crypto.decrypt(FIXED_CIPHERTEXT).unwrap(), "hello");
    }

    const FIXED_CIPHERTEXT: &str = include_str!("testdata/hello.b64");

    #[test]
    fn strict_checks() {
        let crypto = MessageCrypto::new(KEY, APP_ID).unwrap();
        let other = MessageCrypto::new(KEY, "wxother").unwrap();
        assert_eq!(crypto.decrypt("not base64!!"), Err(CryptoError::BadBase64));
        assert_eq!(
            crypto.decrypt("AAAA"),
            Err(CryptoError::BadCiphertextLength(3))
        );
        assert!(matches!(
            crypto.decrypt(&other.encrypt("hi")),
            Err(CryptoError::WrongAppId { .. })
        ));
        // A valid ciphertext of bytes whose last byte is not a valid pad.
        let mut raw = vec![7u8; 64];
        raw[63] = 33;
        let len = raw.len();
        let bad_pad = Encryptor::new(&crypto.key.into(), &crypto.iv().into())
            .encrypt_padded_mut::<NoPadding>(&mut raw, len)
            .unwrap()
            .to_vec();
        assert_eq!(
            crypto.decrypt(&STANDARD.encode(bad_pad)),
            Err(CryptoError::BadPadding)
        );
        // Correct padding but a length field pointing past the end.
        let mut raw = vec![0u8; 64];
        raw[16..20].copy_from_slice(&1000u32.to_be_bytes());
        raw[32..].fill(32);
        let len = raw.len();
        let bad_len = Encryptor::new(&crypto.key.into(), &crypto.iv().into())
            .encrypt_padded_mut::<NoPadding>(&mut raw, len)
            .unwrap()
            .to_vec();
        assert_eq!(
            crypto.decrypt(&STANDARD.encode(bad_len)),
            Err(CryptoError::BadLength)
        );
        assert_eq!(
            MessageCrypto::new("short", APP_ID).err(),
            Some(CryptoError::BadKey)
        );
        assert_eq!(
            MessageCrypto::new(&"!".repeat(43), APP_ID).err(),
            Some(CryptoError::BadKey)
        );
    }

    #[test]
    fn keys_with_non_canonical_trailing_bits_are_accepted() {
        // 'H' and 'G' differ only in bits that 43 characters cannot carry.
        let a = MessageCrypto::new("abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", APP_ID).unwrap();
        let b = MessageCrypto::new("abcdefghijklmnopqrstuvwxyz0123456789ABCDEFH", APP_ID).unwrap();
        assert_eq!(a.key, b.key);
    }

    /// Any key: 43 characters of the base64 alphabet.
    fn any_key() -> impl Strategy<Value = String> {
        "[A-Za-z0-9+/]{43}"
    }

    /// A message whose plaintext (prefix, length, message, AppID) ends
    /// within two bytes of a 32-byte block edge, for an AppID of `app_len`
    /// bytes: the pad is then 1–2, 30–32 bytes.
    fn message_at_block_edge(app_len: usize) -> impl Strategy<Value = String> {
        (0usize..8, -2isize..=2).prop_flat_map(move |(blocks, delta)| {
            let total = (blocks * PAD_BLOCK) as isize + delta;
            let len = (total - (RANDOM_PREFIX + 4 + app_len) as isize).max(0) as usize;
            proptest::string::string_regex(&format!("[ -~]{{{len}}}")).unwrap()
        })
    }

    proptest! {
        #[test]
        fn decrypt_undoes_encrypt_for_any_message_and_app_id(
            key in any_key(),
            app_id in "\\PC{0,40}",
            message in "\\PC{0,300}",
        ) {
            let crypto = MessageCrypto::new(&key, &app_id).unwrap();
            prop_assert_eq!(crypto.decrypt(&crypto.encrypt(&message)), Ok(message));
        }

        #[test]
        fn decrypt_undoes_encrypt_at_every_length_around_the_block_edges(
            (app_id, message) in "[a-z0-9]{0,40}".prop_flat_map(|app_id| {
                let len = app_id.len();
                (Just(app_id), message_at_block_edge(len))
            }),
        ) {
            let crypto = MessageCrypto::new(KEY, &app_id).unwrap();
            let sealed = crypto.encrypt(&message);
            prop_assert_eq!(STANDARD.decode(&sealed).unwrap().len() % PAD_BLOCK, 0);
            prop_assert_eq!(crypto.decrypt(&sealed), Ok(message));
        }

        #[test]
        fn any_single_bit_change_to_ciphertext_or_signature_is_refused(
            message in "\\PC{0,100}",
            flip_ciphertext in any::<bool>(),
            bit in any::<prop::sample::Index>(),
        ) {
            let crypto = MessageCrypto::new(KEY, APP_ID).unwrap();
            let (token, timestamp, nonce) = ("token", "1700000000", "nonce");
            let mut sealed = STANDARD.decode(crypto.encrypt(&message)).unwrap();
            let mut signature_hex =
                super::super::signature::sign(&[token, timestamp, nonce, &STANDARD.encode(&sealed)]);
            let opened = crypto.open(token, timestamp, nonce, &signature_hex, &STANDARD.encode(&sealed));
            prop_assert_eq!(opened, Ok(message));
            if flip_ciphertext {
                let at = bit.index(sealed.len() * 8);
                sealed[at / 8] ^= 1 << (at % 8);
            } else {
                // The signature as bytes (the hex digits' values), one bit changed.
                let mut raw: Vec<u8> = (0..signature_hex.len() / 2)
                    .map(|i| u8::from_str_radix(&signature_hex[2 * i..2 * i + 2], 16).unwrap())
                    .collect();
                let at = bit.index(raw.len() * 8);
                raw[at / 8] ^= 1 << (at % 8);
                signature_hex = super::super::signature::hex(&raw);
            }
            let opened = crypto.open(token, timestamp, nonce, &signature_hex, &STANDARD.encode(&sealed));
            prop_assert_eq!(opened, Err(CryptoError::BadSignature));
        }
    }
}
