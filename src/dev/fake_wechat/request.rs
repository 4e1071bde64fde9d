//! One call to the fake, from arrival to answer: read the query, the JSON or
//! multipart body, record it, answer the calls that need no access token
//! (tokens, web OAuth), then check the token, apply injected failures and
//! hand the call to the API area that serves its path.

use std::collections::{BTreeMap, VecDeque};

use axum::body::Bytes;
use axum::extract::{FromRequest, Query, State};
use axum::http::{header, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::Value;

use super::{error, fans, media, menus, messages, tokens, FakeWeChat, Fault, Inner, Recorded};

/// A multipart field as received.
pub(super) struct Field {
    pub name: String,
    pub file_name: Option<String>,
    pub bytes: Bytes,
}

/// A call as the API areas see it.
pub(super) struct Call {
    pub method: Method,
    pub path: String,
    pub query: BTreeMap<String, String>,
    pub content_type: String,
    /// The body parsed as JSON (`Null` when it is not JSON).
    pub json: Value,
    /// Multipart fields (empty when the body is not multipart).
    pub fields: Vec<Field>,
}

impl Call {
    /// A query parameter, empty when absent.
    pub fn query(&self, name: &str) -> &str {
        self.query.get(name).map(String::as_str).unwrap_or_default()
    }

    /// A text field of the JSON body, empty when absent.
    pub fn text(&self, name: &str) -> &str {
        self.json[name].as_str().unwrap_or_default()
    }
}

/// What an API area answers: `None` when the path is not one of its own.
pub(super) type Answer = Option<Json<Value>>;

/// The areas that serve calls made with an access token, tried in turn.
const AREAS: [fn(&mut Inner, &Call, &str) -> Answer; 5] = [
    fans::handle,
    tokens::ticket,
    menus::handle,
    messages::handle,
    media::handle,
];

pub(super) async fn handle(
    State(fake): State<FakeWeChat>,
    request: axum::extract::Request,
) -> Response {
    let (call, body) = match read(request).await {
        Ok(read) => read,
        Err(refused) => return refused.into_response(),
    };
    let fault = fake
        .lock()
        .faults
        .get_mut(&call.path)
        .and_then(VecDeque::pop_front);
    match fault {
        Some(Fault::Slow(delay)) => tokio::time::sleep(delay).await,
        Some(Fault::ServerError) => {
            return (StatusCode::BAD_GATEWAY, "<html>502 Bad Gateway</html>").into_response()
        }
        Some(Fault::Garbage) => {
            return (StatusCode::OK, "{\"errcode\": 0, \"trunc").into_response()
        }
        None => {}
    }
    answer(&fake, &call, &body).into_response()
}

/// WeChat's answer to a call that reached it.
fn answer(fake: &FakeWeChat, call: &Call, body: &Bytes) -> Json<Value> {
    let mut inner = fake.lock();
    record(&mut inner, call, body);
    if let Some(answer) = tokens::without_token(&mut inner, call) {
        return answer;
    }
    let appid = match authorize(&inner, call) {
        Ok(appid) => appid,
        Err(refused) => return refused,
    };
    if let Some(errcode) = inner
        .failures
        .get_mut(&call.path)
        .and_then(VecDeque::pop_front)
    {
        return error(errcode, "injected by the fake");
    }
    for area in AREAS {
        if let Some(answer) = area(&mut inner, call, &appid) {
            return answer;
        }
    }
    error(
        40066,
        &format!(
            "invalid url: the fake does not implement {} {}",
            call.method, call.path
        ),
    )
}

/// The call and its raw body (empty for multipart, whose parts are in `fields`).
async fn read(request: axum::extract::Request) -> Result<(Call, Bytes), Json<Value>> {
    let method = request.method().clone();
    let uri: Uri = request.uri().clone();
    let query = Query::try_from_uri(&uri)
        .map(|Query(q)| q)
        .unwrap_or_default();
    let content_type = content_type(&request);
    let mut fields = Vec::new();
    let body = if content_type.starts_with("multipart/form-data") {
        let Ok(mut multipart) = axum::extract::Multipart::from_request(request, &()).await else {
            return Err(error(41005, "media data missing: not a multipart form"));
        };
        while let Ok(Some(field)) = multipart.next_field().await {
            let name = field.name().unwrap_or_default().to_string();
            let file_name = field.file_name().map(str::to_string);
            let bytes = field.bytes().await.unwrap_or_default();
            fields.push(Field {
                name,
                file_name,
                bytes,
            });
        }
        Bytes::new()
    } else {
        axum::body::to_bytes(request.into_body(), 16 * 1024 * 1024)
            .await
            .unwrap_or_default()
    };
    let call = Call {
        method,
        path: uri.path().to_string(),
        query,
        content_type,
        json: serde_json::from_slice(&body).unwrap_or(Value::Null),
        fields,
    };
    Ok((call, body))
}

fn content_type(request: &axum::extract::Request) -> String {
    request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

fn record(inner: &mut Inner, call: &Call, body: &Bytes) {
    inner.recorded.push(Recorded {
        method: call.method.to_string(),
        path: call.path.clone(),
        query: call.query.clone(),
        content_type: call.content_type.clone(),
        body: String::from_utf8_lossy(body).into_owned(),
        parts: call
            .fields
            .iter()
            .map(|f| {
                let text = if f.file_name.is_none() {
                    String::from_utf8_lossy(&f.bytes).into_owned()
                } else {
                    String::new()
                };
                (f.name.clone(), f.file_name.clone(), f.bytes.len(), text)
            })
            .collect(),
    });
}

/// The app whose valid, unexpired access token the call carries.
fn authorize(inner: &Inner, call: &Call) -> Result<String, Json<Value>> {
    match inner.tokens.get(call.query("access_token")) {
        None => Err(error(
            40001,
            "invalid credential, access_token is invalid or not latest",
        )),
        Some((_, expires)) if *expires <= chrono::Utc::now().timestamp() => {
            Err(error(42001, "access_token expired"))
        }
        Some((appid, _)) => Ok(appid.clone()),
    }
}
