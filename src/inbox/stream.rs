//! The live event stream (Server-Sent Events) and its ticket.
//!
//! `EventSource` cannot send an `Authorization` header, so a console first
//! asks for a ticket with its admin JWT (`POST /wechat/inbox/ticket`) and
//! opens `GET /wechat/inbox/events?ticket=…`. A ticket is signed with the
//! JWT key, names the admin, lasts [`TICKET_TTL_SECS`] (so one seen in a log
//! is soon useless) and opens streams only: it is not a bearer token, nor a
//! bearer token a ticket. The stream checks the admin again when it opens
//! (enabled, same password and role) and ends when the session that asked
//! for the ticket expires. It carries only the accounts the admin may see.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use sea_orm::EntityTrait;
use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, watch};

use super::events::InboxEvent;
use crate::auth::{session_version, CurrentAdmin};
use crate::entity::admins;
use crate::error::AppError;
use crate::state::AppState;

pub const TICKET_TTL_SECS: i64 = 60;
const TICKET_KIND: &str = "inbox_events";
/// A comment line this often keeps proxies from closing an idle stream.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

#[derive(Serialize, Deserialize)]
struct Ticket {
    sub: String,
    exp: i64,
    typ: String,
    ver: String,
    /// When the session that asked for it ends (unix seconds).
    session_exp: i64,
}

/// A ticket for `admin`, whose bearer token expires at `session_exp`.
pub fn issue_ticket(
    state: &AppState,
    admin: &admins::Model,
    session_exp: i64,
) -> Result<(String, i64), AppError> {
    let exp = chrono::Utc::now().timestamp() + TICKET_TTL_SECS;
    let ticket = Ticket {
        sub: admin.id.to_string(),
        exp: exp.min(session_exp),
        typ: TICKET_KIND.into(),
        ver: session_version(admin),
        session_exp,
    };
    Ok((state.jwt.sign(&ticket)?, ticket.exp))
}

fn refused(reason: &str) -> AppError {
    AppError::Unauthorized(format!("event stream refused: {reason}"))
}

/// The admin a ticket names, checked as a bearer token is, and when the
/// stream must end.
pub async fn redeem(state: &AppState, ticket: &str) -> Result<(CurrentAdmin, i64), AppError> {
    if ticket.is_empty() {
        return Err(refused("the ticket query parameter is missing"));
    }
    let claims: Ticket = state
        .jwt
        .check(ticket)
        .map_err(|_| refused("the ticket is not valid or has expired: ask for a new one"))?;
    if claims.typ != TICKET_KIND {
        return Err(refused("not an event stream ticket"));
    }
    let id: i64 = claims
        .sub
        .parse()
        .map_err(|_| refused("the ticket is malformed"))?;
    let admin = admins::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .filter(|a| a.status == 1 && session_version(a) == claims.ver)
        .ok_or_else(|| refused("the ticket's admin is disabled or signed in again"))?;
    Ok((CurrentAdmin::from_model(&admin), claims.session_exp))
}

struct Subscriber {
    events: broadcast::Receiver<Arc<InboxEvent>>,
    closing: watch::Receiver<bool>,
    until: tokio::time::Instant,
    admin: CurrentAdmin,
    greeted: bool,
    done: bool,
}

impl Subscriber {
    /// The next event to send; `None` ends the stream.
    async fn next(&mut self) -> Option<Event> {
        if self.done {
            return None;
        }
        if !self.greeted {
            self.greeted = true;
            return Some(Event::default().event("ready").data("{}"));
        }
        loop {
            tokio::select! {
                received = self.events.recv() => match received {
                    Ok(event) if self.admin.can_access(event.account_id) => {
                        let data = serde_json::to_string(event.as_ref()).unwrap_or_default();
                        return Some(Event::default().event(event.kind).data(data));
                    }
                    Ok(_) => {}
                    Err(broadcast::error::RecvError::Lagged(lost)) => {
                        // Too slow: some events are gone; the console reloads.
                        return Some(Event::default().event("lagged").data(format!("{{\"lost\":{lost}}}")));
                    }
                    Err(broadcast::error::RecvError::Closed) => return None,
                },
                _ = self.closing.wait_for(|closing| *closing) => return None,
                () = tokio::time::sleep_until(self.until) => {
                    self.done = true;
                    return Some(Event::default().event("expired").data("{}"));
                }
            }
        }
    }
}

/// The stream for a redeemed ticket.
pub fn events(
    state: &AppState,
    admin: CurrentAdmin,
    session_exp: i64,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let (events, closing) = state.inbox.subscribe();
    let left = (session_exp - chrono::Utc::now().timestamp()).max(0) as u64;
    let subscriber = Subscriber {
        events,
        closing,
        until: tokio::time::Instant::now() + Duration::from_secs(left),
        admin,
        greeted: false,
        done: false,
    };
    let stream = futures_util::stream::unfold(subscriber, |mut subscriber| async move {
        let event = subscriber.next().await?;
        Some((Ok(event), subscriber))
    });
    Sse::new(stream).keep_alive(KeepAlive::new().interval(KEEP_ALIVE))
}
