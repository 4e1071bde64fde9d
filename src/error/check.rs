//! Field checks shared by every write the admin API validates (the generic
//! resources, the menu editor's tree): each puts a reason with a code in
//! [`super::codes::FIELD_REASONS`] under the field's name.

use super::FieldErrors;

pub fn one_of<T: PartialEq + std::fmt::Debug>(
    errors: &mut FieldErrors,
    field: &str,
    value: &T,
    allowed: &[T],
) {
    if !allowed.contains(value) {
        errors.insert(field.into(), format!("must be one of {allowed:?}"));
    }
}

pub fn required(errors: &mut FieldErrors, field: &str, value: &str) {
    if value.trim().is_empty() {
        errors.insert(field.into(), "is required".into());
    }
}

/// Length in bytes, as WeChat counts it.
pub fn max_bytes(errors: &mut FieldErrors, field: &str, value: &str, max: usize) {
    if value.len() > max {
        errors.insert(
            field.into(),
            format!("must be at most {max} bytes (UTF-8), is {}", value.len()),
        );
    }
}

pub fn max_chars(errors: &mut FieldErrors, field: &str, value: &str, max: usize) {
    if value.chars().count() > max {
        errors.insert(field.into(), format!("must be at most {max} characters"));
    }
}

/// Empty, or an http(s) URL.
pub fn url(errors: &mut FieldErrors, field: &str, value: &str) {
    let is_http = value.starts_with("http://") || value.starts_with("https://");
    if !value.is_empty() && !is_http {
        errors.insert(field.into(), "must be an http:// or https:// URL".into());
    } else {
        max_bytes(errors, field, value, 1024);
    }
}

pub fn not_negative(errors: &mut FieldErrors, field: &str, value: i64) {
    if value < 0 {
        errors.insert(field.into(), "must not be negative".into());
    }
}
