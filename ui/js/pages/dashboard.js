// Dashboard: totals, counts per account, and the latest messages.

import { h, icon, badge, timeEl, truncate } from "../dom.js";
import { api, count, ApiError } from "../api.js";
import { pageHeader, emptyState, errorState, loadingState } from "../states.js";
import { scope } from "./common.js";
import { summarize, kindIcon, isEvent, answeredBy } from "./messages.js";
import { dayChart, rankList } from "../charts.js";

const DAYS = 14;
const COLORS = { received: "#2563eb", sent: "#07c160", followed: "#07c160", unfollowed: "#d93842" };

function sum(days, key) {
  return days.reduce((total, d) => total + Number(d[key] || 0), 0);
}

/** Charts and figures of the picked account from /wechat/dashboard/stats. */
function chartsPanel(ctx) {
  const root = h("section", { class: "dash-charts", "aria-label": "Charts", dataset: { role: "charts" } });
  if (!ctx.account) {
    root.append(h("div", { class: "panel pick-account", dataset: { role: "pick-account" } },
      h("div", { class: "panel-head" }, h("h2", null, "Charts")),
      emptyState({
        icon: "dashboard",
        title: "Pick an account to see its charts",
        hint: "Messages per day, fans gained and lost, top keywords and who answered are drawn for one account at a time.",
        action: h("div", { class: "account-choice" }, ctx.accounts.slice(0, MAX_ACCOUNTS).map((a) =>
          h("button", { type: "button", class: "btn btn-secondary", onclick: () => ctx.selectAccount(a.id) }, icon("accounts"), h("span", null, a.account_name || a.app_id)))),
      })));
    return { root, done: Promise.resolve() };
  }
  root.append(h("div", { class: "panel" }, loadingState("Loading charts…")));
  const done = api.get("/wechat/dashboard/stats", { account_id: ctx.account, days: DAYS }).then((stats) => {
    const days = stats.days || [];
    const received = sum(days, "received");
    const sent = sum(days, "sent");
    const followed = sum(days, "followed");
    const unfollowed = sum(days, "unfollowed");
    const messages = h("div", { class: "panel chart-panel" },
      h("div", { class: "panel-head" }, h("h2", null, `Messages per day`), h("span", { class: "muted" }, `last ${days.length} days`)),
      h("div", { class: "panel-body" },
        h("p", { class: "chart-summary" }, h("strong", null, received.toLocaleString()), " received · ", h("strong", null, sent.toLocaleString()), " sent"),
        dayChart({
          title: `Messages per day, last ${days.length} days`,
          description: `Received ${received} and sent ${sent} messages in ${days.length} days, per day.`,
          days,
          role: "messages-chart",
          series: [{ key: "received", label: "Received", color: COLORS.received }, { key: "sent", label: "Sent", color: COLORS.sent }],
        })));
    const fans = h("div", { class: "panel chart-panel" },
      h("div", { class: "panel-head" }, h("h2", null, "Fans gained and lost"), h("span", { class: "muted" }, `${Number(stats.subscribed_fans || 0).toLocaleString()} subscribed now`)),
      h("div", { class: "panel-body" },
        h("p", { class: "chart-summary" }, h("strong", null, followed ? `+${followed}` : "0"), " followed · ", h("strong", null, unfollowed ? `−${unfollowed}` : "0"), " unfollowed · net ", h("strong", null, `${followed - unfollowed >= 0 ? "+" : "−"}${Math.abs(followed - unfollowed)}`)),
        dayChart({
          title: `Fans gained and lost per day, last ${days.length} days`,
          description: `${followed} follows (above the line) and ${unfollowed} unfollows (below the line) in ${days.length} days.`,
          days,
          mirror: true,
          role: "fans-chart",
          series: [{ key: "followed", label: "Followed", color: COLORS.followed }, { key: "unfollowed", label: "Unfollowed", color: COLORS.unfollowed }],
        })));
    const keywords = h("div", { class: "panel" },
      h("div", { class: "panel-head" }, h("h2", null, "Top keywords"), h("a", { href: "/wechat/wxautoreplies" }, "Rules")),
      h("div", { class: "panel-body" }, (stats.top_keywords || []).length
        ? rankList({ label: "Texts keyword rules answered most", role: "top-keywords", items: stats.top_keywords.map((k) => ({ label: k.text || "(empty)", value: k.hits })), valueLabel: (v) => `${v}×` })
        : h("p", { class: "muted" }, "No keyword rule answered in these days.")));
    const answered = h("div", { class: "panel" },
      h("div", { class: "panel-head" }, h("h2", null, "Who answered")),
      h("div", { class: "panel-body" }, (stats.answered_by || []).length
        ? rankList({ label: "Replies by who answered", role: "answered-by", color: "#7a3fd1", items: stats.answered_by.map((a) => ({ label: answeredBy(a.handler), title: a.handler, value: a.replies })) })
        : h("p", { class: "muted" }, "No replies in these days.")));
    const failing = stats.plugin_errors || [];
    const plugins = h("div", { class: "panel", dataset: { role: "plugin-errors" } },
      h("div", { class: "panel-head" }, h("h2", null, "Plugin errors"), h("a", { href: "/wechat/plugins" }, "Plugins")),
      h("div", { class: "panel-body" }, failing.length
        ? h("ul", { class: "plugin-errors" }, failing.map((p) => h("li", null,
          icon("alert"),
          h("div", { class: "cell-stack" },
            h("a", { href: "/wechat/plugins", class: "cell-main", title: `${p.name} on the Plugins page` }, p.name),
            h("span", { class: "cell-sub" }, p.compile_error ? `Does not compile: ${truncate(p.compile_error, 120)}` : `${p.errors} error${p.errors === 1 ? "" : "s"}${p.last_error ? ` · last: ${truncate(p.last_error, 120)}` : ""}`)))))
        : h("p", { class: "muted ok-line" }, icon("check"), " No plugin failed.")));
    root.replaceChildren(h("div", { class: "chart-grid" }, messages, fans), h("div", { class: "chart-grid chart-grid-3" }, keywords, answered, plugins));
  }).catch((error) => {
    if (!(error instanceof ApiError)) console.error(error);
    root.replaceChildren(h("div", { class: "panel" }, errorState(error.message, () => ctx.navigate(location.pathname, { replace: true }))));
  });
  return { root, done };
}

const MAX_ACCOUNTS = 12;

function stat(label, value, iconName, tone = "") {
  return h("div", { class: "panel stat" },
    h("span", { class: ["stat-icon", tone] }, icon(iconName)),
    h("div", null, h("p", { class: "stat-value", dataset: { stat: label } }, value), h("p", { class: "stat-label" }, label)));
}

function startOfToday() {
  const d = new Date();
  return new Date(d.getFullYear(), d.getMonth(), d.getDate()).toISOString();
}

export async function render(ctx) {
  const hello = ctx.admin ? `Signed in as ${ctx.admin.username}.` : "";
  ctx.main.append(pageHeader("Dashboard", `Your official accounts at a glance. ${hello}`));

  if (!ctx.accounts.length) {
    ctx.main.append(h("div", { class: "panel welcome" },
      h("span", { class: "brand-mark brand-mark-lg", "aria-hidden": "true" }, icon("messages")),
      h("div", null,
        h("h2", null, "Welcome to wxmp 👋"),
        h("p", { class: "muted" }, ctx.isAdmin
          ? "Bind your first official account: its AppID, AppSecret and the token you set in the WeChat console."
          : "No official account is assigned to you yet. Ask an admin to give you access."),
        ctx.isAdmin ? h("p", { class: "welcome-action" }, h("a", { class: "btn btn-primary", href: "/wechat/wxaccounts?new=1", "data-action": "first-account" }, icon("plus"), h("span", null, "Add an account"))) : null)));
    return;
  }

  const stats = h("div", { class: "stats" }, loadingState());
  const perAccount = h("div", { class: "panel" },
    h("div", { class: "panel-head" }, h("h2", null, "Accounts"), h("a", { href: "/wechat/wxaccounts" }, "Manage")),
    loadingState());
  const recent = h("div", { class: "panel" },
    h("div", { class: "panel-head" }, h("h2", null, "Recent messages"), h("a", { href: "/wechat/wxmessages" }, "All messages")),
    loadingState());
  const charts = chartsPanel(ctx);
  ctx.main.append(stats, charts.root, h("div", { class: "dash-grid" }, perAccount, recent));

  const shown = ctx.accounts.slice(0, MAX_ACCOUNTS);
  const totals = Promise.all([
    count("wxmessages", scope(ctx)),
    count("wxmessages", { ...scope(ctx), start: startOfToday() }),
    count("wxusers", { ...scope(ctx), subscribe_status: 1 }),
    count("wxautoreplies", { ...scope(ctx), status: 1 }),
  ]);
  const rows = Promise.all(shown.map((a) => Promise.all([
    count("wxmessages", { account_id: a.id }),
    count("wxusers", { account_id: a.id }),
    count("wxautoreplies", { account_id: a.id }),
  ])));
  const latest = api.get("/wechat/wxmessages/list", { ...scope(ctx), page: 1, page_size: 8 });

  const fail = (el, error, keepHead) => {
    if (!(error instanceof ApiError)) console.error(error);
    const head = keepHead ? el.firstChild : null;
    el.replaceChildren(...[head, errorState(error.message, () => ctx.navigate(location.pathname, { replace: true }))].filter(Boolean));
  };

  totals.then(([messages, today, fans, rules]) => {
    stats.replaceChildren(
      stat(ctx.account ? "Messages" : "Messages, all accounts", messages.toLocaleString(), "messages"),
      stat("Messages today", today.toLocaleString(), "bolt", "amber"),
      stat("Subscribed fans", fans.toLocaleString(), "fans", "blue"),
      stat("Active reply rules", rules.toLocaleString(), "reply", "purple"));
  }).catch((e) => fail(stats, e, false));

  rows.then((counts) => {
    const table = h("table", { class: "table" },
      h("caption", { class: "visually-hidden" }, "Counts per account"),
      h("thead", null, h("tr", null,
        h("th", { scope: "col" }, "Account"),
        h("th", { scope: "col", class: "num" }, "Messages"),
        h("th", { scope: "col", class: "num" }, "Fans"),
        h("th", { scope: "col", class: "num" }, "Rules"))),
      h("tbody", null, shown.map((a, i) => h("tr", { class: a.id === ctx.account ? "selected" : null, dataset: { account: a.id } },
        h("td", { dataset: { label: "Account" } }, h("div", { class: "cell-stack" },
          h("button", { type: "button", class: "link-button cell-main", title: "Show only this account", onclick: () => ctx.selectAccount(a.id) }, a.account_name || a.app_id),
          h("span", { class: "cell-sub mono" }, a.app_id))),
        h("td", { class: "num", dataset: { label: "Messages" } }, counts[i][0].toLocaleString()),
        h("td", { class: "num", dataset: { label: "Fans" } }, counts[i][1].toLocaleString()),
        h("td", { class: "num", dataset: { label: "Rules" } }, counts[i][2].toLocaleString())))));
    const more = ctx.accounts.length > MAX_ACCOUNTS ? [h("p", { class: "panel-body muted" }, `Showing ${MAX_ACCOUNTS} of ${ctx.accounts.length} accounts.`)] : [];
    perAccount.replaceChildren(perAccount.firstChild, h("div", { class: "table-wrap" }, table), ...more);
  }).catch((e) => fail(perAccount, e, true));

  latest.then((data) => {
    if (!data.list.length) {
      recent.replaceChildren(recent.firstChild, emptyState({ icon: "messages", title: "No messages yet", hint: "Messages show up here as fans write to your accounts." }));
      return;
    }
    recent.replaceChildren(recent.firstChild, h("ul", { class: "recent" }, data.list.map((m) => h("li", null,
      h("span", { class: ["tile-icon", m.direction === 1 ? "in" : "out"], "aria-hidden": "true" }, icon(kindIcon(m))),
      h("div", { class: "cell-stack" },
        h("a", { class: "recent-text", href: `/wechat/wxmessages?openid=${encodeURIComponent(m.openid)}&account_id=${encodeURIComponent(m.account_id)}` },
          isEvent(m) ? h("em", null, summarize(m)) : truncate(summarize(m), 60)),
        h("span", { class: "cell-sub" }, m.direction === 1 ? "from " : "to ", h("span", { class: "mono" }, truncate(m.openid, 14)),
          ctx.account ? "" : ` · ${ctx.accountLabel(m.account_id)}`)),
      h("div", { class: "cell-stack recent-when" }, timeEl(m.created_at, { relative: true }), m.is_auto_reply === 1 ? badge("Auto", "purple") : null)))));
  }).catch((e) => fail(recent, e, true));

  await Promise.allSettled([totals, rows, latest, charts.done]);
}
