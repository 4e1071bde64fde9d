// Template messages and their send log.

import { h, badge, button, toast, timeEl, comingSoon, truncate } from "../dom.js";
import { resource, api } from "../api.js";
import { listView, pageHeader, formDialog, tabs } from "../components.js";
import { scope, noAccounts, accountField, defaultAccount, accountColumn, deleteButton, editButton, statusBadge } from "./common.js";

const SEND_STATUS = [["pending", "Pending"], ["sent", "Sent"], ["success", "Delivered"], ["failed", "Failed"], ["user_block", "Blocked by fan"], ["system_failed", "System failure"]];

function statusTone(status) {
  const s = (status || "").toLowerCase();
  if (s === "success" || s === "delivered") return "green";
  if (s === "sent") return "blue";
  if (s === "pending") return "amber";
  return s ? "red" : "";
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
  const header = pageHeader("Templates", "Template messages (模板消息) the accounts may send, and what was sent.", [
    comingSoon("Sync from WeChat", "refresh"),
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
      comingSoon("Send", "send", { iconOnly: true }),
      editButton("template", () => openForm(t)),
      deleteButton({ name: "wxtemplates", noun: "template", describe: (x) => `The template “${x.title || x.template_id}”`, row: t, onDone: () => list.reload() }),
    ],
    empty: { icon: "templates", title: "No templates yet", hint: "Add the templates you picked in the WeChat console by their template ID." },
  });
  return [header, list.root];
}

function renderLogs(ctx) {
  const header = pageHeader("Templates", "Template messages (模板消息) the accounts may send, and what was sent.");
  const list = listView({
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
      { label: "Status", render: (l) => badge(SEND_STATUS.find(([v]) => v === l.status)?.[1] || l.status || "—", statusTone(l.status)) },
      { label: "Result", render: (l) => (l.errcode ? h("span", { class: "clip", title: l.errmsg }, `${l.errcode} ${l.errmsg}`) : h("span", { class: "muted" }, l.errmsg || "—")) },
      { label: "Delivered", class: "nowrap", render: (l) => timeEl(l.delivered_at) },
    ],
    empty: { icon: "send", title: "Nothing sent yet", hint: "Each template message sent to a fan is logged here with its delivery result." },
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
