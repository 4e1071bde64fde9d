//! The query parameters every list route shares: `page`, `page_size` and the
//! `start` / `end` time bounds, read the same way everywhere.

use std::collections::HashMap;

use crate::error::AppError;

/// `page` (from 1) and `page_size` (1–100, default 20) of a list request.
#[derive(Clone, Copy, Debug)]
pub struct Page {
    pub page: u64,
    pub page_size: u64,
}

impl Page {
    pub fn from_params(params: &HashMap<String, String>) -> Result<Self, AppError> {
        let page: u64 = match params.get("page") {
            Some(raw) => raw.parse().ok().filter(|p| *p >= 1).ok_or_else(|| {
                AppError::BadRequest(format!("page={raw:?} must be a whole number from 1"))
            })?,
            None => 1,
        };
        let page_size: u64 = match params.get("page_size") {
            Some(raw) => raw
                .parse()
                .ok()
                .filter(|s| (1..=100).contains(s))
                .ok_or_else(|| {
                    AppError::BadRequest(format!("page_size={raw:?} must be from 1 to 100"))
                })?,
            None => 20,
        };
        Ok(Self { page, page_size })
    }
}

/// The (`start`, `end`) bounds of a list request, when given.
pub fn time_bounds(
    params: &HashMap<String, String>,
) -> Result<[Option<chrono::DateTime<chrono::Utc>>; 2], AppError> {
    let bound = |name: &str| {
        params
            .get(name)
            .filter(|v| !v.is_empty())
            .map(|raw| parse_time(name, raw))
            .transpose()
    };
    Ok([bound("start")?, bound("end")?])
}

/// `start` / `end` bounds: RFC 3339, `YYYY-MM-DD` (UTC midnight) or unix seconds.
fn parse_time(param: &str, raw: &str) -> Result<chrono::DateTime<chrono::Utc>, AppError> {
    let raw = raw.trim();
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(raw) {
        return Ok(t.with_timezone(&chrono::Utc));
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
        if let Some(t) = d.and_hms_opt(0, 0, 0) {
            return Ok(t.and_utc());
        }
    }
    if let Some(t) = raw
        .parse::<i64>()
        .ok()
        .and_then(|s| chrono::DateTime::from_timestamp(s, 0))
    {
        return Ok(t);
    }
    Err(AppError::BadRequest(format!(
        "{param}={raw:?} is not a time (RFC 3339, YYYY-MM-DD or unix seconds)"
    )))
}

/// Refuses a query value holding U+0000 (see `crate::text`).
pub fn refuse_nul(params: &HashMap<String, String>) -> Result<(), AppError> {
    match params.iter().find(|(_, v)| crate::text::has_nul(v)) {
        Some((name, _)) => Err(AppError::BadRequest(format!(
            "{name} {}",
            crate::text::NUL_REFUSED
        ))),
        None => Ok(()),
    }
}
