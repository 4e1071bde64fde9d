// Inbox: conversations, one row per fan and account, the latest first, with
// unread and unanswered flags, counts and the 48-hour window's countdown.
// Live: the list reloads when an inbox event arrives (no polling).
// "Unanswered" = the fan's last message got no reply, or only the default
// reply; "unread" = the fan wrote after the conversation was last opened.

import { t } from "../i18n/index.js";
import { h, badge, truncate, relativeTime, formatTime, throttle } from "../dom.js";
import { countdown } from "./convotools.js";
import { api } from "../api.js";
import { pageHeader } from "../states.js";
import { listView } from "../list.js";
import { onInbox } from "../live.js";
import { scope, noAccounts, accountColumn, nickname } from "./common.js";
import { summarize } from "./messages.js";

export function conversationHref(c) {
  return `/wechat/wxmessages?openid=${encodeURIComponent(c.openid)}&account_id=${encodeURIComponent(c.account_id)}`;
}

function flags(c) {
  return h("div", { class: "convo-flags" },
    c.unread ? h("span", { class: "badge badge-green", dataset: { flag: "unread" }, title: t("inbox.unread_hint") }, t("inbox.unread_n", { n: c.unread_count })) : null,
    c.unanswered ? h("span", { class: "badge badge-amber", dataset: { flag: "unanswered" }, title: t("inbox.unanswered_hint") }, t("inbox.unanswered")) : null,
    !c.unread && !c.unanswered ? h("span", { class: "muted" }, t("inbox.handled")) : null);
}

export async function render(ctx) {
  ctx.main.append(pageHeader(t("nav.inbox"), t("inbox.subtitle")));
  const missing = noAccounts(ctx, t("inbox.what"));
  if (missing) return ctx.main.append(missing);
  let assignees = new Map([[ctx.admin.id, ctx.admin.username]]);
  if (ctx.account) {
    try {
      const list = await api.get("/wechat/inbox/assignees", { account_id: ctx.account });
      assignees = new Map(list.map((a) => [a.id, a.username]));
    } catch {
      // The names only label the column; ids are shown without them.
    }
  }
  const totals = h("p", { class: "inbox-totals", role: "status" });
  const list = listView({
    caption: t("inbox.caption"),
    load: async (q) => {
      const data = await api.get("/wechat/inbox/conversations", q);
      const s = data.summary;
      totals.textContent = t("inbox.totals", { conversations: s.conversations, unread: s.unread, unanswered: s.unanswered });
      return data;
    },
    baseQuery: () => scope(ctx),
    filters: [
      { name: "filter", label: t("inbox.show"), type: "select", all: t("inbox.filter_all"), options: [["unread", t("inbox.filter_unread")], ["unanswered", t("inbox.filter_unanswered")]] },
      { name: "assigned", label: t("inbox.assigned"), type: "select", all: t("inbox.assigned_anyone"), options: [["me", t("inbox.assigned_me")], ["none", t("inbox.assigned_none")]] },
    ],
    rowClass: (c) => (c.unread ? "row-unread" : null),
    columns: [
      { label: t("fans.fan"), render: (c) => h("a", { class: "cell-stack convo-link", href: conversationHref(c), dataset: { openid: c.openid } },
        nickname(c.fan), h("span", { class: "cell-sub mono" }, truncate(c.openid, 20))) },
      ...accountColumn(ctx),
      { label: t("inbox.last_message"), render: (c) => h("div", { class: "cell-stack" },
        h("span", { class: "clip", title: c.last_message ? summarize(c.last_message) : "" }, c.last_message ? `${c.last_message.direction === 1 ? "" : t("inbox.you_prefix")}${summarize(c.last_message)}` : "—"),
        h("span", { class: "cell-sub" }, t("inbox.messages_n", { n: c.message_count }))) },
      { label: t("inbox.time"), class: "nowrap", render: (c) => h("time", { datetime: c.last_message ? c.last_message.created_at : "", title: c.last_message ? formatTime(c.last_message.created_at) : "" }, c.last_message ? relativeTime(c.last_message.created_at) : "—") },
      { label: t("inbox.status"), render: flags },
      { label: t("inbox.window"), class: "nowrap", render: (c) => countdown(c.window_closes_at) },
      { label: t("inbox.assignee"), render: (c) => (c.assigned_admin_id ? badge(assignees.get(c.assigned_admin_id) || c.assigned_admin_id, "blue") : h("span", { class: "muted" }, t("inbox.nobody"))) },
    ],
    empty: { icon: "inbox", title: t("inbox.empty"), hint: t("inbox.empty_hint") },
  });
  ctx.main.append(totals, list.root);
  // A reload groups the messages again: at most one every 2 s.
  const reload = throttle(() => list.reload());
  const off = onInbox((event) => {
    if (event.kind === "ready" || event.kind === "lagged") return reload();
    if (ctx.account && event.account_id !== ctx.account) return undefined;
    if (["message", "read", "assigned"].includes(event.kind)) reload();
    return undefined;
  });
  // Only the countdown's words change with time; nothing is fetched.
  const tick = setInterval(() => {
    for (const el of list.root.querySelectorAll(".window-countdown")) el.paint && el.paint();
  }, 30000);
  return () => {
    off();
    clearInterval(tick);
  };
}
