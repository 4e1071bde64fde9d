// Live inbox events over Server-Sent Events, for every page of the console.
// EventSource cannot send the Authorization header, so each connection
// starts with a short-lived ticket (POST /wechat/inbox/ticket) in the query.
// Events go out as a "wxmp:inbox" window event ({kind, account_id, openid,
// …}); "ready" after each (re)connect and "lagged" when some were lost tell
// pages to reload what they show. Nothing polls: when the stream drops, it
// reconnects with a fresh ticket after a growing pause.

import { api, session } from "./api.js";

const KINDS = ["ready", "message", "read", "assigned", "note", "lagged"];
let source = null;
let running = false;
let pause = 1000;
let timer = null;

function dispatch(kind, data) {
  window.dispatchEvent(new CustomEvent("wxmp:inbox", { detail: { ...data, kind } }));
}

function reconnectLater() {
  if (!running || timer) return;
  timer = setTimeout(() => {
    timer = null;
    connect();
  }, pause);
  pause = Math.min(pause * 2, 30000);
}

async function connect() {
  if (!running || source || !session.token) return;
  let ticket;
  try {
    ticket = (await api.post("/wechat/inbox/ticket", {})).ticket;
  } catch {
    reconnectLater();
    return;
  }
  if (!running) return;
  source = new EventSource(`/wechat/inbox/events?ticket=${encodeURIComponent(ticket)}`);
  for (const kind of KINDS) {
    source.addEventListener(kind, (event) => {
      if (kind === "ready") pause = 1000;
      let data = {};
      try {
        data = JSON.parse(event.data || "{}");
      } catch {
        data = {};
      }
      dispatch(kind, data);
    });
  }
  // The session ended: stop until the next sign-in.
  source.addEventListener("expired", () => stopLive());
  source.onerror = () => {
    if (source) source.close();
    source = null;
    reconnectLater();
  };
}

/** Opens the stream (once signed in); harmless when already open. */
export function startLive() {
  running = true;
  connect();
}

export function stopLive() {
  running = false;
  clearTimeout(timer);
  timer = null;
  if (source) source.close();
  source = null;
}

// Leaving the page closes the stream at once: a stream left to the browser
// keeps holding one of its few connections to the server for a while.
window.addEventListener("pagehide", () => stopLive());
window.addEventListener("pageshow", (event) => {
  if (event.persisted && session.token) startLive();
});

/** Calls `fn(event)` for each inbox event; returns the unsubscribe. */
export function onInbox(fn) {
  const listener = (event) => fn(event.detail);
  window.addEventListener("wxmp:inbox", listener);
  return () => window.removeEventListener("wxmp:inbox", listener);
}
