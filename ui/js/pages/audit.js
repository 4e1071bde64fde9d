// Audit log (admin role only): every change made through the console or the
// REST API — who, from where, when, what — with the fields that changed.
// Secrets show as ****; the log is read-only.

import { h, badge, timeEl, truncate } from "../dom.js";
import { api } from "../api.js";
import { t, has } from "../i18n/index.js";
import { pageHeader } from "../states.js";
import { listView } from "../list.js";

const RESOURCES = ["account", "auto_reply", "menu", "material", "file", "template", "message", "fan", "pay_order", "pay_refund", "plugin", "admin"];
const ACTION_TONES = { create: "green", update: "blue", delete: "red" };

/** A stored code (action or resource) in words, or as it is when unknown. */
function named(kind, code) {
  const key = `audit.${kind}.${code}`;
  return has(key) ? t(key) : code.replace(/_/g, " ");
}

/** A value of a diff, short and readable. */
function shownValue(value) {
  if (value === undefined) return h("span", { class: "muted" }, "—");
  if (value === null || value === "") return h("span", { class: "muted" }, t("audit.empty_value"));
  const text = typeof value === "string" ? value : JSON.stringify(value);
  return h("span", { class: "mono", title: text }, truncate(text, 80));
}

/** The changed fields: a one-line summary that opens into a from → to table. */
function changesCell(entry) {
  const changes = entry.changes && typeof entry.changes === "object" ? entry.changes : {};
  const fields = Object.keys(changes);
  if (!fields.length) return h("span", { class: "muted" }, t("audit.no_field_changed"));
  const isDiff = fields.every((f) => changes[f] && typeof changes[f] === "object" && ("from" in changes[f] || "to" in changes[f]));
  const rows = isDiff
    ? fields.map((f) => h("tr", null, h("th", { scope: "row", class: "mono" }, f), h("td", null, shownValue(changes[f].from)), h("td", null, shownValue(changes[f].to))))
    : fields.map((f) => h("tr", null, h("th", { scope: "row", class: "mono" }, f), h("td", { colspan: "2" }, shownValue(changes[f]))));
  return h("details", { class: "audit-changes" },
    h("summary", null, truncate(fields.join(", "), 60)),
    h("table", { class: "audit-diff" },
      isDiff ? h("thead", null, h("tr", null, h("th", null, t("audit.field")), h("th", null, t("audit.before")), h("th", null, t("audit.after")))) : null,
      h("tbody", null, rows)));
}

export async function render(ctx) {
  ctx.main.append(pageHeader(t("audit.title"), t("audit.subtitle"), []));
  const list = listView({
    caption: t("audit.title"),
    load: (q) => api.get("/wechat/audit_log/list", q),
    // Across all accounts: admins and plugins belong to none.
    filters: [
      { name: "account_id", label: t("audit.filter.account"), type: "select", options: ctx.accounts.map((a) => [a.id, a.account_name || a.app_id]) },
      { name: "resource", label: t("audit.col.resource"), type: "select", options: RESOURCES.map((r) => [r, named("resource", r)]) },
      { name: "action", label: t("audit.col.action"), type: "select", options: ["create", "update", "delete"].map((a) => [a, named("action", a)]) },
      { name: "admin_name", label: t("audit.col.by"), type: "text", placeholder: t("audit.filter.user") },
      { type: "daterange", label: t("audit.filter.date") },
    ],
    columns: [
      { label: t("audit.col.time"), class: "nowrap", render: (e) => timeEl(e.created_at) },
      { label: t("audit.col.by"), render: (e) => h("div", { class: "cell-stack" }, h("span", { class: "cell-main" }, e.admin_name), e.ip ? h("span", { class: "cell-sub mono" }, e.ip) : null) },
      { label: t("audit.col.action"), render: (e) => badge(named("action", e.action), ACTION_TONES[e.action] || "") },
      { label: t("audit.col.resource"), render: (e) => h("div", { class: "cell-stack" }, h("span", { class: "cell-main" }, named("resource", e.resource)), e.resource_id ? h("span", { class: "cell-sub mono" }, truncate(e.resource_id, 24)) : null) },
      { label: t("audit.col.account"), render: (e) => (e.account_id ? h("span", { class: "nowrap" }, ctx.accountLabel(e.account_id)) : h("span", { class: "muted" }, "—")) },
      { label: t("audit.col.changes"), render: changesCell },
    ],
    empty: { icon: "audit", title: t("audit.empty.title"), hint: t("audit.empty.hint") },
  });
  ctx.main.append(list.root);
}
