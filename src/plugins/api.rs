//! The script modules beside the core API: `reply::` builders, `time::`,
//! `regex::`, `json::` and `random::`.

use super::call::script_now;
use super::engine::{text_of, ScriptReply};
use std::collections::HashMap;
use std::sync::Mutex;

use rhai::{Array, Dynamic, EvalAltResult, ImmutableString, Map, Module};

use crate::wechat::{Article, Reply};

pub fn reply_module() -> Module {
    let mut m = Module::new();
    let wrap = |reply: Reply| ScriptReply(Some(reply));
    m.set_native_fn("text", move |content: ImmutableString| {
        Ok(wrap(Reply::Text {
            content: content.into(),
        }))
    });
    m.set_native_fn("image", move |media_id: ImmutableString| {
        Ok(wrap(Reply::Image {
            media_id: media_id.into(),
        }))
    });
    m.set_native_fn("voice", move |media_id: ImmutableString| {
        Ok(wrap(Reply::Voice {
            media_id: media_id.into(),
        }))
    });
    m.set_native_fn(
        "video",
        move |media_id: ImmutableString, title: ImmutableString, description: ImmutableString| {
            Ok(wrap(Reply::Video {
                media_id: media_id.into(),
                title: title.into(),
                description: description.into(),
            }))
        },
    );
    m.set_native_fn(
        "music",
        move |title: ImmutableString,
              description: ImmutableString,
              music_url: ImmutableString,
              hq_music_url: ImmutableString,
              thumb_media_id: ImmutableString| {
            Ok(wrap(Reply::Music {
                title: title.into(),
                description: description.into(),
                music_url: music_url.into(),
                hq_music_url: hq_music_url.into(),
                thumb_media_id: thumb_media_id.into(),
            }))
        },
    );
    m.set_native_fn(
        "news",
        move |title: ImmutableString,
              description: ImmutableString,
              pic_url: ImmutableString,
              url: ImmutableString| {
            Ok(wrap(Reply::News {
                articles: vec![Article {
                    title: title.into(),
                    description: description.into(),
                    pic_url: pic_url.into(),
                    url: url.into(),
                }],
            }))
        },
    );
    m.set_native_fn("news", move |items: Array| {
        let articles = items
            .into_iter()
            .map(|item| {
                let map = item
                    .try_cast::<Map>()
                    .ok_or("news items are maps with title, description, pic_url, url")?;
                let field = |name: &str| map.get(name).map(text_of).unwrap_or_default();
                Ok(Article {
                    title: field("title"),
                    description: field("description"),
                    pic_url: field("pic_url"),
                    url: field("url"),
                })
            })
            .collect::<Result<Vec<_>, Box<EvalAltResult>>>()?;
        if articles.is_empty() || articles.len() > 8 {
            return Err("a news reply has 1 to 8 articles".into());
        }
        Ok(wrap(Reply::News { articles }))
    });
    m.set_native_fn("transfer_customer_service", move || {
        Ok(wrap(Reply::TransferCustomerService))
    });
    m.set_native_fn("none", || Ok(ScriptReply(None)));
    m
}

fn time_map(moment: chrono::DateTime<chrono_tz::Tz>) -> Map {
    use chrono::{Datelike, Timelike};
    let mut map = Map::new();
    map.insert("year".into(), (moment.year() as i64).into());
    map.insert("month".into(), (moment.month() as i64).into());
    map.insert("day".into(), (moment.day() as i64).into());
    map.insert("hour".into(), (moment.hour() as i64).into());
    map.insert("minute".into(), (moment.minute() as i64).into());
    map.insert("second".into(), (moment.second() as i64).into());
    map.insert(
        "weekday".into(),
        (moment.weekday().number_from_monday() as i64).into(),
    );
    map.insert("timestamp".into(), moment.timestamp().into());
    map.insert("date".into(), moment.format("%Y-%m-%d").to_string().into());
    map.insert("time".into(), moment.format("%H:%M").to_string().into());
    map.insert("iso".into(), moment.to_rfc3339().into());
    map.insert("timezone".into(), moment.timezone().name().into());
    map
}

fn timezone(name: &str) -> Result<chrono_tz::Tz, Box<EvalAltResult>> {
    name.parse::<chrono_tz::Tz>()
        .map_err(|_| format!("unknown time zone {name:?} (e.g. \"Asia/Shanghai\")").into())
}

pub fn time_module() -> Module {
    let mut m = Module::new();
    // The call's clock: the real time, or the time a dry run fixed.
    m.set_native_fn("now", |tz: ImmutableString| {
        Ok(time_map(script_now().with_timezone(&timezone(&tz)?)))
    });
    m.set_native_fn("now", || {
        Ok(time_map(
            script_now().with_timezone(&chrono_tz::Asia::Shanghai),
        ))
    });
    m.set_native_fn("from_timestamp", |ts: i64, tz: ImmutableString| {
        let moment = chrono::DateTime::from_timestamp(ts, 0).ok_or("timestamp out of range")?;
        Ok(time_map(moment.with_timezone(&timezone(&tz)?)))
    });
    m
}

/// Compiled patterns, bounded in size and number.
fn compiled_regex(pattern: &str) -> Result<regex::Regex, Box<EvalAltResult>> {
    static CACHE: std::sync::OnceLock<Mutex<HashMap<String, regex::Regex>>> =
        std::sync::OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    if let Some(found) = cache.lock().unwrap_or_else(|p| p.into_inner()).get(pattern) {
        return Ok(found.clone());
    }
    let compiled = regex::RegexBuilder::new(pattern)
        .size_limit(1 << 20)
        .build()
        .map_err(|e| format!("bad regex: {e}"))?;
    let mut cache = cache.lock().unwrap_or_else(|p| p.into_inner());
    if cache.len() >= 256 {
        cache.clear();
    }
    cache.insert(pattern.to_string(), compiled.clone());
    Ok(compiled)
}

pub fn regex_module() -> Module {
    let mut m = Module::new();
    m.set_native_fn(
        "is_match",
        |pattern: ImmutableString, text: ImmutableString| {
            Ok(compiled_regex(&pattern)?.is_match(&text))
        },
    );
    m.set_native_fn(
        "captures",
        |pattern: ImmutableString, text: ImmutableString| {
            Ok(match compiled_regex(&pattern)?.captures(&text) {
                Some(caps) => Dynamic::from_array(
                    caps.iter()
                        .map(|g| {
                            g.map(|g| Dynamic::from(g.as_str().to_string()))
                                .unwrap_or(Dynamic::UNIT)
                        })
                        .collect(),
                ),
                None => Dynamic::UNIT,
            })
        },
    );
    m.set_native_fn(
        "replace",
        |pattern: ImmutableString, text: ImmutableString, with: ImmutableString| {
            Ok(compiled_regex(&pattern)?
                .replace_all(&text, with.as_str())
                .to_string())
        },
    );
    m
}

pub fn json_module() -> Module {
    let mut m = Module::new();
    m.set_native_fn("encode", |value: Dynamic| {
        let json: serde_json::Value = rhai::serde::from_dynamic(&value)?;
        Ok(json.to_string())
    });
    m.set_native_fn("decode", |text: ImmutableString| {
        let json: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| format!("bad JSON: {e}"))?;
        rhai::serde::to_dynamic(json)
    });
    m
}

pub fn random_module() -> Module {
    use rand::Rng;
    let mut m = Module::new();
    m.set_native_fn("int", |low: i64, high: i64| {
        if low > high {
            return Err("random::int(low, high) needs low <= high".into());
        }
        Ok(rand::thread_rng().gen_range(low..=high))
    });
    m.set_native_fn("float", || Ok(rand::thread_rng().gen::<f64>()));
    m.set_native_fn("pick", |items: Array| {
        if items.is_empty() {
            return Ok(Dynamic::UNIT);
        }
        let index = rand::thread_rng().gen_range(0..items.len());
        Ok(items[index].clone())
    });
    m
}
