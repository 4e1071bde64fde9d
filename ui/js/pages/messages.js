// Messages: the log of everything received and sent, and a conversation
// view per fan (chat bubbles; events as notes; auto replies marked).
// direction 1 = received from the fan, 0 = sent by the account.

import { t } from "../i18n/index.js";
import { h, icon, imageOr, badge, timeEl, truncate, formatTime, relativeTime, clear, button, openModal, toast } from "../dom.js";
import { api, resource, ApiError } from "../api.js";
import { pageHeader, loadingState, errorState, emptyState } from "../states.js";
import { listView } from "../list.js";
import { scope, noAccounts, accountColumn, MESSAGE_TYPES, showActionError, filePreview, nickname } from "./common.js";
import { onInbox } from "../live.js";
import { cannedButton, conversationSide, templateFallback, windowLeft } from "./convotools.js";

const EVENTS = ["subscribe", "unsubscribe", "scan", "location", "click", "view", "scancode_push", "scancode_waitmsg", "pic_sysphoto",
  "pic_photo_or_album", "pic_weixin", "location_select", "templatesendjobfinish", "view_miniprogram"];

export function isEvent(m) {
  return m.msg_type === "event";
}

export function describeEvent(m) {
  const type = (m.event_type || "").toLowerCase();
  const name = EVENTS.includes(type) ? t(`event.${type}`) : t("messages.event_other", { type: m.event_type || t("messages.unnamed") });
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
    case "text": return m.content || t("messages.empty_text");
    case "image": return `[${t("msgtype.image")}]`;
    case "voice": return m.recognition ? `[${t("msgtype.voice")}] ${m.recognition}` : `[${t("msgtype.voice")}]`;
    case "video": return `[${t("msgtype.video")}]`;
    case "shortvideo": return `[${t("msgtype.shortvideo")}]`;
    case "location": return `[${t("msgtype.location")}] ${m.label || `${m.location_x ?? "?"}, ${m.location_y ?? "?"}`}`;
    case "link": return `[${t("msgtype.link")}] ${m.link_title || m.link_url}`;
    case "event": return describeEvent(m);
    case "news": return `[${t("msgtype.news")}] ${m.content || ""}`.trim();
    case "music": return `[${t("msgtype.music")}] ${m.content || ""}`.trim();
    default: return m.content || `[${m.msg_type}]`;
  }
}

function directionBadge(m) {
  return m.direction === 1 ? badge(t("messages.received"), "green") : badge(t("messages.sent"), "blue");
}

function conversationHref(m) {
  return `/wechat/wxmessages?openid=${encodeURIComponent(m.openid)}&account_id=${encodeURIComponent(m.account_id)}`;
}

export async function render(ctx) {
  const openid = ctx.params.get("openid");
  if (openid) return renderConversation(ctx, openid);
  ctx.main.append(pageHeader(t("nav.messages"), t("messages.subtitle")));
  const missing = noAccounts(ctx, t("messages.what"));
  if (missing) return ctx.main.append(missing);
  const list = listView({
    caption: t("messages.caption"),
    load: (q) => resource("wxmessages").list(q),
    baseQuery: () => scope(ctx),
    filters: [
      { name: "keyword", label: t("common.search"), type: "search", placeholder: t("messages.search_placeholder") },
      { name: "direction", label: t("messages.direction"), type: "select", options: [["1", t("messages.received")], ["0", t("messages.sent")]] },
      { name: "msg_type", label: t("messages.type"), type: "select", options: MESSAGE_TYPES },
      { name: "openid", label: t("messages.fan_openid"), type: "text", placeholder: "o…" },
      { type: "daterange", label: t("messages.date") },
    ],
    columns: [
      { label: t("messages.time"), class: "nowrap", render: (m) => timeEl(m.created_at) },
      ...accountColumn(ctx),
      { label: t("fans.fan"), render: (m) => h("a", { class: "mono", href: conversationHref(m), title: t("messages.open_conversation") }, truncate(m.openid, 18)) },
      { label: t("messages.direction"), render: directionBadge },
      { label: t("messages.type"), render: (m) => h("span", { class: "bubble-kind" }, icon(kindIcon(m)), MESSAGE_TYPES.some(([v]) => v === m.msg_type) ? t(`msgtype.${m.msg_type}`) : m.msg_type) },
      { label: t("messages.content"), render: (m) => h("div", { class: "cell-stack" }, h("span", { class: "clip", title: summarize(m) }, summarize(m)), m.is_auto_reply === 1 ? h("span", null, badge(t("messages.auto_reply"), "purple")) : null) },
    ],
    rowActions: (m) => [h("a", { class: "btn btn-ghost btn-sm btn-icon", href: conversationHref(m), title: t("messages.open_conversation"), "aria-label": t("fans.conversation_with", { name: m.openid }) }, icon("messages"))],
    empty: { icon: "messages", title: t("messages.empty"), hint: t("messages.empty_hint") },
  });
  ctx.main.append(list.root);
}

/** Pictures of image materials sent from this page, by media_id. */
const sentPictures = new Map();

function imageBubble(m) {
  const fallback = () => h("span", { class: "bubble-kind" }, icon("materials"), m.media_id ? t("messages.image_id", { id: truncate(m.media_id, 24) }) : t("messages.image_unshown"));
  const material = sentPictures.get(m.media_id);
  if (material) return filePreview({ localPath: material.local_path, url: material.url, alt: material.name || t("messages.image_sent") }, fallback);
  if (m.local_path || m.pic_url) return filePreview({ localPath: m.local_path, url: m.pic_url, alt: m.direction === 1 ? t("messages.image_from_fan") : t("messages.image_sent") }, fallback);
  return fallback();
}

function bubbleContent(m) {
  switch (m.msg_type) {
    case "text":
      return m.content;
    case "image":
      return imageBubble(m);
    case "voice":
      return h("span", { class: "bubble-kind" }, icon("voice"), m.recognition ? t("messages.voice_said", { text: m.recognition }) : m.format ? t("messages.voice_format", { format: m.format }) : t("messages.voice"));
    case "video":
    case "shortvideo":
      return h("span", { class: "bubble-kind" }, icon("video"), t(`msgtype.${m.msg_type}`));
    case "location":
      return h("span", { class: "bubble-kind" }, icon("location"), `${m.label || t("msgtype.location")} (${m.location_x ?? "?"}, ${m.location_y ?? "?"})`);
    case "link":
      return h("span", null, h("strong", null, m.link_title || t("msgtype.link")), m.link_description ? h("span", { class: "muted" }, `\n${m.link_description}`) : null,
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
    h("span", { class: "avatar avatar-sm", "aria-hidden": "true" }, out ? t("messages.avatar_account") : t("messages.avatar_fan")),
    h("div", { class: "msg-col" },
      h("div", { class: "bubble" }, bubbleContent(m)),
      h("div", { class: "bubble-meta" },
        timeEl(m.created_at, { timeOnly: true }),
        m.is_auto_reply === 1 ? badge(t("messages.auto_reply"), "purple") : null,
        out && m.answered_by ? h("span", { class: "answered-by", dataset: { answeredBy: m.answered_by }, title: `answered_by: ${m.answered_by}` }, answeredBy(m.answered_by)) : null,
        h("span", { class: "visually-hidden" }, out ? t("messages.sent_by_account") : t("messages.received_from_fan")))));
}

/** Who answered, in words: "builtin:keyword" → "keyword rule", "plugin:guess" → "plugin guess", "admin:alice" → "admin alice". */
export function answeredBy(value) {
  if (!value || value === "unknown") return t("answered.unknown");
  const colon = value.indexOf(":");
  const [kind, name] = colon < 0 ? [value, ""] : [value.slice(0, colon), value.slice(colon + 1)];
  if (kind === "builtin") {
    return ["keyword", "follow", "default"].includes(name) ? t(`answered.builtin.${name}`) : name || value;
  }
  if (kind === "plugin" || kind === "admin") return name ? t(`answered.${kind}`, { name }) : t(`answered.${kind}_any`);
  if (kind === "rust") return name ? t("answered.rust", { name }) : value;
  return value;
}

/** Lets the user pick one of the account's permanent images; resolves with it. */
async function pickImage(accountId) {
  return openModal({
    title: t("messages.send_image"),
    wide: true,
    className: "image-picker",
    body: (close) => {
      const grid = h("div", { class: "picker-grid" }, loadingState(t("messages.loading_images")));
      api.get("/wechat/wxmaterials/list", { account_id: accountId, media_type: "image", is_permanent: 1, page: 1, page_size: 100 }).then((data) => {
        const usable = data.list.filter((m) => m.media_id && m.sync_status !== 2);
        clear(grid);
        if (!usable.length) {
          grid.append(emptyState({ icon: "materials", title: t("messages.no_images"), hint: t("messages.no_images_hint"), action: h("a", { class: "btn btn-secondary", href: "/wechat/wxmaterials?media_type=image" }, t("picker.empty_action")) }));
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
      return [h("p", { class: "modal-intro" }, t("messages.image_intro")), grid];
    },
  });
}

/** The account a conversation belongs to, when the URL does not say. */
function conversationAccount(ctx) {
  return ctx.params.get("account_id") || ctx.account || (ctx.accounts.length === 1 ? ctx.accounts[0].id : "");
}

async function renderConversation(ctx, openid) {
  const back = h("a", { class: "btn btn-secondary", href: "/wechat/wxmessages" }, icon("left"), h("span", null, t("messages.all")));
  ctx.main.append(pageHeader(t("fans.conversation"), null, [back]));
  const accountId = conversationAccount(ctx);
  if (!accountId) {
    const missing = noAccounts(ctx, t("messages.conversations"));
    ctx.main.append(missing || h("div", { class: "panel" }, emptyState({
      icon: "accounts",
      title: t("messages.which_account"),
      hint: t("messages.which_account_hint"),
      action: h("div", { class: "account-choice" }, ctx.accounts.map((a) => button(a.account_name || a.app_id, { kind: "btn-secondary", icon: "accounts", onClick: () => ctx.selectAccount(a.id) }))),
    })));
    return undefined;
  }
  const panel = h("div", { class: "panel convo" });

  // The name line shows the nickname (or why there is none), never the openid
  // a second time: the openid has its own line below.
  const fanName = h("strong", { class: "convo-name" });
  const fanSub = h("span", { class: "cell-sub mono" }, openid);
  const avatar = h("span", { class: "avatar", "aria-hidden": "true" }, t("messages.avatar_fan"));
  const chat = h("div", { class: "chat", role: "log", "aria-label": t("fans.conversation") });
  const windowNote = h("div", { class: "window-note", role: "status", hidden: true });
  const text = h("textarea", { id: "reply-text", rows: 1, placeholder: t("messages.reply_placeholder"), title: t("messages.reply_keys"), maxlength: 2000 });
  const sendButton = button(t("messages.send"), { icon: "send", kind: "btn-primary", attrs: { "data-action": "send-reply" }, onClick: () => sendText() });
  const imageButton = button(t("messages.send_image"), { icon: "materials", iconOnly: true, kind: "btn-secondary", attrs: { "data-action": "send-image" }, onClick: () => sendImage() });
  const canned = cannedButton(accountId, text);
  const composer = h("form", { class: "composer", onsubmit: (e) => { e.preventDefault(); sendText(); } },
    h("label", { class: "visually-hidden", for: "reply-text" }, t("messages.reply")),
    imageButton, canned, text, sendButton);
  const windowLeftEl = h("span", { class: "window-countdown" });
  panel.append(
    h("div", { class: "convo-head" }, avatar, h("div", { class: "cell-stack" }, fanName, fanSub),
      windowLeftEl, badge(ctx.accountLabel(accountId), "green")),
    chat, windowNote, composer);
  const side = conversationSide(ctx, accountId, openid);
  ctx.main.append(h("div", { class: "convo-layout" }, panel, side.root));

  const state = { page: 0, total: 0, messages: [], windowOpen: true, fan: null, sending: false };
  const pageSize = 50;
  chat.append(loadingState(t("messages.loading_conversation")));

  const showFan = (fan) => {
    if (!fan) return;
    state.fan = fan;
    fanName.replaceChildren(nickname(fan), fan.remark ? h("span", { class: "muted" }, ` (${fan.remark})`) : "");
    if (fan.headimgurl && !avatar.querySelector("img")) clear(avatar).append(imageOr({ src: fan.headimgurl, alt: "" }, () => document.createTextNode(t("messages.avatar_fan"))));
  };

  const setWindow = (open) => {
    state.windowOpen = open;
    composer.classList.toggle("closed", !open);
    for (const el of [text, sendButton, imageButton, canned]) el.disabled = !open || state.sending;
    windowNote.hidden = open;
    if (!open) {
      const last = state.fan && state.fan.last_interact_time;
      const stale = last && Date.now() - new Date(last).getTime() > 48 * 3600 * 1000;
      windowNote.replaceChildren(icon("alert"), h("div", { class: "window-note-text" }, h("span", null,
        h("strong", null, `${t("messages.window_closed")} `),
        stale ? `${t("messages.last_wrote", { when: relativeTime(last) })} ` : last ? `${t("messages.window_wechat_says")} ` : `${t("messages.window_not_recent")} `,
        t("messages.window_rule_before"),
        h("a", { href: `/wechat/wxtemplates?account_id=${encodeURIComponent(accountId)}&openid=${encodeURIComponent(openid)}`, dataset: { role: "send-template" } }, t("messages.window_rule_link")), t("messages.window_rule_after")),
        templateFallback(accountId, openid)));
    }
    paintWindow();
  };

  /** The window runs 48 h from the fan's last interaction. */
  const paintWindow = () => {
    const times = state.messages.filter((m) => m.direction === 1).map((m) => new Date(m.created_at).getTime());
    if (state.fan && state.fan.last_interact_time) times.push(new Date(state.fan.last_interact_time).getTime());
    const last = times.length ? Math.max(...times) : null;
    const closes = last ? new Date(last + 48 * 3600 * 1000).toISOString() : null;
    const w = windowLeft(state.windowOpen ? closes : null);
    windowLeftEl.textContent = state.windowOpen || !closes ? w.text : t("inbox.window_closed");
    windowLeftEl.classList.toggle("closed", !w.open || !state.windowOpen);
    windowLeftEl.classList.toggle("urgent", Boolean(w.urgent));
  };

  /** Marks what is on screen read, while the tab is in view. */
  const markRead = () => {
    const newest = state.messages[state.messages.length - 1];
    if (!newest || document.hidden) return;
    api.post("/wechat/inbox/read", { account_id: accountId, openid, up_to: newest.id }).catch((error) => {
      if (!(error instanceof ApiError)) console.error(error);
    });
  };

  const draw = (keepScroll) => {
    const before = chat.scrollHeight - chat.scrollTop;
    clear(chat);
    if (!state.messages.length) {
      chat.append(emptyState({ icon: "messages", title: t("messages.none_with_fan"), hint: t("messages.none_with_fan_hint") }));
      return;
    }
    if (state.messages.length < state.total) {
      chat.append(button(t("messages.load_earlier"), { kind: "btn-secondary btn-sm older", icon: "up", onClick: () => more() }));
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
        side.loadAssignees(data.inbox && data.inbox.assigned_admin_id);
        side.loadNotes();
        markRead();
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
        paintWindow();
        markRead();
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
      await showActionError(t("messages.reply_failed"), error);
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
      toast(t("messages.reply_sent"));
    }
    text.focus();
  }

  async function sendImage() {
    const material = await pickImage(accountId);
    if (!material) return;
    sentPictures.set(material.media_id, material);
    if (await send({ msg_type: "image", media_id: material.media_id }, imageButton)) toast(t("messages.image_sent_toast"));
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
  // Live: what the stream says about this conversation (after a reconnect
  // or a lag, whatever changed meanwhile). Nothing polls.
  const off = onInbox((event) => {
    if (event.kind === "ready" || event.kind === "lagged") return refresh();
    if (event.account_id !== accountId || event.openid !== openid) return undefined;
    if (event.kind === "message") return refresh();
    if (event.kind === "note") return side.loadNotes();
    if (event.kind === "assigned") return side.showAssignee(event.preview);
    return undefined;
  });
  const onVisible = () => { if (!document.hidden) markRead(); };
  document.addEventListener("visibilitychange", onVisible);
  const tick = setInterval(paintWindow, 30000);
  return () => {
    off();
    clearInterval(tick);
    document.removeEventListener("visibilitychange", onVisible);
  };
}
