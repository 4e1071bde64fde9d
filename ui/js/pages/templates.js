// Template messages and their send log.

import { h, badge, button, toast, timeEl, truncate } from "../dom.js";
import { resource, api, ApiError } from "../api.js";
import { pageHeader, tabs } from "../states.js";
import { listView } from "../list.js";
import { formDialog } from "../form.js";
import { scope, noAccounts, accountField, defaultAccount, accountColumn, deleteButton, editButton, statusBadge, chooseAccount, actionButton } from "./common.js";

/** Statuses of a send: the request, then WeChat's delivery report. */
const SEND_STATUS = [
  ["sending", "Sending"], ["sent", "Sent, awaiting delivery"], ["delivered", "Delivered"], ["failed", "Failed"],
  ["user_block", "Blocked by the fan"], ["system_failed", "WeChat failed to deliver"],
];
const STATUS_LABEL = { ...Object.fromEntries(SEND_STATUS), success: "Delivered", pending: "Sending" };

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
      return h("div", { class: "field" }, h("span", { class: "label" }, "Preview"), box);
    },
  };
  const fields = [
    preview,
    { name: "openid", label: "Fan openid", required: true, mono: true, full: true, placeholder: "o…", hint: "The fan must follow the account." },
    ...keys.flatMap((key) => [
      { name: `v_${key}`, label: key, required: true, placeholder: `{{${key}.DATA}}` },
      { name: `c_${key}`, label: `${key} colour`, mono: true, placeholder: "#173177", hint: "Optional, e.g. #173177" },
    ]),
    { name: "url", label: "Link (optional)", type: "url", full: true, placeholder: "https://…", hint: "Where the message opens when tapped." },
  ];
  if (!keys.length) fields.splice(2, 0, { type: "custom", render: () => h("p", { class: "notice" }, "This template has no {{key.DATA}} placeholders. Sync the templates from WeChat if its content is missing.") });
  return formDialog({
    title: `Send “${template.title || template.template_id}”`,
    wide: true,
    fields,
    values: { openid },
    submitLabel: "Send",
    submit: async (v) => {
      const data = {};
      const problems = {};
      for (const key of keys) {
        const value = v[`v_${key}`] ?? "";
        const color = (v[`c_${key}`] ?? "").trim();
        if (!String(value).trim()) problems[`v_${key}`] = "is required";
        if (color && !COLOR.test(color)) problems[`c_${key}`] = "must look like #173177";
        data[key] = color ? { value, color } : value;
      }
      if (Object.keys(problems).length) throw new ApiError(422, "Fill in every value.", problems);
      const body = { account_id: template.account_id, template_id: template.template_id, openid: (v.openid || "").trim(), data };
      if (v.url && v.url.trim()) body.url = v.url.trim();
      return api.post("/wechat/wxtemplates/send", body);
    },
  });
}

function templateFields(ctx, editing) {
  return [
    ...(editing ? [] : [accountField(ctx)]),
    { name: "template_id", label: "Template ID", mono: true, required: true, full: true, hint: "From the WeChat console: Template messages → My templates." },
    { name: "title", label: "Title", placeholder: "e.g. 订单发货通知" },
    { name: "status", label: "Enabled", type: "switch" },
    { name: "primary_industry", label: "Primary industry" },
    { name: "deputy_industry", label: "Secondary industry" },
    { name: "content", label: "Content", type: "textarea", rows: 5, mono: true, placeholder: "{{first.DATA}}\n订单号：{{keyword1.DATA}}\n{{remark.DATA}}" },
    { name: "example", label: "Example", type: "textarea", rows: 3 },
  ];
}

function renderTemplates(ctx) {
  let list;
  const openForm = async (row) => {
    const editing = Boolean(row);
    const saved = await formDialog({
      title: editing ? "Edit template" : "Add a template",
      wide: true,
      fields: templateFields(ctx, editing),
      values: editing ? { ...row } : { account_id: defaultAccount(ctx), status: 1 },
      submit: (v) => (editing ? resource("wxtemplates").edit({ id: row.id, ...v }) : resource("wxtemplates").add(v)),
    });
    if (saved) {
      toast(editing ? "Template saved." : "Template added.");
      list.reload();
    }
  };
  const sync = actionButton("Sync from WeChat", { icon: "download", action: "sync-templates", failTitle: "Could not sync the templates" }, async () => {
    const accountId = await chooseAccount(ctx, "Syncing templates");
    if (!accountId) return;
    const r = await api.post("/wechat/wxtemplates/sync", { account_id: accountId });
    toast(`Templates synced from WeChat: ${r.added} added, ${r.updated} updated, ${r.removed} removed.`);
    list.reload();
  });
  const send = async (t) => {
    const sent = await sendDialog(t);
    if (sent) {
      toast(sent.status === "sent" ? "Sent. WeChat reports delivery later; see the Send log." : `Send status: ${STATUS_LABEL[sent.status] || sent.status}.`);
    }
  };
  const header = pageHeader("Templates", "Template messages (模板消息) the accounts may send, and what was sent.", [
    sync,
    button("Add template", { icon: "plus", kind: "btn-primary", onClick: () => openForm(null), disabled: !ctx.accounts.length, attrs: { "data-action": "add" } }),
  ]);
  list = listView({
    caption: "Templates",
    load: (q) => resource("wxtemplates").list(q),
    baseQuery: () => scope(ctx),
    filters: [
      { name: "keyword", label: "Search", type: "search", placeholder: "Title or content…" },
      { name: "status", label: "Status", type: "select", options: [["1", "Enabled"], ["0", "Disabled"]] },
    ],
    columns: [
      { label: "Template", render: (t) => h("div", { class: "cell-stack" }, h("span", { class: "cell-main" }, t.title || "(untitled)"), h("span", { class: "cell-sub mono" }, truncate(t.template_id, 30))) },
      ...accountColumn(ctx),
      { label: "Industry", render: (t) => [t.primary_industry, t.deputy_industry].filter(Boolean).join(" / ") || h("span", { class: "muted" }, "—") },
      { label: "Content", render: (t) => h("div", { class: "clip mono", title: t.content }, truncate(t.content.replace(/\s+/g, " "), 60) || "—") },
      { label: "Status", render: (t) => statusBadge(t.status === 1) },
    ],
    rowActions: (t) => [
      button("Send template message", { icon: "send", iconOnly: true, kind: "btn-ghost btn-sm", attrs: { "data-action": "send" }, onClick: () => send(t) }),
      editButton("template", () => openForm(t)),
      deleteButton({ name: "wxtemplates", noun: "template", describe: (x) => `The template “${x.title || x.template_id}”`, row: t, onDone: () => list.reload() }),
    ],
    empty: { icon: "templates", title: "No templates yet", hint: "Sync them from WeChat (the templates picked in the WeChat console), or add one by its template ID." },
  });
  return [header, list.root];
}

function renderLogs(ctx) {
  let list;
  const header = pageHeader("Templates", "Template messages (模板消息) the accounts may send, and what was sent.", [
    button("Refresh", { icon: "refresh", kind: "btn-secondary", attrs: { "data-action": "refresh-logs" }, onClick: () => list.reload() }),
  ]);
  list = listView({
    caption: "Template sends",
    load: (q) => api.get("/wechat/wxtemplates/logs", q),
    baseQuery: () => scope(ctx),
    filters: [
      { name: "status", label: "Status", type: "select", options: SEND_STATUS },
      { name: "openid", label: "Fan openid", type: "text", placeholder: "o…" },
      { name: "template_id", label: "Template ID", type: "text" },
      { type: "daterange", label: "Date" },
    ],
    columns: [
      { label: "Time", class: "nowrap", render: (l) => timeEl(l.created_at) },
      ...accountColumn(ctx),
      { label: "Template", render: (l) => h("span", { class: "mono" }, truncate(l.template_id, 24)) },
      { label: "Fan", render: (l) => h("span", { class: "mono" }, truncate(l.openid, 20)) },
      { label: "Status", render: (l) => h("span", { dataset: { status: l.status } }, badge(STATUS_LABEL[l.status] || l.status || "—", statusTone(l.status))) },
      { label: "Result", render: (l) => (l.errcode ? h("span", { class: "clip", title: l.errmsg }, `errcode ${l.errcode}: ${l.errmsg}`) : h("span", { class: "muted" }, l.errmsg || "—")) },
      { label: "Sent", class: "nowrap", render: (l) => timeEl(l.sent_at) },
      { label: "Delivered", class: "nowrap", render: (l) => timeEl(l.delivered_at) },
    ],
    empty: { icon: "send", title: "Nothing sent yet", hint: "Each template message sent to a fan is logged here; WeChat reports delivery (or a block by the fan) shortly after." },
  });
  return [header, list.root];
}

export async function render(ctx) {
  const tab = ctx.params.get("tab") === "logs" ? "logs" : "templates";
  const missing = noAccounts(ctx, "Templates");
  if (missing) return ctx.main.append(pageHeader("Templates", "Template messages (模板消息) the accounts may send, and what was sent."), missing);
  const [header, body] = tab === "logs" ? renderLogs(ctx) : renderTemplates(ctx);
  ctx.main.append(
    header,
    tabs([["templates", "Templates"], ["logs", "Send log"]], tab, (value) => ctx.navigate(value === "logs" ? "/wechat/wxtemplates?tab=logs" : "/wechat/wxtemplates"), "Template sections"),
    body);
}
