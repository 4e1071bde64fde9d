// Audit log (admin role only): every change made through the console or the
// REST API — who, from where, when, what — with the fields that changed.
// Secrets show as ****; the log is read-only.

import { h, badge, timeEl, truncate } from "../dom.js";
import { api } from "../api.js";
import { pageHeader } from "../states.js";
import { listView } from "../list.js";

const RESOURCES = [
  ["account", "Accounts"],
  ["auto_reply", "Auto replies"],
  ["menu", "Menus"],
  ["material", "Materials"],
  ["file", "Files"],
  ["template", "Templates"],
  ["message", "Messages"],
  ["fan", "Fans"],
  ["pay_order", "Pay orders"],
  ["pay_refund", "Refunds"],
  ["plugin", "Plugins"],
  ["admin", "Admins"],
];
const ACTION_TONES = { create: "green", update: "blue", delete: "red" };

/** A value of a diff, short and readable. */
function shownValue(value) {
  if (value === undefined) return h("span", { class: "muted" }, "—");
  if (value === null || value === "") return h("span", { class: "muted" }, "(empty)");
  const text = typeof value === "string" ? value : JSON.stringify(value);
  return h("span", { class: "mono", title: text }, truncate(text, 80));
}

/** The changed fields: a one-line summary that opens into a from → to table. */
function changesCell(entry) {
  const changes = entry.changes && typeof entry.changes === "object" ? entry.changes : {};
  const fields = Object.keys(changes);
  if (!fields.length) return h("span", { class: "muted" }, "No field changed");
  const isDiff = fields.every((f) => changes[f] && typeof changes[f] === "object" && ("from" in changes[f] || "to" in changes[f]));
  const rows = isDiff
    ? fields.map((f) => h("tr", null, h("th", { scope: "row", class: "mono" }, f), h("td", null, shownValue(changes[f].from)), h("td", null, shownValue(changes[f].to))))
    : fields.map((f) => h("tr", null, h("th", { scope: "row", class: "mono" }, f), h("td", { colspan: "2" }, shownValue(changes[f]))));
  return h("details", { class: "audit-changes" },
    h("summary", null, truncate(fields.join(", "), 60)),
    h("table", { class: "audit-diff" },
      isDiff ? h("thead", null, h("tr", null, h("th", null, "Field"), h("th", null, "Before"), h("th", null, "After"))) : null,
      h("tbody", null, rows)));
}

export async function render(ctx) {
  ctx.main.append(pageHeader("Audit log", "Every change made by an admin or operator, newest first. Secrets are never shown.", []));
  const list = listView({
    caption: "Audit log",
    load: (q) => api.get("/wechat/audit_log/list", q),
    // Across all accounts: admins and plugins belong to none.
    filters: [
      { name: "account_id", label: "Official account", type: "select", options: ctx.accounts.map((a) => [a.id, a.account_name || a.app_id]) },
      { name: "resource", label: "Resource", type: "select", options: RESOURCES },
      { name: "action", label: "Action", type: "select", options: [["create", "Created"], ["update", "Edited"], ["delete", "Deleted"]] },
      { name: "admin_name", label: "By", type: "text", placeholder: "user name" },
      { type: "daterange", label: "Date" },
    ],
    columns: [
      { label: "Time", class: "nowrap", render: (e) => timeEl(e.created_at) },
      { label: "By", render: (e) => h("div", { class: "cell-stack" }, h("span", { class: "cell-main" }, e.admin_name), e.ip ? h("span", { class: "cell-sub mono" }, e.ip) : null) },
      { label: "Action", render: (e) => badge(e.action.replace(/_/g, " "), ACTION_TONES[e.action] || "") },
      { label: "Resource", render: (e) => h("div", { class: "cell-stack" }, h("span", { class: "cell-main" }, e.resource.replace(/_/g, " ")), e.resource_id ? h("span", { class: "cell-sub mono" }, truncate(e.resource_id, 24)) : null) },
      { label: "Account", render: (e) => (e.account_id ? h("span", { class: "nowrap" }, ctx.accountLabel(e.account_id)) : h("span", { class: "muted" }, "—")) },
      { label: "Changes", render: changesCell },
    ],
    empty: { icon: "admins", title: "Nothing recorded yet", hint: "Changes to accounts, rules, menus, materials, templates, pay, plugins and admins appear here." },
  });
  ctx.main.append(list.root);
}
