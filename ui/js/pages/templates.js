// Template messages and their send log.

import { t } from "../i18n/index.js";
import { h, badge, button, toast, timeEl, truncate } from "../dom.js";
import { resource, api, ApiError } from "../api.js";
import { pageHeader, tabs } from "../states.js";
import { listView } from "../list.js";
import { formDialog } from "../form.js";
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

const COLOR = /^#[0-9a-fA-F]{6}$/;

/** The template's text with the values filled in, as nodes. */
function filled(content, values) {
  const out = [];
  const re = /\{\{\s*([^{}]+?)\.DATA\s*\}\}/g;
  let last = 0;
  for (const match of content.matchAll(re)) {
    out.push(content.slice(last, match.index));
    const key = match[1].trim();
    const value = values[`v_${key}`];
    const color = values[`c_${key}`];
    out.push(value
      ? h("span", { class: "tpl-value", dataset: { color: COLOR.test(color || "") ? color : "" } }, value)
      : h("span", { class: "tpl-slot" }, key));
    last = match.index + match[0].length;
  }
  out.push(content.slice(last));
  return out;
}

/** The send form, generated from the template's placeholders. */
async function sendDialog(template, openid = "") {
  const keys = placeholders(template.content);
  const preview = {
    type: "custom",
    render: ({ values, onChange }) => {
      const box = h("div", { class: "tpl-preview", "aria-live": "polite" });
      const paint = () => {
        box.replaceChildren(...filled(template.content || "", values()));
        // Colours go through the CSSOM (the page's CSP allows no inline styles).
        for (const el of box.querySelectorAll("[data-color]")) if (el.dataset.color) el.style.color = el.dataset.color;
      };
      onChange(paint);
      paint();
      return h("div", { class: "field" }, h("span", { class: "label" }, t("tpl.preview")), box);
    },
  };
  const fields = [
    preview,
    { name: "openid", label: t("messages.fan_openid"), required: true, mono: true, full: true, placeholder: "o…", hint: t("tpl.openid_hint") },
    ...keys.flatMap((key) => [
      { name: `v_${key}`, label: key, required: true, placeholder: `{{${key}.DATA}}` },
      { name: `c_${key}`, label: t("tpl.colour", { key }), mono: true, placeholder: "#173177", hint: t("tpl.colour_hint") },
    ]),
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
      for (const key of keys) {
        const value = v[`v_${key}`] ?? "";
        const color = (v[`c_${key}`] ?? "").trim();
        if (!String(value).trim()) problems[`v_${key}`] = t("reason.required");
        if (color && !COLOR.test(color)) problems[`c_${key}`] = t("tpl.colour_invalid");
        data[key] = color ? { value, color } : value;
      }
      if (Object.keys(problems).length) throw new ApiError(422, t("tpl.fill_all"), problems);
      const body = { account_id: template.account_id, template_id: template.template_id, openid: (v.openid || "").trim(), data };
      if (v.url && v.url.trim()) body.url = v.url.trim();
      return api.post("/wechat/wxtemplates/send", body);
    },
  });
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
  const send = async (tpl) => {
    const sent = await sendDialog(tpl);
    if (sent) {
      toast(sent.status === "sent" ? t("tpl.sent_toast") : t("tpl.send_status", { status: STATUS_LABEL[sent.status] || sent.status }));
    }
  };
  const header = pageHeader(t("nav.templates"), t("tpl.subtitle"), [
    sync,
    button(t("tpl.add"), { icon: "plus", kind: "btn-primary", onClick: () => openForm(null), disabled: !ctx.accounts.length, attrs: { "data-action": "add" } }),
  ]);
  list = listView({
    caption: t("tpl.caption"),
    load: (q) => resource("wxtemplates").list(q),
    baseQuery: () => scope(ctx),
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
  return [header, list.root];
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
  const [header, body] = tab === "logs" ? renderLogs(ctx) : renderTemplates(ctx);
  ctx.main.append(
    header,
    tabs([["templates", t("tpl.tab.templates")], ["logs", t("tpl.tab.logs")]], tab, (value) => ctx.navigate(value === "logs" ? "/wechat/wxtemplates?tab=logs" : "/wechat/wxtemplates"), t("tpl.sections")),
    body);
}
