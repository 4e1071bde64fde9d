//! The one rule for U+0000 (NUL): wxmp never stores it. XML forbids it,
//! PostgreSQL cannot keep it in text or JSON columns, and a value one engine
//! keeps and another refuses would make a deployment's behaviour depend on
//! its database. Wherever text arrives (callback XML, JSON bodies, query
//! strings, plugin state) a NUL is refused with a 4xx that says where.

use serde_json::Value;

pub const NUL_REFUSED: &str = "contains the character U+0000 (NUL), which is not stored";

pub fn has_nul(text: &str) -> bool {
    text.contains('\0')
}

/// The path (`content`, `articles[1].title`, …) of the first string or key
/// in `value` holding a NUL; `None` when there is none.
pub fn json_path_with_nul(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if has_nul(s) => Some(String::new()),
        Value::Array(items) => items.iter().enumerate().find_map(|(i, item)| {
            json_path_with_nul(item).map(|rest| format!("[{i}]{}", tail(&rest)))
        }),
        Value::Object(map) => map.iter().find_map(|(key, item)| {
            if has_nul(key) {
                return Some(key.replace('\0', "\\0"));
            }
            json_path_with_nul(item).map(|rest| format!("{key}{}", tail(&rest)))
        }),
        _ => None,
    }
}

/// What follows a path segment: `[i]…` as is, a field name after a dot.
fn tail(rest: &str) -> String {
    if rest.is_empty() || rest.starts_with('[') {
        rest.to_string()
    } else {
        format!(".{rest}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nul_is_found_with_its_path() {
        assert_eq!(json_path_with_nul(&json!({"a": "ok", "b": 1})), None);
        assert_eq!(
            json_path_with_nul(&json!({"content": "a\u{0}b"})).as_deref(),
            Some("content")
        );
        assert_eq!(
            json_path_with_nul(&json!({"articles": [{"t": "x"}, {"title": "\u{0}"}]})).as_deref(),
            Some("articles[1].title")
        );
        assert_eq!(
            json_path_with_nul(&json!({"k": ["", "\u{0}"]})).as_deref(),
            Some("k[1]")
        );
    }
}
