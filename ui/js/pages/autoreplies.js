// Auto replies: follow / keyword / default rules and the reply each sends.

import { t } from "../i18n/index.js";
import { h, icon, badge, button, toast, truncate, clear } from "../dom.js";
import { api, resource, ApiError } from "../api.js";
import { pageHeader, tabs } from "../states.js";
import { listView } from "../list.js";
import { formDialog, buildForm } from "../form.js";
import { scope, noAccounts, accountField, defaultAccount, accountColumn, deleteButton, editButton } from "./common.js";
import { REPLY_TYPES, replyFields, replyModeField, moreRepliesField } from "./morereplies.js";
import { resultView, materialLookup } from "./dryrun.js";
import { answeredBy } from "./messages.js";

const RULE_TYPES = [1, 2, 3].map((n) => [n, t(`rules.type.${n}`)]);
const MATCH_TYPES = [[1, t("rules.exact_match")], [2, t("rules.contains")], [3, t("rules.regex")]];
const MATCH_BADGES = { 1: [t("rules.exact"), "blue"], 2: [t("rules.contains"), ""], 3: [t("rules.regex"), "amber"] };
const REPLY_ICON = { text: "text", image: "materials", voice: "voice", video: "video", news: "news", music: "music" };

function fields(ctx, editing) {
  return [
    ...(editing ? [] : [accountField(ctx)]),
    { name: "reply_type", label: t("rules.when"), type: "segmented", numeric: true, options: RULE_TYPES, hint: (v) => (RULE_TYPES.some(([n]) => n === v.reply_type) ? t(`rules.help.${v.reply_type}`) : "") },
    { name: "keyword", label: t("rules.keyword"), type: "textarea", rows: 3, required: true, placeholder: t("rules.keyword_placeholder"), show: (v) => v.reply_type === 2, maxChars: 255, hint: (v) => t(v.match_type === 3 ? "rules.keyword_hint_regex" : "rules.keyword_hint") },
    { name: "match_type", label: t("rules.match"), type: "select", numeric: true, options: MATCH_TYPES, show: (v) => v.reply_type === 2 },
    { name: "active_from", label: t("rules.active_from"), mono: true, placeholder: "22:00", maxChars: 5, hint: t("rules.window_hint") },
    { name: "active_until", label: t("rules.active_until"), mono: true, placeholder: "08:00", maxChars: 5 },
    { name: "priority", label: t("rules.priority"), type: "number", min: 0, hint: t("rules.priority_hint") },
    { name: "status", label: t("common.enabled"), type: "switch" },
    { section: t("rules.replies"), fields: [...replyFields(), moreRepliesField(), replyModeField] },
  ];
}

function replyPreview(r) {
  const text = r.message_type === "text" ? r.content : r.title || r.media_id || r.music_url || "";
  return h("div", { class: "cell-stack" },
    h("span", { class: "bubble-kind" }, icon(REPLY_ICON[r.message_type] || "messages"), h("span", null, REPLY_TYPES.find(([v]) => v === r.message_type)?.[1] || r.message_type)),
    h("span", { class: "cell-sub clip", title: text }, truncate(text, 60)),
    (r.more_replies || []).length ? badge(t(r.reply_mode === 1 ? "rules.replies_random" : "rules.replies_all", { n: r.more_replies.length + 1 }), "blue") : null);
}

/** The keywords of a rule, one per line of its field. */
const keywordsOf = (r) => (r.keyword || "").split("\n").map((k) => k.trim()).filter(Boolean);

/** "22:00–08:00" when the rule answers only part of the day. */
function windowBadge(r) {
  return r.active_from && r.active_until
    ? badge(t("rules.window_badge", { from: r.active_from, until: r.active_until }), "amber")
    : null;
}

function ruleCell(r) {
  const window = windowBadge(r);
  if (r.reply_type === 1) return h("div", { class: "cell-stack" }, h("span", { class: "cell-main" }, t("rules.on_follow")), h("span", { class: "cell-sub" }, t("rules.on_follow_sub")), window);
  if (r.reply_type === 3) return h("div", { class: "cell-stack" }, h("span", { class: "cell-main" }, t("rules.default_reply")), h("span", { class: "cell-sub" }, t("rules.default_sub")), window);
  const [label, tone] = MATCH_BADGES[r.match_type] || MATCH_BADGES[1];
  return h("div", { class: "cell-stack" },
    h("span", { class: "cell-main", dataset: { role: "rule-keywords" } }, keywordsOf(r).map((keyword) => t("rules.quoted", { keyword })).join(" ")),
    h("span", null, badge(label, tone), window));
}

const TRY_KINDS = [["text", t("msgtype.text")], ["subscribe", t("rules.type.1")], ["CLICK", t("rules.menu_click")]];
const TRY_OUTCOMES = {
  reply: [t("try.answered"), "green"],
  continue: [t("try.no_reply"), "amber"],
  no_reply: [t("try.answered_nothing"), "blue"],
  error: [t("try.error"), "red"],
};

/**
 * "Try it": plays a text, a follow or a menu click against the account's
 * rules and plugins (the dry run of /wechat/plugins/test), storing nothing.
 */
function tryBox(ctx, openRule) {
  const accountId = ctx.account || (ctx.accounts.length === 1 ? ctx.accounts[0].id : "");
  const head = h("div", { class: "panel-head" }, h("h2", { id: "try-title" }, t("try.title")));
  const panel = h("section", { class: "panel try-box", "aria-labelledby": "try-title", dataset: { role: "try-it" } }, head);
  if (!accountId) {
    const id = "try-account";
    const select = h("select", { id, onchange: (e) => { if (e.target.value) ctx.selectAccount(e.target.value); } },
      h("option", { value: "" }, t("try.pick_account")),
      ctx.accounts.map((a) => h("option", { value: a.id }, a.account_name || a.app_id)));
    panel.append(h("div", { class: "panel-body try-pick" },
      h("p", { class: "hint" }, t("try.pick_hint")),
      h("label", { for: id, class: "visually-hidden" }, t("try.account_label")), select));
    return panel;
  }
  const account = ctx.accountById(accountId);
  const result = h("div", { class: "dry-output", "aria-live": "polite", dataset: { role: "try-result" } });
  const form = buildForm([
    { name: "kind", label: t("try.the_fan"), type: "segmented", options: TRY_KINDS },
    { name: "text", label: t("try.sends"), placeholder: t("rules.keyword_placeholder"), show: (v) => v.kind === "text" },
    { name: "event_key", label: t("try.menu_key"), mono: true, placeholder: t("try.menu_key_placeholder"), show: (v) => v.kind === "CLICK" },
  ], { kind: "text" });
  form.el.id = "try-form";
  form.el.classList.add("try-form");
  const run = button(t("try.run"), { icon: "play", kind: "btn-primary", type: "submit", attrs: { form: "try-form", "data-action": "try" } });
  form.el.querySelector(".form-grid").append(h("div", { class: "field try-run" }, run));
  form.el.addEventListener("submit", async (event) => {
    event.preventDefault();
    form.clearErrors();
    const v = form.values();
    const body = { account_id: accountId };
    if (v.kind === "text") {
      if (!(v.text || "").trim()) {
        form.setErrors({ text: t("try.needs_text") });
        return;
      }
      body.text = v.text;
    } else {
      body.event = v.kind;
      if (v.kind === "CLICK") {
        if (!(v.event_key || "").trim()) {
          form.setErrors({ event_key: t("try.needs_key") });
          return;
        }
        body.event_key = v.event_key.trim();
      }
    }
    run.disabled = true;
    run.classList.add("busy");
    try {
      const r = await api.post("/wechat/plugins/test", body);
      const view = resultView(r, { outcomes: TRY_OUTCOMES, handler: answeredBy, lookup: materialLookup(accountId), quietLogs: true });
      if (r.rule) {
        // The rule itself, not the handler's internal name.
        const rule = r.rule;
        const matched = { 1: "try.rule_keyword_exact", 2: "try.rule_keyword_contains", 3: "try.rule_keyword_regex" };
        const what = rule.kind === "keyword"
          ? t(matched[rule.match_type] || matched[1], { keyword: keywordsOf(rule).join(" / ") })
          : t(`try.rule_${rule.kind}`);
        view.querySelector("[data-role=dry-handler]")?.replaceWith(h("span", { dataset: { role: "try-rule" } },
          t("dry.by"), h("strong", null, what), " ",
          h("a", { href: `/wechat/wxautoreplies?rule=${rule.id}`, dataset: { role: "open-rule" }, onclick: (event) => {
            event.preventDefault();
            openRule(rule.id);
          } }, t("try.open_rule"))));
      }
      if (r.outcome === "continue") {
        // Default replies answer texts only: say so for a click instead of "no default reply".
        view.append(h("p", { class: "hint", dataset: { role: "try-none" } },
          body.event === "CLICK" ? t("try.click_unanswered", { key: body.event_key }) : t("try.nothing")));
      }
      clear(result).append(view);
    } catch (error) {
      if (!(error instanceof ApiError)) console.error(error);
      else if (error.status !== 401) {
        if (error.fields) form.setErrors(error.fields, error.message);
        else form.showError(error.message);
      }
    } finally {
      run.disabled = false;
      run.classList.remove("busy");
    }
  });
  head.append(h("span", { class: "muted try-account" }, account ? account.account_name || account.app_id : ""));
  panel.append(h("div", { class: "panel-body" },
    h("p", { class: "hint try-intro" }, t("try.intro")),
    form.el, result));
  return panel;
}

/**
 * A warning when plugins run before the keyword rules for the chosen account
 * (priority above the rules'): what they answer never reaches a rule.
 */
function pluginsAhead(ctx) {
  const host = h("div", { class: "plugins-ahead", "aria-live": "polite" });
  const accountId = ctx.account || (ctx.accounts.length === 1 ? ctx.accounts[0].id : "");
  if (!accountId) return host;
  api.get(`/wechat/plugins/ahead_of_rules?account_id=${encodeURIComponent(accountId)}`).then((r) => {
    if (!r.list.length) return;
    const names = r.list.map((p) => t("rules.plugin_at", { name: p.name, priority: p.priority })).join(t("list.sep"));
    host.append(h("div", { class: "alert alert-warn", role: "status", dataset: { role: "plugins-ahead" } }, icon("alert"),
      h("div", { class: "alert-text" },
        h("p", null, t(r.list.length === 1 ? "rules.plugins_ahead_one" : "rules.plugins_ahead", { plugins: names, priority: r.keyword_priority })),
        h("p", null, h("a", { href: "/wechat/plugins", dataset: { role: "open-plugins" } }, t("rules.plugins_ahead_link"))))));
  }).catch((error) => {
    if (!(error instanceof ApiError)) console.error(error);
  });
  return host;
}

export async function render(ctx) {
  const tab = ctx.params.get("reply_type") || "";
  let list;
  const openForm = async (row) => {
    const editing = Boolean(row);
    const values = editing
      ? { ...row }
      : { account_id: defaultAccount(ctx), reply_type: Number(tab) || 2, match_type: 1, message_type: "text", status: 1, priority: 0 };
    const saved = await formDialog({
      title: editing ? t("rules.edit_title") : t("rules.new_title"),
      wide: true,
      fields: fields(ctx, editing),
      values,
      submitLabel: editing ? t("rules.save") : t("rules.add"),
      submit: (v) => {
        const body = { ...v, priority: Number(v.priority) || 0 };
        if (body.reply_type !== 2) body.keyword = "";
        return editing ? resource("wxautoreplies").edit({ id: row.id, ...body }) : resource("wxautoreplies").add(body);
      },
    });
    if (saved) {
      toast(editing ? t("rules.saved") : t("rules.added"));
      list.reload();
    }
  };

  ctx.main.append(pageHeader(t("nav.autoreplies"), t("rules.subtitle"),
    [button(t("rules.new"), { icon: "plus", kind: "btn-primary", onClick: () => openForm(null), disabled: !ctx.accounts.length, attrs: { "data-action": "add" } })]));
  const missing = noAccounts(ctx, t("rules.what"));
  if (missing) return ctx.main.append(missing);

  /** Opens the edit form of the rule with this id. */
  const openRule = async (id) => {
    try {
      const found = await resource("wxautoreplies").list({ id, page: 1, page_size: 1 });
      if (found.list.length) await openForm(found.list[0]);
      else toast(t("try.rule_gone"), "error");
    } catch (error) {
      if (!(error instanceof ApiError)) console.error(error);
      else if (error.status !== 401) toast(error.message, "error");
    }
  };
  ctx.main.append(pluginsAhead(ctx), tryBox(ctx, openRule));
  ctx.main.append(tabs([["", t("rules.tab.all")], ["2", t("rules.tab.2")], ["1", t("rules.tab.1")], ["3", t("rules.tab.3")]], tab, (value) => {
    const url = new URL(location.href);
    url.search = value ? `?reply_type=${value}` : "";
    ctx.navigate(url.pathname + url.search);
  }, t("rules.kinds")));

  const toggle = (r) => {
    const input = h("input", { type: "checkbox", role: "switch", checked: r.status === 1, "aria-label": t("rules.enable_label", { name: r.keyword || RULE_TYPES.find(([v]) => v === r.reply_type)?.[1] || "" }) });
    input.addEventListener("change", async () => {
      input.disabled = true;
      try {
        await resource("wxautoreplies").edit({ id: r.id, status: input.checked ? 1 : 0 });
        r.status = input.checked ? 1 : 0;
        toast(input.checked ? t("rules.enabled_toast") : t("rules.disabled_toast"));
      } catch (error) {
        input.checked = !input.checked;
        if (!(error instanceof ApiError)) console.error(error);
        else if (error.status !== 401) toast(error.message, "error");
      } finally {
        input.disabled = false;
      }
    });
    return h("label", { class: "switch" }, input, h("span", { class: "switch-track", "aria-hidden": "true" }));
  };

  list = listView({
    caption: t("rules.caption"),
    load: (q) => resource("wxautoreplies").list(q),
    baseQuery: () => ({ ...scope(ctx), ...(tab ? { reply_type: tab } : {}) }),
    filters: [
      { name: "keyword", label: t("common.search"), type: "search", placeholder: t("rules.search_placeholder") },
      { name: "message_type", label: t("rules.reply_type"), type: "select", options: REPLY_TYPES },
      { name: "status", label: t("common.status"), type: "select", options: [["1", t("common.enabled")], ["0", t("common.disabled")]] },
    ],
    columns: [
      { label: t("rules.rule"), render: ruleCell },
      ...accountColumn(ctx),
      { label: t("messages.reply"), render: replyPreview },
      { label: t("rules.priority"), class: "num", render: (r) => String(r.priority) },
      { label: t("common.enabled"), render: toggle },
    ],
    rowActions: (r) => [
      editButton(t("rules.noun"), () => openForm(r)),
      deleteButton({ name: "wxautoreplies", noun: t("rules.noun"), describe: (x) => (x.reply_type === 2 ? t("rules.describe_keyword", { keyword: x.keyword }) : t("rules.describe_other")), row: r, onDone: () => list.reload() }),
    ],
    empty: { icon: "reply", title: t("rules.empty"), hint: t("rules.empty_hint"), action: button(t("rules.new"), { icon: "plus", kind: "btn-primary", onClick: () => openForm(null) }) },
  });
  ctx.main.append(list.root);
  if (ctx.params.get("rule")) openRule(ctx.params.get("rule"));
}
