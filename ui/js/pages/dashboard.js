// Dashboard: totals, counts per account, and the latest messages.

import { t } from "../i18n/index.js";
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

/** What a rule that answered is called on the dashboard. */
function ruleLabel(ctx, rule) {
  if (rule.deleted) return t("dash.rule_deleted");
  const what = rule.reply_type === 2 ? t("rules.quoted", { keyword: rule.keyword })
    : rule.reply_type === 1 ? t("rules.on_follow") : t("rules.default_reply");
  return ctx.account ? what : t("dash.rule_in", { rule: what, account: ctx.accountLabel(rule.account_id) });
}

/** Charts and figures from /wechat/dashboard/stats: of the picked account,
 * or of every account the admin may see together. */
function chartsPanel(ctx) {
  const root = h("section", { class: "dash-charts", "aria-label": t("dash.charts"), dataset: { role: "charts", scope: ctx.account ? "account" : "all" } });
  root.append(h("div", { class: "panel" }, loadingState(t("dash.loading_charts"))));
  const query = ctx.account ? { account_id: ctx.account, days: DAYS } : { days: DAYS };
  const done = api.get("/wechat/dashboard/stats", query).then((stats) => {
    const days = stats.days || [];
    const received = sum(days, "received");
    const sent = sum(days, "sent");
    const followed = sum(days, "followed");
    const unfollowed = sum(days, "unfollowed");
    const messages = h("div", { class: "panel chart-panel" },
      h("div", { class: "panel-head" }, h("h2", null, t("dash.messages_per_day")), h("span", { class: "muted", dataset: { role: "charts-scope" } }, ctx.account ? t("dash.last_days", { days: days.length }) : t("dash.last_days_all", { days: days.length }))),
      h("div", { class: "panel-body" },
        h("p", { class: "chart-summary" }, h("strong", null, received.toLocaleString()), ` ${t("dash.received")} · `, h("strong", null, sent.toLocaleString()), ` ${t("dash.sent")}`),
        dayChart({
          title: t("dash.messages_chart_title", { days: days.length }),
          description: t("dash.messages_chart_desc", { received, sent, days: days.length }),
          days,
          role: "messages-chart",
          series: [{ key: "received", label: t("messages.received"), color: COLORS.received }, { key: "sent", label: t("messages.sent"), color: COLORS.sent }],
        })));
    const fans = h("div", { class: "panel chart-panel" },
      h("div", { class: "panel-head" }, h("h2", null, t("dash.fans_gained_lost")), h("span", { class: "muted" }, t("dash.subscribed_now", { n: Number(stats.subscribed_fans || 0).toLocaleString() }))),
      h("div", { class: "panel-body" },
        h("p", { class: "chart-summary" }, h("strong", null, followed ? `+${followed}` : "0"), ` ${t("dash.followed")} · `, h("strong", null, unfollowed ? `−${unfollowed}` : "0"), ` ${t("dash.unfollowed")} · ${t("dash.net")} `, h("strong", null, `${followed - unfollowed >= 0 ? "+" : "−"}${Math.abs(followed - unfollowed)}`)),
        dayChart({
          title: t("dash.fans_chart_title", { days: days.length }),
          description: t("dash.fans_chart_desc", { followed, unfollowed, days: days.length }),
          days,
          mirror: true,
          role: "fans-chart",
          series: [{ key: "followed", label: t("dash.series_followed"), color: COLORS.followed }, { key: "unfollowed", label: t("dash.series_unfollowed"), color: COLORS.unfollowed }],
        })));
    const keywords = h("div", { class: "panel" },
      h("div", { class: "panel-head" }, h("h2", null, t("dash.top_rules")), h("a", { href: "/wechat/wxautoreplies" }, t("dash.rules"))),
      h("div", { class: "panel-body" }, (stats.top_rules || []).length
        ? rankList({ label: t("dash.top_rules_label"), role: "top-rules", items: stats.top_rules.map((r) => ({ label: ruleLabel(ctx, r), value: r.hits, href: r.deleted ? null : `/wechat/wxautoreplies?rule=${encodeURIComponent(r.rule_id)}` })), valueLabel: (v) => t("dash.times", { n: v }) })
        : h("p", { class: "muted" }, t("dash.no_rule_hits"))));
    const answered = h("div", { class: "panel" },
      h("div", { class: "panel-head" }, h("h2", null, t("dash.who_answered"))),
      h("div", { class: "panel-body" }, (stats.answered_by || []).length
        ? rankList({ label: t("dash.who_answered_label"), role: "answered-by", color: "#7a3fd1", items: stats.answered_by.map((a) => ({ label: answeredBy(a.handler), title: a.handler, value: a.replies })) })
        : h("p", { class: "muted" }, t("dash.no_replies"))));
    const counted = (stats.plugins || []).filter((p) => p.calls > 0 || p.errors > 0 || p.compile_error);
    const plugins = h("div", { class: "panel", dataset: { role: "plugin-figures" } },
      h("div", { class: "panel-head" }, h("h2", null, t("dash.plugins")), h("a", { href: "/wechat/plugins" }, t("nav.plugins"))),
      h("div", { class: "panel-body" }, counted.length
        ? h("ul", { class: "plugin-errors" }, counted.map((p) => h("li", { dataset: { plugin: p.name } },
          icon(p.errors || p.compile_error ? "alert" : "check"),
          h("div", { class: "cell-stack" },
            h("a", { href: "/wechat/plugins", class: "cell-main", title: t("dash.plugin_link", { name: p.name }) }, p.name),
            h("span", { class: "cell-sub" }, p.compile_error
              ? t("dash.does_not_compile", { error: truncate(p.compile_error.message || String(p.compile_error), 120) })
              : [t(p.calls === 1 ? "dash.calls_one" : "dash.calls", { n: p.calls.toLocaleString() }),
                t(p.errors === 1 ? "dash.errors_one" : "dash.errors", { n: p.errors }),
                p.last_error ? t("dash.last_error", { error: truncate(p.last_error, 120) }) : null].filter(Boolean).join(" · "))))))
        : h("p", { class: "muted ok-line" }, icon("check"), ` ${t("dash.no_plugin_calls")}`)));
    root.replaceChildren(h("div", { class: "chart-grid" }, messages, fans), h("div", { class: "chart-grid chart-grid-3" }, keywords, answered, plugins));
  }).catch((error) => {
    if (!(error instanceof ApiError)) console.error(error);
    root.replaceChildren(h("div", { class: "panel" }, errorState(error.message, () => ctx.navigate(location.pathname, { replace: true }))));
  });
  return { root, done };
}

const MAX_ACCOUNTS = 12;

function stat(key, value, iconName, tone = "") {
  return h("div", { class: "panel stat" },
    h("span", { class: ["stat-icon", tone] }, icon(iconName)),
    h("div", null, h("p", { class: "stat-value", dataset: { stat: key } }, value), h("p", { class: "stat-label" }, t(`dash.stat.${key}`))));
}

function startOfToday() {
  const d = new Date();
  return new Date(d.getFullYear(), d.getMonth(), d.getDate()).toISOString();
}

export async function render(ctx) {
  const hello = ctx.admin ? t("dash.hello", { name: ctx.admin.username }) : "";
  ctx.main.append(pageHeader(t("nav.dashboard"), `${t("dash.subtitle")} ${hello}`));

  if (!ctx.accounts.length) {
    ctx.main.append(h("div", { class: "panel welcome" },
      h("span", { class: "brand-mark brand-mark-lg", "aria-hidden": "true" }, icon("messages")),
      h("div", null,
        h("h2", null, t("dash.welcome")),
        h("p", { class: "muted" }, ctx.isAdmin ? t("dash.welcome_admin") : t("dash.welcome_operator")),
        ctx.isAdmin ? h("p", { class: "welcome-action" }, h("a", { class: "btn btn-primary", href: "/wechat/wxaccounts?new=1", "data-action": "first-account" }, icon("plus"), h("span", null, t("common.add_account")))) : null)));
    return;
  }

  const stats = h("div", { class: "stats" }, loadingState());
  const perAccount = h("div", { class: "panel" },
    h("div", { class: "panel-head" }, h("h2", null, t("dash.accounts")), h("a", { href: "/wechat/wxaccounts" }, t("dash.manage"))),
    loadingState());
  const recent = h("div", { class: "panel" },
    h("div", { class: "panel-head" }, h("h2", null, t("dash.recent")), h("a", { href: "/wechat/wxmessages" }, t("messages.all"))),
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
      stat(ctx.account ? "messages" : "messages_all", messages.toLocaleString(), "messages"),
      stat("today", today.toLocaleString(), "bolt", "amber"),
      stat("fans", fans.toLocaleString(), "fans", "blue"),
      stat("rules", rules.toLocaleString(), "reply", "purple"));
  }).catch((e) => fail(stats, e, false));

  rows.then((counts) => {
    const table = h("table", { class: "table" },
      h("caption", { class: "visually-hidden" }, t("dash.counts_caption")),
      h("thead", null, h("tr", null,
        h("th", { scope: "col" }, t("common.account")),
        h("th", { scope: "col", class: "num" }, t("nav.messages")),
        h("th", { scope: "col", class: "num" }, t("fans.what")),
        h("th", { scope: "col", class: "num" }, t("dash.rules")))),
      h("tbody", null, shown.map((a, i) => h("tr", { class: a.id === ctx.account ? "selected" : null, dataset: { account: a.id } },
        h("td", { dataset: { label: t("common.account") } }, h("div", { class: "cell-stack" },
          h("button", { type: "button", class: "link-button cell-main", title: t("dash.only_this"), onclick: () => ctx.selectAccount(a.id) }, a.account_name || a.app_id),
          h("span", { class: "cell-sub mono" }, a.app_id))),
        h("td", { class: "num", dataset: { label: t("nav.messages") } }, counts[i][0].toLocaleString()),
        h("td", { class: "num", dataset: { label: t("fans.what") } }, counts[i][1].toLocaleString()),
        h("td", { class: "num", dataset: { label: t("dash.rules") } }, counts[i][2].toLocaleString())))));
    const more = ctx.accounts.length > MAX_ACCOUNTS ? [h("p", { class: "panel-body muted" }, t("dash.showing_of", { shown: MAX_ACCOUNTS, total: ctx.accounts.length }))] : [];
    perAccount.replaceChildren(perAccount.firstChild, h("div", { class: "table-wrap" }, table), ...more);
  }).catch((e) => fail(perAccount, e, true));

  latest.then((data) => {
    if (!data.list.length) {
      recent.replaceChildren(recent.firstChild, emptyState({ icon: "messages", title: t("messages.empty"), hint: t("dash.no_messages_hint") }));
      return;
    }
    recent.replaceChildren(recent.firstChild, h("ul", { class: "recent" }, data.list.map((m) => h("li", null,
      h("span", { class: ["tile-icon", m.direction === 1 ? "in" : "out"], "aria-hidden": "true" }, icon(kindIcon(m))),
      h("div", { class: "cell-stack" },
        h("a", { class: "recent-text", href: `/wechat/wxmessages?openid=${encodeURIComponent(m.openid)}&account_id=${encodeURIComponent(m.account_id)}` },
          isEvent(m) ? h("em", null, summarize(m)) : truncate(summarize(m), 60)),
        h("span", { class: "cell-sub" }, m.direction === 1 ? t("dash.from") : t("dash.to"), h("span", { class: "mono" }, truncate(m.openid, 14)),
          ctx.account ? "" : ` · ${ctx.accountLabel(m.account_id)}`)),
      h("div", { class: "cell-stack recent-when" }, timeEl(m.created_at, { relative: true }), m.is_auto_reply === 1 ? badge(t("dash.auto"), "purple") : null)))));
  }).catch((e) => fail(recent, e, true));

  await Promise.allSettled([totals, rows, latest, charts.done]);
}
