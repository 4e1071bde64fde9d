// Template messages and their send log.

import { t } from "../i18n/index.js";
import { h, badge, button, toast, timeEl, truncate } from "../dom.js";
import { resource, api, ApiError } from "../api.js";
import { pageHeader, tabs } from "../states.js";
import { listView } from "../list.js";
import { formDialog } from "../form.js";
import { fanPicker } from "./fanpicker.js";
import { scope, noAccounts, accountField, defaultAccount, accountColumn, deleteButton, editButton, statusBadge, chooseAccount, actionButton } from "./common.js";

/** Statuses of a send: the request, then WeChat's delivery report. */
const SEND_STATUS = ["sending", "sent", "delivered", "failed", "user_block", "system_failed"].map((s) => [s, t(`tpl.status.${s}`)]);
const STATUS_LABEL = { ...Object.fromEntries(SEND_STATUS), success: t("tpl.status.delivered"), pending: t("tpl.status.sending") };

function statusTone(status) {
  const s = (status || "").toLowerCase();
  if (s === "success" || s === "delivered") return "green";
  if (s === "sent") return "blue";
  if (s === "pending" || s === "sending") return "amber";
  return s ? "red" : "";
}

/** The keys of a template's `{{key.DATA}}` placeholders, in order of appearance. */
export function placeholders(content) {
  const keys = [];
  let rest = content || "";
  for (;;) {
    const start = rest.indexOf("{{");
    if (start < 0) break;
    const after = rest.slice(start + 2);
    const end = after.indexOf("}}");
    if (end < 0) break;
    const inner = after.slice(0, end).trim();
    if (inner.endsWith(".DATA")) {
      const key = inner.slice(0, -5);
      if (!keys.includes(key)) keys.push(key);
    }
    rest = after.slice(end + 2);
  }
  return keys;
}

/** The template's text with the values filled in, as nodes. */
function filled(content, values) {
  const out = [];
  const re = /\{\{\s*([^{}]+?)\.DATA\s*\}\}/g;
  let last = 0;
  for (const match of content.matchAll(re)) {
    out.push(content.slice(last, match.index));
    const key = match[1].trim();
    const value = values[`v_${key}`];
    out.push(value ? h("span", { class: "tpl-value" }, value) : h("span", { class: "tpl-slot" }, key));
    last = match.index + match[0].length;
  }
  out.push(content.slice(last));
  return out;
}

/** What a field takes: its type's limit (thing2: up to 20 characters, …). */
function fieldHint(field) {
  return field.kind ? t("tpl.field_rule", { key: field.key, rule: t(`reason.tpl_${field.kind}`) }) : t("tpl.field_free", { key: field.key });
}

/** The send form, generated from the template's fields (labels from its own content). */
async function sendDialog(template, openid = "") {
  let known = null;
  try {
    known = (await api.get("/wechat/wxtemplates/fields", { account_id: template.account_id, template_id: template.template_id })).fields;
  } catch (error) {
    if (!(error instanceof ApiError)) console.error(error);
  }
  const fieldsOf = known || placeholders(template.content).map((key) => ({ key, label: "", kind: null }));
  const keys = fieldsOf.map((f) => f.key);
  const preview = {
    type: "custom",
    render: ({ values, onChange }) => {
      const box = h("div", { class: "tpl-preview", "aria-live": "polite" });
      const paint = () => box.replaceChildren(...filled(template.content || "", values()));
      onChange(paint);
      paint();
      return h("div", { class: "field" }, h("span", { class: "label" }, t("tpl.preview")), box);
    },
  };
  const fields = [
    preview,
    fanPicker({ name: "openid", label: t("tpl.fan"), accountId: template.account_id, hint: t("tpl.openid_hint") }),
    ...fieldsOf.map((f) => ({ name: `v_${f.key}`, label: f.label || f.key, required: Boolean(f.kind), placeholder: `{{${f.key}.DATA}}`, hint: fieldHint(f), full: true })),
    { name: "url", label: t("tpl.link"), type: "url", full: true, placeholder: "https://…", hint: t("tpl.link_hint") },
  ];
  if (!keys.length) fields.splice(2, 0, { type: "custom", render: () => h("p", { class: "notice" }, t("tpl.no_placeholders")) });
  return formDialog({
    title: t("tpl.send_title", { name: template.title || template.template_id }),
    wide: true,
    fields,
    values: { openid },
    submitLabel: t("messages.send"),
    submit: async (v) => {
      const data = {};
      const problems = {};
      if (!(v.openid || "").trim()) problems.openid = t("reason.required");
      for (const f of fieldsOf) {
        const value = v[`v_${f.key}`] ?? "";
        if (f.kind && !String(value).trim()) problems[`v_${f.key}`] = t("reason.required");
        data[f.key] = value;
      }
      if (Object.keys(problems).length) throw new ApiError(422, t("tpl.fill_all"), problems);
      const body = { account_id: template.account_id, template_id: template.template_id, openid: (v.openid || "").trim(), data };
      if (v.url && v.url.trim()) body.url = v.url.trim();
      try {
        return await api.post("/wechat/wxtemplates/send", body);
      } catch (error) {
        // The server names values as data.<key>; the form's fields are v_<key>.
        if (error instanceof ApiError && error.fields) {
          error.fields = Object.fromEntries(Object.entries(error.fields).map(([k, reason]) => [k.startsWith("data.") ? `v_${k.slice(5)}` : k, reason]));
        }
        throw error;
      }
    },
  });
}

/** Opens the send form of `template` for `openid` (may be empty) and says
 * how the send went; returns what the server answered, none when cancelled. */
export async function sendTemplate(template, openid = "") {
  const sent = await sendDialog(template, openid);
  if (sent) {
    toast(sent.status === "sent" ? t("tpl.sent_toast") : t("tpl.send_status", { status: STATUS_LABEL[sent.status] || sent.status }));
  }
  return sent;
}

function templateFields(ctx, editing) {
  return [
    ...(editing ? [] : [accountField(ctx)]),
    { name: "template_id", label: t("tpl.template_id"), mono: true, required: true, full: true, hint: t("tpl.template_id_hint") },
    { name: "title", label: t("rules.title"), placeholder: t("tpl.title_placeholder") },
    { name: "status", label: t("common.enabled"), type: "switch" },
    { name: "primary_industry", label: t("tpl.primary_industry") },
    { name: "deputy_industry", label: t("tpl.deputy_industry") },
    { name: "content", label: t("messages.content"), type: "textarea", rows: 5, mono: true, placeholder: "{{first.DATA}}\n订单号：{{keyword1.DATA}}\n{{remark.DATA}}" },
    { name: "example", label: t("tpl.example"), type: "textarea", rows: 3 },
  ];
}

function renderTemplates(ctx) {
  let list;
  const openForm = async (row) => {
    const editing = Boolean(row);
    const saved = await formDialog({
      title: editing ? t("tpl.edit_title") : t("tpl.add_title"),
      wide: true,
      fields: templateFields(ctx, editing),
      values: editing ? { ...row } : { account_id: defaultAccount(ctx), status: 1 },
      submit: (v) => (editing ? resource("wxtemplates").edit({ id: row.id, ...v }) : resource("wxtemplates").add(v)),
    });
    if (saved) {
      toast(editing ? t("tpl.saved") : t("tpl.added"));
      list.reload();
    }
  };
  const sync = actionButton(t("tpl.sync"), { icon: "download", action: "sync-templates", failTitle: t("tpl.sync_failed") }, async () => {
    const accountId = await chooseAccount(ctx, t("tpl.syncing"));
    if (!accountId) return;
    const r = await api.post("/wechat/wxtemplates/sync", { account_id: accountId });
    toast(t("tpl.synced", { added: r.added, updated: r.updated, removed: r.removed }));
    list.reload();
  });
  // From a conversation whose window closed: the fan is filled in.
  const forFan = ctx.params.get("openid") || "";
  const forAccount = ctx.params.get("account_id") || "";
  const send = (tpl) => sendTemplate(tpl, forAccount && tpl.account_id !== forAccount ? "" : forFan);
  const header = pageHeader(t("nav.templates"), t("tpl.subtitle"), [
    sync,
    button(t("tpl.add"), { icon: "plus", kind: "btn-primary", onClick: () => openForm(null), disabled: !ctx.accounts.length, attrs: { "data-action": "add" } }),
  ]);
  list = listView({
    caption: t("tpl.caption"),
    load: (q) => resource("wxtemplates").list(q),
    baseQuery: () => (forAccount ? { account_id: forAccount } : scope(ctx)),
    filters: [
      { name: "keyword", label: t("common.search"), type: "search", placeholder: t("tpl.search_placeholder") },
      { name: "status", label: t("common.status"), type: "select", options: [["1", t("common.enabled")], ["0", t("common.disabled")]] },
    ],
    columns: [
      { label: t("tpl.template"), render: (tpl) => h("div", { class: "cell-stack" }, h("span", { class: "cell-main" }, tpl.title || t("tpl.untitled")), h("span", { class: "cell-sub mono" }, truncate(tpl.template_id, 30))) },
      ...accountColumn(ctx),
      { label: t("tpl.industry"), render: (tpl) => [tpl.primary_industry, tpl.deputy_industry].filter(Boolean).join(" / ") || h("span", { class: "muted" }, "—") },
      { label: t("messages.content"), render: (tpl) => h("div", { class: "clip mono", title: tpl.content }, truncate(tpl.content.replace(/\s+/g, " "), 60) || "—") },
      { label: t("common.status"), render: (tpl) => statusBadge(tpl.status === 1) },
    ],
    rowActions: (tpl) => [
      button(t("tpl.send_button"), { icon: "send", iconOnly: true, kind: "btn-ghost btn-sm", attrs: { "data-action": "send" }, onClick: () => send(tpl) }),
      editButton(t("tpl.noun"), () => openForm(tpl)),
      deleteButton({ name: "wxtemplates", noun: t("tpl.noun"), describe: (x) => t("tpl.describe", { name: x.title || x.template_id }), row: tpl, onDone: () => list.reload() }),
    ],
    empty: { icon: "templates", title: t("tpl.empty"), hint: t("tpl.empty_hint") },
  });
  const note = forFan
    ? h("p", { class: "notice", dataset: { role: "send-to-fan" } }, t("tpl.pick_for_fan", { openid: forFan }))
    : null;
  return [header, note, list.root].filter(Boolean);
}

function renderLogs(ctx) {
  let list;
  const header = pageHeader(t("nav.templates"), t("tpl.subtitle"), [
    button(t("plugins.refresh"), { icon: "refresh", kind: "btn-secondary", attrs: { "data-action": "refresh-logs" }, onClick: () => list.reload() }),
  ]);
  list = listView({
    caption: t("tpl.sends_caption"),
    load: (q) => api.get("/wechat/wxtemplates/logs", q),
    baseQuery: () => scope(ctx),
    filters: [
      { name: "status", label: t("common.status"), type: "select", options: SEND_STATUS },
      { name: "openid", label: t("messages.fan_openid"), type: "text", placeholder: "o…" },
      { name: "template_id", label: t("tpl.template_id"), type: "text" },
      { type: "daterange", label: t("messages.date") },
    ],
    columns: [
      { label: t("messages.time"), class: "nowrap", render: (l) => timeEl(l.created_at) },
      ...accountColumn(ctx),
      { label: t("tpl.template"), render: (l) => h("span", { class: "mono" }, truncate(l.template_id, 24)) },
      { label: t("fans.fan"), render: (l) => h("span", { class: "mono" }, truncate(l.openid, 20)) },
      { label: t("common.status"), render: (l) => h("span", { dataset: { status: l.status } }, badge(STATUS_LABEL[l.status] || l.status || "—", statusTone(l.status))) },
      { label: t("tpl.result"), render: (l) => (l.errcode ? h("span", { class: "clip", title: l.errmsg }, t("tpl.errcode", { errcode: l.errcode, errmsg: l.errmsg })) : h("span", { class: "muted" }, l.errmsg || "—")) },
      { label: t("tpl.sent_at"), class: "nowrap", render: (l) => timeEl(l.sent_at) },
      { label: t("tpl.delivered_at"), class: "nowrap", render: (l) => timeEl(l.delivered_at) },
    ],
    empty: { icon: "send", title: t("tpl.logs_empty"), hint: t("tpl.logs_empty_hint") },
  });
  return [header, list.root];
}

export async function render(ctx) {
  const tab = ctx.params.get("tab") === "logs" ? "logs" : "templates";
  const missing = noAccounts(ctx, t("tpl.what"));
  if (missing) return ctx.main.append(pageHeader(t("nav.templates"), t("tpl.subtitle")), missing);
  const [header, ...body] = tab === "logs" ? renderLogs(ctx) : renderTemplates(ctx);
  ctx.main.append(
    header,
    tabs([["templates", t("tpl.tab.templates")], ["logs", t("tpl.tab.logs")]], tab, (value) => ctx.navigate(value === "logs" ? "/wechat/wxtemplates?tab=logs" : "/wechat/wxtemplates"), t("tpl.sections")),
    ...body);
}
