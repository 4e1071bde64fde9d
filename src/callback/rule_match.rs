//! What a reply rule matches: its keywords (one per line of the `keyword`
//! field) compared exactly, as a substring or as regular expressions, and
//! the daily window (Beijing time) it answers in. Compiled once per rule
//! when an account's rules are loaded; checked when an admin saves one.

use chrono::{DateTime, FixedOffset, Timelike, Utc};

use crate::entity::enums::MatchType;

/// Compiled regular expressions are capped, so a rule cannot make the
/// callback build a huge automaton (matching itself is linear in the text).
const REGEX_SIZE_LIMIT: usize = 256 * 1024;

/// The keywords of a rule, ready to compare.
#[derive(Clone, Debug)]
pub enum Keywords {
    /// Trimmed; the whole (trimmed) text equals one, ASCII case ignored.
    Exact(Vec<String>),
    /// Lower-cased; the lower-cased text contains one.
    Contains(Vec<String>),
    Regex(Vec<regex::Regex>),
}

/// The lines of a `keyword` field: each keyword trimmed, empty lines left out.
pub fn keyword_lines(field: &str) -> impl Iterator<Item = (usize, &str)> {
    field
        .lines()
        .enumerate()
        .map(|(i, line)| (i + 1, line.trim()))
        .filter(|(_, line)| !line.is_empty())
}

fn regex(line: &str) -> Result<regex::Regex, regex::Error> {
    regex::RegexBuilder::new(line)
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
}

impl Keywords {
    /// `None` when a regular expression does not compile (refused on save,
    /// so only a row written around the API): the rule is left out.
    pub fn compile(field: &str, match_type: MatchType) -> Option<Self> {
        let lines = keyword_lines(field).map(|(_, line)| line);
        Some(match match_type {
            MatchType::Exact => Keywords::Exact(lines.map(str::to_string).collect()),
            MatchType::Contains => Keywords::Contains(lines.map(str::to_lowercase).collect()),
            MatchType::Regex => Keywords::Regex(lines.map(regex).collect::<Result<_, _>>().ok()?),
        })
    }

    /// Whether `text` (and `lowered`, the same lower-cased) matches.
    pub fn matches(&self, text: &str, lowered: &str) -> bool {
        match self {
            Keywords::Exact(words) => {
                let trimmed = text.trim();
                words.iter().any(|w| trimmed.eq_ignore_ascii_case(w))
            }
            Keywords::Contains(words) => words.iter().any(|w| lowered.contains(w.as_str())),
            Keywords::Regex(patterns) => patterns.iter().any(|p| p.is_match(text)),
        }
    }
}

/// Beijing time, the clock operators set windows by (China has one zone
/// and no daylight saving).
fn beijing() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset")
}

/// Minutes since midnight of "HH:MM" (00:00–23:59).
fn minute_of_day(text: &str) -> Option<u32> {
    let (hours, minutes) = text.split_once(':')?;
    if hours.len() != 2 || minutes.len() != 2 {
        return None;
    }
    let (hours, minutes): (u32, u32) = (hours.parse().ok()?, minutes.parse().ok()?);
    (hours < 24 && minutes < 60).then_some(hours * 60 + minutes)
}

/// A daily window: from `from` (included) to `until` (excluded), wrapping
/// past midnight when `until` is earlier.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DailyWindow {
    from: u32,
    until: u32,
}

impl DailyWindow {
    /// `Ok(None)`: all day (both empty).
    pub fn parse(from: &str, until: &str) -> Result<Option<Self>, WindowError> {
        // Not trimmed: what passes is exactly what the 5-character columns hold.
        match (from, until) {
            ("", "") => Ok(None),
            ("", _) => Err(WindowError::Missing("active_from")),
            (_, "") => Err(WindowError::Missing("active_until")),
            (from_text, until_text) => {
                let from = minute_of_day(from_text).ok_or(WindowError::NotATime("active_from"))?;
                let until =
                    minute_of_day(until_text).ok_or(WindowError::NotATime("active_until"))?;
                if from == until {
                    return Err(WindowError::Empty);
                }
                Ok(Some(DailyWindow { from, until }))
            }
        }
    }

    pub fn contains(&self, at: DateTime<Utc>) -> bool {
        let local = at.with_timezone(&beijing());
        let minute = local.hour() * 60 + local.minute();
        if self.from < self.until {
            (self.from..self.until).contains(&minute)
        } else {
            minute >= self.from || minute < self.until
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum WindowError {
    Missing(&'static str),
    NotATime(&'static str),
    Empty,
}

/// The field errors of a rule's keywords and window, for the admin API:
/// (field, reason).
pub fn rule_errors(
    keyword: &str,
    match_type: i16,
    from: &str,
    until: &str,
) -> Vec<(&'static str, String)> {
    let mut errors = Vec::new();
    if MatchType::from_code(match_type) == Some(MatchType::Regex) {
        if let Some((line, error)) =
            keyword_lines(keyword).find_map(|(n, line)| regex(line).err().map(|e| (n, e)))
        {
            let detail = match error {
                regex::Error::CompiledTooBig(_) => "it is too large".to_string(),
                other => other
                    .to_string()
                    .lines()
                    .last()
                    .unwrap_or("")
                    .trim()
                    .to_string(),
            };
            errors.push((
                "keyword",
                format!("line {line} is not a valid regular expression: {detail}"),
            ));
        }
    }
    match DailyWindow::parse(from, until) {
        Ok(_) => {}
        Err(WindowError::Missing(field)) => errors.push((
            field,
            "is required when the other end of the window is set".to_string(),
        )),
        Err(WindowError::NotATime(field)) => errors.push((
            field,
            "must be a time of day as HH:MM (00:00–23:59)".to_string(),
        )),
        Err(WindowError::Empty) => {
            errors.push(("active_until", "must differ from active_from".to_string()))
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at_beijing(hour: u32, minute: u32) -> DateTime<Utc> {
        beijing()
            .with_ymd_and_hms(2026, 12, 7, hour, minute, 0)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn several_keywords_one_per_line() {
        let exact = Keywords::compile(" 你好 \n\nhello\n", MatchType::Exact).unwrap();
        for text in ["你好", " HELLO "] {
            assert!(exact.matches(text, &text.to_lowercase()), "{text}");
        }
        assert!(!exact.matches("你好呀", "你好呀"));
        let contains = Keywords::compile("门店\nStore", MatchType::Contains).unwrap();
        assert!(contains.matches("请问门店在哪", "请问门店在哪"));
        assert!(contains.matches("your STORE?", "your store?"));
        assert!(!contains.matches("营业时间", "营业时间"));
    }

    #[test]
    fn regular_expressions_match_anywhere_unless_anchored() {
        let rule = Keywords::compile("^订单\\s*\\d{6}$\n(?i)refund", MatchType::Regex).unwrap();
        assert!(rule.matches("订单 123456", ""));
        assert!(rule.matches("I want a REFUND", ""));
        assert!(!rule.matches("订单 12345", ""));
        assert!(Keywords::compile("(", MatchType::Regex).is_none());
    }

    #[test]
    fn windows_wrap_past_midnight_in_beijing_time() {
        let day = DailyWindow::parse("09:00", "18:00").unwrap().unwrap();
        assert!(day.contains(at_beijing(9, 0)));
        assert!(day.contains(at_beijing(17, 59)));
        assert!(!day.contains(at_beijing(18, 0)));
        let night = DailyWindow::parse("18:00", "09:00").unwrap().unwrap();
        assert!(night.contains(at_beijing(23, 30)));
        assert!(night.contains(at_beijing(0, 10)));
        assert!(!night.contains(at_beijing(12, 0)));
        assert_eq!(DailyWindow::parse("", ""), Ok(None));
    }

    #[test]
    fn bad_rules_name_the_field_and_the_line() {
        let errors = rule_errors("ok\n[unclosed", 3, "", "");
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].0, "keyword");
        assert!(
            errors[0]
                .1
                .starts_with("line 2 is not a valid regular expression"),
            "{errors:?}"
        );
        assert_eq!(rule_errors("(", 2, "", ""), vec![]);
        assert_eq!(rule_errors("", 1, "9:00", "18:00")[0].0, "active_from");
        assert_eq!(rule_errors("", 1, "09:00", "")[0].0, "active_until");
        assert_eq!(rule_errors("", 1, "24:00", "08:00")[0].0, "active_from");
        assert_eq!(rule_errors("", 1, "08:00", "08:00")[0].0, "active_until");
        assert_eq!(rule_errors("", 1, " 09:00", "18:00")[0].0, "active_from");
        assert_eq!(rule_errors("", 1, "22:00", "08:00"), vec![]);
    }
}
