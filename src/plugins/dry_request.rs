//! What a dry run is asked to do (`POST /wechat/plugins/test`): the fan, one
//! message or a conversation of several, state seeded before, and the time
//! scripts see; checked and turned into parsed messages before anything runs.

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::call::{check_key, check_value, StateScope, StateValue, MAX_TTL_SECONDS};
use super::http_out::{check_fixtures, HttpFixture};
use crate::entity::accounts;
use crate::error::AppError;
use crate::wechat::{InboundMessage, SampleMessage};

/// The most messages one conversation may hold.
pub const MAX_MESSAGES: usize = 20;
/// The most values one dry run may seed.
pub const MAX_SEEDS: usize = 200;
/// The most HTTP answers one dry run may give.
pub const MAX_FIXTURES: usize = 50;
/// The fan of a dry run that names none.
const DEFAULT_FAN: &str = "o_dry_run";

/// A dry run: one plugin (or, without `plugin`, the whole chain) on one
/// message — `text`, `event` (+ `event_key`), `image`, `voice` or raw `xml` —
/// or on a conversation (`messages`), storing nothing.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DryRunRequest {
    /// The official account (its id, as a string).
    #[serde(with = "crate::ids::json_id")]
    #[schema(value_type = String)]
    pub account_id: i64,
    /// Run only this plugin; left out: the whole chain, as the callback does.
    pub plugin: Option<String>,
    /// The fan who sends (an openid); `from` says the same. Default: the
    /// `xml`'s FromUserName, else `o_dry_run`.
    pub openid: Option<String>,
    pub from: Option<String>,
    // The single message, as in MessageSpec (serde's flatten cannot be
    // combined with deny_unknown_fields).
    pub text: Option<String>,
    pub event: Option<String>,
    pub event_key: Option<String>,
    pub image: Option<ImageSpec>,
    pub voice: Option<VoiceSpec>,
    pub xml: Option<String>,
    /// As in MessageSpec; with `messages`, the time of the first message.
    #[schema(value_type = Option<String>)]
    pub time: Option<serde_json::Value>,
    /// A conversation: these messages in order, each seeing the state the
    /// ones before would have written. Instead of the single message fields.
    pub messages: Option<Vec<MessageSpec>>,
    /// Values the plugins find before the first message.
    pub state: Option<Vec<SeedSpec>>,
    /// Answers to the plugins' `http::get`/`post` (by method and URL); dry
    /// runs make no real request, and without these refuse them.
    pub http_fixtures: Option<Vec<HttpFixture>>,
}

/// One message of a dry run: exactly one of `text`, `event`, `image`,
/// `voice`, `xml`; `time` fixes the clock scripts see for it.
#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MessageSpec {
    pub text: Option<String>,
    /// `subscribe`, `unsubscribe`, `CLICK`, `VIEW`, `SCAN`, …
    pub event: Option<String>,
    pub event_key: Option<String>,
    pub image: Option<ImageSpec>,
    pub voice: Option<VoiceSpec>,
    /// The message exactly as WeChat would post it (plaintext XML).
    pub xml: Option<String>,
    /// The time scripts see (`time::now()`, expiry of state) and the
    /// message's CreateTime: RFC 3339 or unix seconds. Left out: the time of
    /// the message before, else the request's `time`, else the real clock.
    #[schema(value_type = Option<String>)]
    pub time: Option<serde_json::Value>,
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImageSpec {
    pub pic_url: Option<String>,
    pub media_id: Option<String>,
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VoiceSpec {
    pub media_id: Option<String>,
    /// `amr` (default) or `speex`.
    pub format: Option<String>,
    /// WeChat's speech recognition of the voice, when switched on.
    pub recognition: Option<String>,
}

/// A value seeded before the run.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SeedSpec {
    /// Whose value; default: the request's `plugin`.
    pub plugin: Option<String>,
    /// `account` (default: `ctx.get`) or `fan` (`ctx.fan_get`, for the dry run's fan).
    pub scope: Option<String>,
    pub key: String,
    #[schema(value_type = Value)]
    pub value: serde_json::Value,
    /// Seconds from the first message's time until the value expires.
    pub ttl_seconds: Option<i64>,
}

/// A checked dry run, ready to run.
pub struct Plan {
    pub plugin: Option<String>,
    pub openid: String,
    /// Each message with the clock it runs by (`None`: the real one).
    pub steps: Vec<(InboundMessage, Option<DateTime<Utc>>)>,
    pub seeds: Vec<(StateScope, String, StateValue)>,
    /// A conversation (`messages`) answers with its steps.
    pub conversation: bool,
    pub http_fixtures: Option<Vec<HttpFixture>>,
}

impl DryRunRequest {
    /// Checks the request; `loaded` says whether a plugin of that name runs.
    pub fn plan(
        self,
        account: &accounts::Model,
        loaded: impl Fn(&str) -> bool,
    ) -> Result<Plan, AppError> {
        let openid = match (&self.openid, &self.from) {
            (Some(a), Some(b)) if a != b => {
                return Err(AppError::field(
                    "from",
                    format!("from {b:?} and openid {a:?} name different fans; give one"),
                ))
            }
            (Some(fan), _) | (None, Some(fan)) => Some(check_openid(fan)?),
            (None, None) => None,
        };
        let conversation = self.messages.is_some();
        let single = MessageSpec {
            text: self.text,
            event: self.event,
            event_key: self.event_key,
            image: self.image,
            voice: self.voice,
            xml: self.xml,
            time: None,
        };
        let specs = match self.messages {
            Some(mut messages) => {
                if single.kind_count() > 0 || single.event_key.is_some() {
                    return Err(AppError::field(
                        "messages",
                        "give one message at the top level or a list in messages, not both",
                    ));
                }
                if messages.is_empty() || messages.len() > MAX_MESSAGES {
                    return Err(AppError::field(
                        "messages",
                        format!("a conversation has 1 to {MAX_MESSAGES} messages"),
                    ));
                }
                if messages[0].time.is_none() {
                    messages[0].time = self.time;
                }
                messages
            }
            None => vec![MessageSpec {
                time: self.time,
                ..single
            }],
        };
        // The fan: as given, else the first raw message's sender.
        let first_sender = specs.iter().find_map(|s| s.xml.as_deref()).map(|xml| {
            InboundMessage::parse(xml)
                .map(|m| m.from_user)
                .map_err(|e| AppError::field(&field(conversation, 0, "xml"), e.to_string()))
        });
        let openid = match (openid, first_sender) {
            (Some(openid), _) => openid,
            (None, Some(sender)) => sender?,
            (None, None) => DEFAULT_FAN.to_string(),
        };
        let mut steps = Vec::with_capacity(specs.len());
        let mut clock = None;
        for (index, spec) in specs.into_iter().enumerate() {
            let at = |name: &str| field(conversation, index, name);
            if let Some(time) = &spec.time {
                clock =
                    Some(parse_time(time).map_err(|reason| AppError::field(&at("time"), reason))?);
            }
            let message = spec.message(account, &openid, clock, &at)?;
            steps.push((message, clock));
        }
        let first_time = steps.first().and_then(|(_, clock)| *clock);
        let seeds = self
            .state
            .unwrap_or_default()
            .into_iter()
            .enumerate()
            .map(|(index, seed)| {
                seed.check(
                    index,
                    self.plugin.as_deref(),
                    account.id,
                    &openid,
                    first_time,
                    &loaded,
                )
            })
            .collect::<Result<Vec<_>, _>>()?;
        if seeds.len() > MAX_SEEDS {
            return Err(AppError::field(
                "state",
                format!("at most {MAX_SEEDS} values may be seeded"),
            ));
        }
        if let Some(fixtures) = &self.http_fixtures {
            if fixtures.len() > MAX_FIXTURES {
                return Err(AppError::field(
                    "http_fixtures",
                    format!("at most {MAX_FIXTURES} fixtures"),
                ));
            }
            check_fixtures(fixtures).map_err(|(index, reason)| {
                AppError::field(&format!("http_fixtures[{index}]"), reason)
            })?;
        }
        Ok(Plan {
            plugin: self.plugin,
            openid,
            steps,
            seeds,
            conversation,
            http_fixtures: self.http_fixtures,
        })
    }
}

/// The name of a field in errors: `text`, or `messages[2].text`.
fn field(conversation: bool, index: usize, name: &str) -> String {
    if conversation {
        format!("messages[{index}].{name}")
    } else {
        name.to_string()
    }
}

fn check_openid(openid: &str) -> Result<String, AppError> {
    let openid = openid.trim();
    if openid.is_empty() || openid.len() > 128 || crate::text::has_nul(openid) {
        return Err(AppError::field(
            "openid",
            "an openid is 1–128 characters, without U+0000",
        ));
    }
    Ok(openid.to_string())
}

/// `time`: RFC 3339 text or unix seconds.
fn parse_time(value: &serde_json::Value) -> Result<DateTime<Utc>, String> {
    let parsed = match value {
        serde_json::Value::Number(n) => n.as_i64().and_then(|s| DateTime::from_timestamp(s, 0)),
        serde_json::Value::String(text) => DateTime::parse_from_rfc3339(text.trim())
            .ok()
            .map(|t| t.with_timezone(&Utc)),
        _ => None,
    };
    parsed
        .filter(|t| (2000..=2100).contains(&chrono::Datelike::year(t)))
        .ok_or_else(|| {
            format!("{value} is not a time: give RFC 3339 (2026-12-07T09:30:00+08:00) or unix seconds, years 2000–2100")
        })
}

impl MessageSpec {
    fn kind_count(&self) -> usize {
        [
            self.text.is_some(),
            self.event.is_some(),
            self.image.is_some(),
            self.voice.is_some(),
            self.xml.is_some(),
        ]
        .into_iter()
        .filter(|given| *given)
        .count()
    }

    /// The message as WeChat would send it from `openid`, at `clock`.
    fn message(
        self,
        account: &accounts::Model,
        openid: &str,
        clock: Option<DateTime<Utc>>,
        at: &dyn Fn(&str) -> String,
    ) -> Result<InboundMessage, AppError> {
        match self.kind_count() {
            0 => {
                return Err(AppError::field(
                    &at("text"),
                    "give text, event, image, voice or xml",
                ))
            }
            1 => {}
            _ => {
                return Err(AppError::field(
                    &at("text"),
                    "give only one of text, event, image, voice and xml",
                ))
            }
        }
        if self.event_key.is_some() && self.event.is_none() {
            return Err(AppError::field(
                &at("event_key"),
                "event_key goes with event",
            ));
        }
        let sample = if let Some(xml) = self.xml {
            let message = InboundMessage::parse(&xml)
                .map_err(|e| AppError::field(&at("xml"), e.to_string()))?;
            if message.from_user != openid {
                return Err(AppError::field(
                    &at("xml"),
                    format!(
                        "FromUserName is {:?}, but the dry run's fan is {openid:?}",
                        message.from_user
                    ),
                ));
            }
            return Ok(message);
        } else if let Some(text) = self.text {
            SampleMessage::Text(text)
        } else if let Some(event) = self.event {
            SampleMessage::Event {
                event,
                key: self.event_key.unwrap_or_default(),
            }
        } else if let Some(image) = self.image {
            SampleMessage::Image {
                pic_url: image
                    .pic_url
                    .unwrap_or_else(|| "http://127.0.0.1/dry-run.jpg".into()),
                media_id: image.media_id.unwrap_or_else(|| "dry_run_image".into()),
            }
        } else {
            let voice = self.voice.unwrap_or_default();
            let format = voice.format.unwrap_or_else(|| "amr".into());
            if !matches!(format.as_str(), "amr" | "speex") {
                return Err(AppError::field(
                    &at("voice.format"),
                    format!("{format:?}: WeChat sends voice as amr or speex"),
                ));
            }
            SampleMessage::Voice {
                media_id: voice.media_id.unwrap_or_else(|| "dry_run_voice".into()),
                format,
                recognition: voice.recognition,
            }
        };
        let now = clock.unwrap_or_else(Utc::now).timestamp();
        let xml = sample.to_xml(&account.original_id, openid, now);
        InboundMessage::parse(&xml).map_err(|e| AppError::field(&at("text"), e.to_string()))
    }
}

impl SeedSpec {
    fn check(
        self,
        index: usize,
        default_plugin: Option<&str>,
        account_id: i64,
        openid: &str,
        first_time: Option<DateTime<Utc>>,
        loaded: &impl Fn(&str) -> bool,
    ) -> Result<(StateScope, String, StateValue), AppError> {
        let at = |name: &str| format!("state[{index}].{name}");
        let plugin =
            self.plugin.as_deref().or(default_plugin).ok_or_else(|| {
                AppError::field(&at("plugin"), "give the plugin whose value this is")
            })?;
        if !loaded(plugin) {
            return Err(AppError::field(
                &at("plugin"),
                format!("no loaded plugin named {plugin:?}"),
            ));
        }
        let per_fan = match self.scope.as_deref() {
            None | Some("account") => false,
            Some("fan") => true,
            Some(other) => {
                return Err(AppError::field(
                    &at("scope"),
                    format!("{other:?}: give account or fan"),
                ))
            }
        };
        check_key(&self.key).map_err(|reason| AppError::field(&at("key"), reason))?;
        if self.value.is_null() {
            return Err(AppError::field(
                &at("value"),
                "null is a missing value: leave the key out instead",
            ));
        }
        check_value(&self.key, &self.value)
            .map_err(|reason| AppError::field(&at("value"), reason))?;
        let expires_at = match self.ttl_seconds {
            None => None,
            Some(ttl) if (1..=MAX_TTL_SECONDS).contains(&ttl) => {
                Some(first_time.unwrap_or_else(Utc::now) + chrono::Duration::seconds(ttl))
            }
            Some(ttl) => {
                return Err(AppError::field(
                    &at("ttl_seconds"),
                    format!("{ttl}: give whole seconds from 1 to {MAX_TTL_SECONDS}"),
                ))
            }
        };
        let scope = StateScope {
            plugin: plugin.to_string(),
            account_id,
            openid: if per_fan {
                openid.to_string()
            } else {
                String::new()
            },
        };
        Ok((
            scope,
            self.key,
            StateValue {
                value: self.value,
                expires_at,
            },
        ))
    }
}
