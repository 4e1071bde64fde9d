//! The small-integer codes stored in the `wx_*` tables, as enums. Each code
//! is written here once; the rest of the code names the variant.

/// An enum stored as a SMALLINT: `code()` to write it, `from_code()` to read it.
macro_rules! stored_code {
    ($(#[$meta:meta])* $name:ident { $($(#[$variant_meta:meta])* $variant:ident = $code:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum $name {
            $($(#[$variant_meta])* $variant = $code),+
        }

        impl $name {
            /// Every code, for validation messages.
            pub const CODES: &'static [i16] = &[$($code),+];

            pub const fn code(self) -> i16 {
                self as i16
            }

            pub fn from_code(code: i16) -> Option<Self> {
                match code {
                    $($code => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        impl From<$name> for sea_orm::Value {
            fn from(value: $name) -> Self {
                value.code().into()
            }
        }
    };
}

stored_code!(
    /// `wx_accounts.message_mode`: how WeChat and the server exchange messages.
    MessageMode {
        Plaintext = 0,
        /// Plain fields and an `<Encrypt>` element; replies may be either.
        Compatible = 1,
        /// Safe mode: everything encrypted.
        Aes = 2,
    }
);

stored_code!(
    /// `wx_messages.direction`.
    Direction {
        /// A reply or message we sent to the fan.
        Sent = 0,
        /// A message or event from the fan.
        Received = 1,
    }
);

stored_code!(
    /// `wx_auto_replies.reply_type`: when a rule answers.
    ReplyType {
        /// On subscribe.
        Follow = 1,
        /// On a matching keyword (or menu click key).
        Keyword = 2,
        /// On a text nothing else answered.
        Default = 3,
    }
);

stored_code!(
    /// `wx_auto_replies.reply_mode`: what a rule with several replies sends.
    ReplyMode {
        /// Every reply: the first answers the message, the others follow as
        /// customer-service messages (WeChat's 回复全部).
        All = 0,
        /// One of them, picked at random for each message (随机回复一条).
        Random = 1,
    }
);

stored_code!(
    /// `wx_auto_replies.match_type`.
    MatchType {
        /// The whole text equals the keyword (after trimming, ASCII case ignored).
        Exact = 1,
        /// The text contains the keyword.
        Contains = 2,
        /// The text matches the keyword as a regular expression.
        Regex = 3,
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for code in MessageMode::CODES {
            assert_eq!(
                MessageMode::from_code(*code).map(MessageMode::code),
                Some(*code)
            );
        }
        assert_eq!(ReplyType::from_code(4), None);
        assert_eq!(Direction::Received.code(), 1);
        assert_eq!(MatchType::CODES, &[1, 2, 3]);
    }
}
