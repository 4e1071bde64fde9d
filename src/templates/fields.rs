//! The fields of a template message, read from the template's own content:
//! each `{{key.DATA}}` placeholder with the label written before it on its
//! line (`变动积分：{{number2.DATA}}` → 变动积分) and, for the templates WeChat
//! has issued since 2023, the type its key names (`thing2` is a thing), whose
//! limits a value must keep (WeChat refuses the message otherwise). Keys of
//! older templates (`first`, `keyword1`, `remark`) name no type: any text.
//! Pure: no I/O.

use std::sync::LazyLock;

use regex::Regex;

/// A value type of template fields, and what WeChat accepts for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Thing,
    Number,
    Letter,
    Symbol,
    CharacterString,
    Time,
    Date,
    Amount,
    PhoneNumber,
    CarNumber,
    Name,
    Phrase,
}

/// Every kind.
pub const KINDS: [Kind; 12] = [
    Kind::Thing,
    Kind::Number,
    Kind::Letter,
    Kind::Symbol,
    Kind::CharacterString,
    Kind::Time,
    Kind::Date,
    Kind::Amount,
    Kind::PhoneNumber,
    Kind::CarNumber,
    Kind::Name,
    Kind::Phrase,
];

impl Kind {
    /// The type a key names: its letters before the trailing digits.
    pub fn of_key(key: &str) -> Option<Kind> {
        Some(match key.trim_end_matches(|c: char| c.is_ascii_digit()) {
            "thing" => Kind::Thing,
            "number" => Kind::Number,
            "letter" => Kind::Letter,
            "symbol" => Kind::Symbol,
            "character_string" => Kind::CharacterString,
            "time" => Kind::Time,
            "date" => Kind::Date,
            "amount" => Kind::Amount,
            "phone_number" => Kind::PhoneNumber,
            "car_number" => Kind::CarNumber,
            "name" => Kind::Name,
            "phrase" => Kind::Phrase,
            _ => return None,
        })
    }

    /// The longest value, in characters.
    pub fn max_chars(self) -> usize {
        match self {
            Kind::Thing => 20,
            Kind::Number | Kind::Letter | Kind::CharacterString => 32,
            Kind::Symbol | Kind::Phrase => 5,
            Kind::Amount => 15,
            Kind::PhoneNumber => 17,
            Kind::CarNumber => 8,
            Kind::Name => 20,
            Kind::Time | Kind::Date => 40,
        }
    }

    /// What WeChat accepts, in English: the reason of a refused value. Each
    /// text is a field reason with a stable code (`src/error/codes.rs`).
    pub fn rule(self) -> &'static str {
        match self {
            Kind::Thing => "must be 1–20 characters (a thing field)",
            Kind::Number => "must be a number of up to 32 digits, with decimals allowed (a number field)",
            Kind::Letter => "must be 1–32 letters A–Z (a letter field)",
            Kind::Symbol => "must be 1–5 symbols (a symbol field)",
            Kind::CharacterString => "must be 1–32 letters, digits or symbols, no Chinese and no spaces (a character_string field)",
            Kind::Time => "must be a 24-hour time such as 15:01, a date may come first (a time field)",
            Kind::Date => "must be a date such as 2026-10-01 or 2026年10月1日, a time may follow (a date field)",
            Kind::Amount => "must be an amount: a currency sign, up to 10 digits, decimals allowed, 元 at the end allowed (an amount field)",
            Kind::PhoneNumber => "must be a phone number of up to 17 digits and symbols (a phone_number field)",
            Kind::CarNumber => "must be a plate number of up to 8 characters, letters and digits, Chinese only first and last (a car_number field)",
            Kind::Name => "must be a name: up to 10 Chinese characters, or up to 20 letters (a name field)",
            Kind::Phrase => "must be 1–5 Chinese characters (a phrase field)",
        }
    }

    /// Whether WeChat takes `value` for a field of this type.
    pub fn accepts(self, value: &str) -> bool {
        static TIME: LazyLock<Regex> =
            LazyLock::new(|| Regex::new(&format!(r"^(?:{DATE}\s*)?{CLOCK}$")).unwrap());
        static DATE_AND_TIME: LazyLock<Regex> =
            LazyLock::new(|| Regex::new(&format!(r"^{DATE}(?:\s*{CLOCK})?$")).unwrap());
        static AMOUNT: LazyLock<Regex> =
            LazyLock::new(|| Regex::new(r"^[¥￥$€£]?\d{1,10}(?:\.\d{1,2})?元?$").unwrap());
        static NUMBER: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^\d+(?:\.\d+)?$").unwrap());
        let chars = value.chars().count();
        if value.trim().is_empty() || chars > self.max_chars() {
            return false;
        }
        let chinese = |c: char| {
            ('\u{4e00}'..='\u{9fff}').contains(&c) || ('\u{3400}'..='\u{4dbf}').contains(&c)
        };
        let symbol =
            |c: char| c.is_ascii_punctuation() || (!c.is_alphanumeric() && !c.is_whitespace());
        // A time span: two values joined by "~".
        let span = |one: &Regex| {
            value
                .split('~')
                .map(str::trim)
                .all(|part| one.is_match(part))
                && value.matches('~').count() <= 1
        };
        match self {
            Kind::Thing => true,
            Kind::Number => {
                NUMBER.is_match(value) && value.chars().filter(char::is_ascii_digit).count() <= 32
            }
            Kind::Letter => value.chars().all(|c| c.is_ascii_alphabetic()),
            Kind::Symbol => value.chars().all(symbol),
            Kind::CharacterString => value.chars().all(|c| c.is_ascii_graphic()),
            Kind::Time => span(&TIME),
            Kind::Date => span(&DATE_AND_TIME),
            Kind::Amount => AMOUNT.is_match(value),
            Kind::PhoneNumber => {
                value
                    .chars()
                    .all(|c| c.is_ascii_digit() || "+-() ".contains(c))
                    && value.chars().any(|c| c.is_ascii_digit())
            }
            Kind::CarNumber => {
                let inner: Vec<char> = value.chars().collect();
                inner.iter().enumerate().all(|(i, c)| {
                    c.is_ascii_alphanumeric() || (chinese(*c) && (i == 0 || i == inner.len() - 1))
                })
            }
            Kind::Name => {
                (value.chars().all(chinese) && chars <= 10)
                    || value
                        .chars()
                        .all(|c| c.is_ascii_alphabetic() || c == ' ' || c == '.' || c == '·')
            }
            Kind::Phrase => value.chars().all(chinese),
        }
    }
}

/// A date: 2026-10-01, 2026/10/01, 2026.10.01 or 2026年10月1日.
const DATE: &str = r"\d{4}(?:[-/.]\d{1,2}[-/.]\d{1,2}|年\d{1,2}月\d{1,2}日)";
/// A 24-hour time: 9:05, 15:01, 15:01:30.
const CLOCK: &str = r"(?:[01]?\d|2[0-3]):[0-5]\d(?::[0-5]\d)?";

/// One placeholder of a template.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Field {
    pub key: String,
    /// The text before the placeholder on its line, without its colon;
    /// empty when there is none (`{{first.DATA}}` alone on a line).
    pub label: String,
    pub kind: Option<Kind>,
    /// The longest value WeChat takes, for typed fields.
    pub max_chars: Option<usize>,
}

/// The template's placeholders in order of appearance, each once.
pub fn fields(content: &str) -> Vec<Field> {
    static PLACEHOLDER: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"\{\{\s*([^{}]+?)\.DATA\s*\}\}").unwrap());
    let mut found: Vec<Field> = Vec::new();
    for line in content.lines() {
        let mut from = 0;
        for capture in PLACEHOLDER.captures_iter(line) {
            let (Some(whole), Some(key)) = (capture.get(0), capture.get(1)) else {
                continue;
            };
            let key = key.as_str().trim().to_string();
            let label = line[from..whole.start()]
                .trim()
                .trim_end_matches([':', '：'])
                .trim()
                .to_string();
            from = whole.end();
            if found.iter().any(|f| f.key == key) {
                continue;
            }
            let kind = Kind::of_key(&key);
            found.push(Field {
                label,
                max_chars: kind.map(Kind::max_chars),
                kind,
                key,
            });
        }
    }
    found
}

/// The reason WeChat would refuse `value` for `field`, if it would.
pub fn problem(field: &Field, value: &str) -> Option<&'static str> {
    match field.kind {
        Some(kind) if !kind.accepts(value) => Some(kind.rule()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_come_from_the_text_before_each_placeholder() {
        let content = "{{first.DATA}}\n变动积分：{{keyword1.DATA}}\n当前积分: {{number2.DATA}} 分\n时间：{{time3.DATA}} 地点：{{thing4.DATA}}\n{{remark.DATA}}";
        let got: Vec<(String, String, Option<Kind>)> = fields(content)
            .into_iter()
            .map(|f| (f.key, f.label, f.kind))
            .collect();
        assert_eq!(
            got,
            vec![
                ("first".into(), "".into(), None),
                ("keyword1".into(), "变动积分".into(), None),
                ("number2".into(), "当前积分".into(), Some(Kind::Number)),
                ("time3".into(), "时间".into(), Some(Kind::Time)),
                ("thing4".into(), "地点".into(), Some(Kind::Thing)),
                ("remark".into(), "".into(), None),
            ]
        );
    }

    #[test]
    fn values_keep_the_limits_of_their_types() {
        let ok = [
            (Kind::Thing, "二十个字以内的任意内容 OK!"),
            (Kind::Number, "12.5"),
            (Kind::Letter, "ABC"),
            (Kind::Symbol, "+-*"),
            (Kind::CharacterString, "SN-2026/001"),
            (Kind::Time, "15:01"),
            (Kind::Time, "2019年10月1日 15:01"),
            (Kind::Time, "09:00~18:00"),
            (Kind::Date, "2019年10月1日"),
            (Kind::Date, "2026-12-07 15:01"),
            (Kind::Amount, "¥99.50"),
            (Kind::Amount, "100元"),
            (Kind::PhoneNumber, "+86-0766-66888866"),
            (Kind::CarNumber, "粤A12345"),
            (Kind::Name, "张三"),
            (Kind::Name, "Tom Lee"),
            (Kind::Phrase, "配送中"),
        ];
        for (kind, value) in ok {
            assert!(kind.accepts(value), "{kind:?} takes {value:?}");
        }
        let refused = [
            (Kind::Thing, ""),
            (Kind::Thing, "这一段文字一共有二十一个字符所以太长了啊啊"),
            (Kind::Number, "12a"),
            (Kind::Number, "1.2.3"),
            (Kind::Letter, "AB1"),
            (Kind::Symbol, "abc"),
            (Kind::Symbol, "!!!!!!"),
            (Kind::CharacterString, "订单 1"),
            (Kind::CharacterString, "a b"),
            (Kind::Time, "3pm"),
            (Kind::Time, "25:00"),
            (Kind::Date, "15:01"),
            (Kind::Date, "yesterday"),
            (Kind::Amount, "九十九元"),
            (Kind::Amount, "12345678901"),
            (Kind::PhoneNumber, "call me"),
            (Kind::PhoneNumber, "123456789012345678"),
            (Kind::CarNumber, "A粤12345"),
            (Kind::Name, "张三3"),
            (Kind::Phrase, "配送中 ok"),
            (Kind::Phrase, "一二三四五六"),
        ];
        for (kind, value) in refused {
            assert!(!kind.accepts(value), "{kind:?} refuses {value:?}");
        }
    }

    #[test]
    fn every_rule_is_a_field_reason_with_a_stable_code() {
        use crate::error::codes::FIELD_REASONS;
        for kind in KINDS {
            assert!(
                FIELD_REASONS.iter().any(|(_, text)| *text == kind.rule()),
                "{kind:?}: add its rule to FIELD_REASONS"
            );
        }
    }

    #[test]
    fn keys_of_older_templates_take_any_text() {
        let field = &fields("订单号：{{keyword1.DATA}}")[0];
        assert_eq!(problem(field, "whatever 任意"), None);
        let field = &fields("{{thing1.DATA}}")[0];
        assert_eq!(problem(field, ""), Some(Kind::Thing.rule()));
    }
}
