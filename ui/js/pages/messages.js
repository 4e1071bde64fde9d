// Messages: the log of everything received and sent, and a conversation
// view per fan (chat bubbles; events as notes; auto replies marked).
// direction 1 = received from the fan, 0 = sent by the account.

import { h, icon, imageOr, badge, timeEl, truncate, formatTime, comingSoon, clear, button } from "../dom.js";
import { api, resource, ApiError } from "../api.js";
import { listView, pageHeader, loadingState, errorState, emptyState } from "../components.js";
import { scope, noAccounts, accountColumn, MESSAGE_TYPES } from "./common.js";

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
  if (openid) return renderConversation(ctx, openid, ctx.params.get("account_id") || ctx.account);
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

function bubbleContent(m) {
  switch (m.msg_type) {
    case "text":
      return m.content;
    case "image":
      return m.pic_url
        ? imageOr({ src: m.pic_url, alt: "Image the fan sent" }, () => h("span", { class: "bubble-kind" }, icon("materials"), "Image (cannot be shown)"))
        : h("span", { class: "bubble-kind" }, icon("materials"), `Image ${m.media_id || ""}`);
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
        h("span", { class: "visually-hidden" }, out ? "sent by the account" : "received from the fan"))));
}

async function renderConversation(ctx, openid, accountId) {
  const back = h("a", { class: "btn btn-secondary", href: "/wechat/wxmessages" }, icon("left"), h("span", null, "All messages"));
  ctx.main.append(pageHeader("Conversation", null, [back]));
  const panel = h("div", { class: "panel convo" });
  ctx.main.append(panel);
  const base = { openid, ...(accountId ? { account_id: accountId } : {}) };

  const fanName = h("strong", null, openid);
  const fanSub = h("span", { class: "cell-sub mono" }, openid);
  const avatar = h("span", { class: "avatar", "aria-hidden": "true" }, "粉");
  const chat = h("div", { class: "chat", role: "log", "aria-label": "Conversation" });
  panel.append(
    h("div", { class: "convo-head" }, avatar, h("div", { class: "cell-stack" }, fanName, fanSub),
      accountId ? badge(ctx.accountLabel(accountId), "green") : null),
    chat,
    h("div", { class: "composer" },
      h("label", { class: "visually-hidden", for: "reply-text" }, "Reply"),
      h("input", { id: "reply-text", disabled: true, placeholder: "Replies come with the WeChat API client", title: "Replying is coming with the WeChat API client" }),
      comingSoon("Send", "send")));

  api.get("/wechat/wxusers/list", { ...base, page_size: 1 }).then((data) => {
    const fan = data.list[0];
    if (!fan) return;
    fanName.textContent = fan.remark ? `${fan.nickname || openid} (${fan.remark})` : fan.nickname || openid;
    if (fan.headimgurl) clear(avatar).append(imageOr({ src: fan.headimgurl, alt: "" }, () => document.createTextNode("粉")));
  }).catch((error) => {
    if (!(error instanceof ApiError)) console.error(error);
  });

  const state = { page: 0, total: 0, messages: [] };
  const pageSize = 50;
  chat.append(loadingState("Loading the conversation…"));

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

  const more = async () => {
    try {
      const data = await api.get("/wechat/wxmessages/list", { ...base, page: state.page + 1, page_size: pageSize });
      state.page += 1;
      state.total = data.total;
      // The API lists newest first; a conversation reads oldest first.
      state.messages = [...data.list.reverse(), ...state.messages];
      draw(state.page > 1);
    } catch (error) {
      if (!(error instanceof ApiError)) console.error(error);
      if (error instanceof ApiError && error.status === 401) return;
      clear(chat).append(errorState(error.message, () => more()));
    }
  };
  await more();
}
