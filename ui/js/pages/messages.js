// Messages: the log of everything received and sent, and a conversation
// view per fan (chat bubbles; events as notes; auto replies marked).
// direction 1 = received from the fan, 0 = sent by the account.

import { h, icon, imageOr, badge, timeEl, truncate, formatTime, relativeTime, clear, button, openModal, toast } from "../dom.js";
import { api, resource, ApiError } from "../api.js";
import { pageHeader, loadingState, errorState, emptyState } from "../states.js";
import { listView } from "../list.js";
import { scope, noAccounts, accountColumn, MESSAGE_TYPES, showActionError, filePreview } from "./common.js";

const EVENTS = {
  subscribe: "Followed the account",
  unsubscribe: "Unfollowed the account",
  scan: "Scanned a QR code",
  location: "Reported a location",
  click: "Tapped menu button",
  view: "Opened a menu link",
  scancode_push: "Scanned with the menu",
  scancode_waitmsg: "Scanned with the menu",
  pic_sysphoto: "Took a photo from the menu",
  pic_photo_or_album: "Sent a photo from the menu",
  pic_weixin: "Sent a photo from the menu",
  location_select: "Sent a location from the menu",
  templatesendjobfinish: "Template message delivery report",
  view_miniprogram: "Opened a mini program from the menu",
};

export function isEvent(m) {
  return m.msg_type === "event";
}

export function describeEvent(m) {
  const name = EVENTS[(m.event_type || "").toLowerCase()] || `Event ${m.event_type || "(unnamed)"}`;
  const key = m.event_key ? ` · ${m.event_key}` : "";
  return `${name}${key}`;
}

const KIND_ICON = { text: "text", image: "materials", voice: "voice", video: "video", shortvideo: "video", location: "location", link: "link", news: "news", music: "music", event: "bolt" };

export function kindIcon(m) {
  return KIND_ICON[m.msg_type] || "messages";
}

/** One line describing a message, for lists. */
export function summarize(m) {
  switch (m.msg_type) {
    case "text": return m.content || "(empty text)";
    case "image": return "[Image]";
    case "voice": return m.recognition ? `[Voice] ${m.recognition}` : "[Voice]";
    case "video": return "[Video]";
    case "shortvideo": return "[Short video]";
    case "location": return `[Location] ${m.label || `${m.location_x ?? "?"}, ${m.location_y ?? "?"}`}`;
    case "link": return `[Link] ${m.link_title || m.link_url}`;
    case "event": return describeEvent(m);
    case "news": return `[News] ${m.content || ""}`.trim();
    case "music": return `[Music] ${m.content || ""}`.trim();
    default: return m.content || `[${m.msg_type}]`;
  }
}

function directionBadge(m) {
  return m.direction === 1 ? badge("Received", "green") : badge("Sent", "blue");
}

function conversationHref(m) {
  return `/wechat/wxmessages?openid=${encodeURIComponent(m.openid)}&account_id=${encodeURIComponent(m.account_id)}`;
}

export async function render(ctx) {
  const openid = ctx.params.get("openid");
  if (openid) return renderConversation(ctx, openid);
  ctx.main.append(pageHeader("Messages", "Everything fans sent and what the accounts answered."));
  const missing = noAccounts(ctx, "Messages");
  if (missing) return ctx.main.append(missing);
  const list = listView({
    caption: "Messages",
    load: (q) => resource("wxmessages").list(q),
    baseQuery: () => scope(ctx),
    filters: [
      { name: "keyword", label: "Search", type: "search", placeholder: "Text, event key, link title…" },
      { name: "direction", label: "Direction", type: "select", options: [["1", "Received"], ["0", "Sent"]] },
      { name: "msg_type", label: "Type", type: "select", options: MESSAGE_TYPES },
      { name: "openid", label: "Fan openid", type: "text", placeholder: "o…" },
      { type: "daterange", label: "Date" },
    ],
    columns: [
      { label: "Time", class: "nowrap", render: (m) => timeEl(m.created_at) },
      ...accountColumn(ctx),
      { label: "Fan", render: (m) => h("a", { class: "mono", href: conversationHref(m), title: "Open the conversation" }, truncate(m.openid, 18)) },
      { label: "Direction", render: directionBadge },
      { label: "Type", render: (m) => h("span", { class: "bubble-kind" }, icon(kindIcon(m)), m.msg_type) },
      { label: "Content", render: (m) => h("div", { class: "cell-stack" }, h("span", { class: "clip", title: summarize(m) }, summarize(m)), m.is_auto_reply === 1 ? h("span", null, badge("Auto reply", "purple")) : null) },
    ],
    rowActions: (m) => [h("a", { class: "btn btn-ghost btn-sm btn-icon", href: conversationHref(m), title: "Open the conversation", "aria-label": `Conversation with ${m.openid}` }, icon("messages"))],
    empty: { icon: "messages", title: "No messages yet", hint: "Messages appear here once WeChat delivers them to the callback URL of an account." },
  });
  ctx.main.append(list.root);
}

/** Pictures of image materials sent from this page, by media_id. */
const sentPictures = new Map();

function imageBubble(m) {
  const fallback = () => h("span", { class: "bubble-kind" }, icon("materials"), m.media_id ? `Image ${truncate(m.media_id, 24)}` : "Image (cannot be shown)");
  const material = sentPictures.get(m.media_id);
  if (material) return filePreview({ localPath: material.local_path, url: material.url, alt: material.name || "Image sent" }, fallback);
  if (m.local_path || m.pic_url) return filePreview({ localPath: m.local_path, url: m.pic_url, alt: m.direction === 1 ? "Image the fan sent" : "Image sent" }, fallback);
  return fallback();
}

function bubbleContent(m) {
  switch (m.msg_type) {
    case "text":
      return m.content;
    case "image":
      return imageBubble(m);
    case "voice":
      return h("span", { class: "bubble-kind" }, icon("voice"), m.recognition ? `Voice: “${m.recognition}”` : `Voice message${m.format ? ` (${m.format})` : ""}`);
    case "video":
    case "shortvideo":
      return h("span", { class: "bubble-kind" }, icon("video"), m.msg_type === "video" ? "Video" : "Short video");
    case "location":
      return h("span", { class: "bubble-kind" }, icon("location"), `${m.label || "Location"} (${m.location_x ?? "?"}, ${m.location_y ?? "?"})`);
    case "link":
      return h("span", null, h("strong", null, m.link_title || "Link"), m.link_description ? h("span", { class: "muted" }, `\n${m.link_description}`) : null,
        m.link_url ? h("span", null, "\n", h("a", { href: m.link_url, target: "_blank", rel: "noopener noreferrer" }, truncate(m.link_url, 60))) : null);
    default:
      return h("span", { class: "bubble-kind" }, icon(kindIcon(m)), summarize(m));
  }
}

function messageNode(m) {
  if (isEvent(m)) {
    return h("div", { class: "note", title: formatTime(m.created_at, { seconds: true }) }, `${describeEvent(m)} · ${formatTime(m.created_at).slice(11)}`);
  }
  const out = m.direction !== 1;
  return h("div", { class: ["msg", out ? "out" : "in"], dataset: { id: m.id } },
    h("span", { class: "avatar avatar-sm", "aria-hidden": "true" }, out ? "公" : "粉"),
    h("div", { class: "msg-col" },
      h("div", { class: "bubble" }, bubbleContent(m)),
      h("div", { class: "bubble-meta" },
        timeEl(m.created_at, { timeOnly: true }),
        m.is_auto_reply === 1 ? badge("Auto reply", "purple") : null,
        out && m.answered_by ? h("span", { class: "answered-by", dataset: { answeredBy: m.answered_by }, title: `answered_by: ${m.answered_by}` }, answeredBy(m.answered_by)) : null,
        h("span", { class: "visually-hidden" }, out ? "sent by the account" : "received from the fan"))));
}

/** Who answered, in words: "builtin:keyword" → "keyword rule", "plugin:guess" → "plugin guess", "admin:alice" → "admin alice". */
export function answeredBy(value) {
  if (!value) return "unknown";
  const colon = value.indexOf(":");
  const [kind, name] = colon < 0 ? [value, ""] : [value.slice(0, colon), value.slice(colon + 1)];
  if (kind === "builtin") {
    const words = { keyword: "keyword rule", follow: "follow reply", default: "default reply" };
    return words[name] || name || value;
  }
  if (kind === "plugin" || kind === "admin") return name ? `${kind} ${name}` : kind;
  if (kind === "rust") return name ? `handler ${name}` : value;
  return value;
}

/** Lets the user pick one of the account's permanent images; resolves with it. */
async function pickImage(accountId) {
  return openModal({
    title: "Send an image",
    wide: true,
    className: "image-picker",
    body: (close) => {
      const grid = h("div", { class: "picker-grid" }, loadingState("Loading images…"));
      api.get("/wechat/wxmaterials/list", { account_id: accountId, media_type: "image", is_permanent: 1, page: 1, page_size: 100 }).then((data) => {
        const usable = data.list.filter((m) => m.media_id && m.sync_status !== 2);
        clear(grid);
        if (!usable.length) {
          grid.append(emptyState({ icon: "materials", title: "No permanent images yet", hint: "Upload an image as a permanent material on the Materials page; it can then be sent here.", action: h("a", { class: "btn btn-secondary", href: "/wechat/wxmaterials?media_type=image" }, "Open Materials") }));
          return;
        }
        for (const m of usable) {
          grid.append(h("button", { type: "button", class: "picker-item", dataset: { mediaId: m.media_id }, title: m.name || m.media_id, onclick: () => close(m) },
            h("span", { class: "picker-thumb" }, filePreview({ localPath: m.local_path, url: m.url, alt: "" }, () => icon("materials"))),
            h("span", { class: "picker-name" }, m.name || m.title || truncate(m.media_id, 16))));
        }
      }).catch((error) => {
        if (!(error instanceof ApiError)) console.error(error);
        clear(grid).append(errorState(error.message));
      });
      return [h("p", { class: "modal-intro" }, "Permanent image materials of this account. The fan receives the image as a customer-service message."), grid];
    },
  });
}

/** The account a conversation belongs to, when the URL does not say. */
function conversationAccount(ctx) {
  return ctx.params.get("account_id") || ctx.account || (ctx.accounts.length === 1 ? ctx.accounts[0].id : "");
}

async function renderConversation(ctx, openid) {
  const back = h("a", { class: "btn btn-secondary", href: "/wechat/wxmessages" }, icon("left"), h("span", null, "All messages"));
  ctx.main.append(pageHeader("Conversation", null, [back]));
  const accountId = conversationAccount(ctx);
  if (!accountId) {
    const missing = noAccounts(ctx, "Conversations");
    ctx.main.append(missing || h("div", { class: "panel" }, emptyState({
      icon: "accounts",
      title: "Which account is this fan of?",
      hint: "An openid belongs to one official account. Pick it:",
      action: h("div", { class: "account-choice" }, ctx.accounts.map((a) => button(a.account_name || a.app_id, { kind: "btn-secondary", icon: "accounts", onClick: () => ctx.selectAccount(a.id) }))),
    })));
    return undefined;
  }
  const panel = h("div", { class: "panel convo" });
  ctx.main.append(panel);

  const fanName = h("strong", null, openid);
  const fanSub = h("span", { class: "cell-sub mono" }, openid);
  const avatar = h("span", { class: "avatar", "aria-hidden": "true" }, "粉");
  const chat = h("div", { class: "chat", role: "log", "aria-label": "Conversation" });
  const windowNote = h("div", { class: "window-note", role: "status", hidden: true });
  const text = h("textarea", { id: "reply-text", rows: 1, placeholder: "Write a reply…", title: "Enter sends; Shift+Enter starts a new line", maxlength: 2000 });
  const sendButton = button("Send", { icon: "send", kind: "btn-primary", attrs: { "data-action": "send-reply" }, onClick: () => sendText() });
  const imageButton = button("Send an image", { icon: "materials", iconOnly: true, kind: "btn-secondary", attrs: { "data-action": "send-image" }, onClick: () => sendImage() });
  const composer = h("form", { class: "composer", onsubmit: (e) => { e.preventDefault(); sendText(); } },
    h("label", { class: "visually-hidden", for: "reply-text" }, "Reply"),
    imageButton, text, sendButton);
  panel.append(
    h("div", { class: "convo-head" }, avatar, h("div", { class: "cell-stack" }, fanName, fanSub),
      badge(ctx.accountLabel(accountId), "green")),
    chat, windowNote, composer);

  const state = { page: 0, total: 0, messages: [], windowOpen: true, fan: null, sending: false };
  const pageSize = 50;
  chat.append(loadingState("Loading the conversation…"));

  const showFan = (fan) => {
    if (!fan) return;
    state.fan = fan;
    fanName.textContent = fan.remark ? `${fan.nickname || openid} (${fan.remark})` : fan.nickname || openid;
    if (fan.headimgurl && !avatar.querySelector("img")) clear(avatar).append(imageOr({ src: fan.headimgurl, alt: "" }, () => document.createTextNode("粉")));
  };

  const setWindow = (open) => {
    state.windowOpen = open;
    composer.classList.toggle("closed", !open);
    for (const el of [text, sendButton, imageButton]) el.disabled = !open || state.sending;
    windowNote.hidden = open;
    if (!open) {
      const last = state.fan && state.fan.last_interact_time;
      const stale = last && Date.now() - new Date(last).getTime() > 48 * 3600 * 1000;
      windowNote.replaceChildren(icon("alert"), h("span", null,
        h("strong", null, "The 48-hour window is closed. "),
        stale ? `The fan last wrote ${relativeTime(last)}. ` : last ? "WeChat says the fan has not written within 48 hours, or no longer follows the account. " : "The fan has not written to this account recently. ",
        "WeChat accepts customer-service replies only within 48 hours of the fan’s last message; a ",
        h("a", { href: "/wechat/wxtemplates" }, "template message"), " can still reach them."));
    }
  };

  const draw = (keepScroll) => {
    const before = chat.scrollHeight - chat.scrollTop;
    clear(chat);
    if (!state.messages.length) {
      chat.append(emptyState({ icon: "messages", title: "No messages with this fan", hint: "Nothing was received from or sent to this openid yet." }));
      return;
    }
    if (state.messages.length < state.total) {
      chat.append(button("Load earlier messages", { kind: "btn-secondary btn-sm older", icon: "up", onClick: () => more() }));
    }
    let day = "";
    for (const m of state.messages) {
      const d = formatTime(m.created_at).slice(0, 10);
      if (d !== day) {
        day = d;
        chat.append(h("div", { class: "chat-day" }, d));
      }
      chat.append(messageNode(m));
    }
    chat.scrollTop = keepScroll ? chat.scrollHeight - before : chat.scrollHeight;
  };

  const fetchPage = (page) => api.get("/wechat/wxmessages/conversation", { account_id: accountId, openid, page, page_size: pageSize });

  const more = async () => {
    try {
      const data = await fetchPage(state.page + 1);
      state.page += 1;
      state.total = data.total;
      // Each page is in time order; earlier pages go in front.
      const known = new Set(state.messages.map((m) => m.id));
      state.messages = [...data.list.filter((m) => !known.has(m.id)), ...state.messages];
      if (state.page === 1) {
        showFan(data.fan);
        setWindow(data.window_open);
      }
      draw(state.page > 1);
    } catch (error) {
      if (!(error instanceof ApiError)) console.error(error);
      if (error instanceof ApiError && error.status === 401) return;
      clear(chat).append(errorState(error.message, () => more()));
    }
  };

  /** New messages since the page was drawn (the fan may write meanwhile). */
  const refresh = async () => {
    if (state.page === 0 || document.hidden) return;
    try {
      const data = await fetchPage(1);
      const known = new Set(state.messages.map((m) => m.id));
      const fresh = data.list.filter((m) => !known.has(m.id));
      showFan(data.fan);
      if (data.window_open !== state.windowOpen) setWindow(data.window_open);
      if (fresh.length) {
        const atBottom = chat.scrollHeight - chat.scrollTop - chat.clientHeight < 40;
        state.messages = [...state.messages, ...fresh];
        state.total = data.total;
        draw(!atBottom);
      }
    } catch (error) {
      if (!(error instanceof ApiError)) console.error(error);
    }
  };

  const send = async (body, el) => {
    state.sending = true;
    setWindow(state.windowOpen);
    el.classList.add("busy");
    try {
      const row = await api.post("/wechat/wxmessages/reply", { account_id: accountId, openid, ...body });
      state.messages.push(row);
      state.total += 1;
      draw(false);
      return true;
    } catch (error) {
      if (error instanceof ApiError && error.errcode === 45015) setWindow(false);
      await showActionError("The reply was not sent", error);
      return false;
    } finally {
      state.sending = false;
      el.classList.remove("busy");
      setWindow(state.windowOpen);
    }
  };

  async function sendText() {
    const content = text.value.trim();
    if (!content || state.sending || !state.windowOpen) {
      if (!content) text.focus();
      return;
    }
    if (await send({ msg_type: "text", content }, sendButton)) {
      text.value = "";
      autosize();
      toast("Reply sent.");
    }
    text.focus();
  }

  async function sendImage() {
    const material = await pickImage(accountId);
    if (!material) return;
    sentPictures.set(material.media_id, material);
    if (await send({ msg_type: "image", media_id: material.media_id }, imageButton)) toast("Image sent.");
  }

  const autosize = () => {
    text.style.height = "auto";
    text.style.height = `${Math.min(text.scrollHeight + 2, 140)}px`;
  };
  text.addEventListener("input", autosize);
  text.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      sendText();
    }
  });

  await more();
  const timer = setInterval(refresh, 10000);
  return () => clearInterval(timer);
}
