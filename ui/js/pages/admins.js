// Admins (admin role only): who may sign in, with which role and accounts.

import { t } from "../i18n/index.js";
import { h, badge, button, toast, timeEl } from "../dom.js";
import { api } from "../api.js";
import { pageHeader } from "../states.js";
import { listView } from "../list.js";
import { formDialog } from "../form.js";
import { deleteButton, editButton, statusBadge } from "./common.js";

const ROLES = [["operator", t("admins.role_operator")], ["admin", t("admins.role_admin")]];

function fields(ctx, editing) {
  return [
    ...(editing ? [] : [{ name: "username", label: t("login.username"), required: true, autocomplete: "off", hint: t("admins.username_hint") }]),
    {
      name: "password",
      label: editing ? t("password.new") : t("login.password"),
      type: "password",
      required: !editing,
      hint: editing ? t("admins.password_keep") : t("admins.password_hint"),
    },
    { name: "role", label: t("admins.role"), type: "select", options: ROLES, full: true },
    {
      name: "account_ids",
      label: t("admins.accounts_label"),
      type: "checkboxes",
      options: ctx.accounts.map((a) => [a.id, a.account_name || a.app_id]),
      emptyText: t("admins.no_accounts"),
      show: (v) => v.role === "operator",
    },
    ...(editing ? [{ name: "status", label: t("admins.active_switch"), type: "switch", full: true }] : []),
  ];
}

export async function render(ctx) {
  let list;
  const me = ctx.admin ? ctx.admin.id : "";
  const openForm = async (row) => {
    const editing = Boolean(row);
    const saved = await formDialog({
      title: editing ? t("accounts.edit_title", { name: row.username }) : t("admins.add_title"),
      fields: fields(ctx, editing),
      values: editing ? { role: row.role, account_ids: row.account_ids, status: row.status, password: "" } : { role: "operator", account_ids: ctx.account ? [ctx.account] : [] },
      submit: (v) => {
        const body = { ...v };
        if (body.role === "admin") body.account_ids = [];
        if (editing && !body.password) delete body.password;
        return editing ? api.put("/wechat/admins/edit", { id: row.id, ...body }) : api.post("/wechat/admins/add", body);
      },
    });
    if (saved) {
      toast(editing ? t("admins.saved") : t("admins.added"));
      list.reload();
    }
  };

  ctx.main.append(pageHeader(t("nav.admins"), t("admins.subtitle"), [
    button(t("admins.add"), { icon: "plus", kind: "btn-primary", onClick: () => openForm(null), attrs: { "data-action": "add" } }),
  ]));
  list = listView({
    caption: t("admins.caption"),
    load: (q) => api.get("/wechat/admins/list", q),
    columns: [
      { label: t("admins.user"), render: (a) => h("div", { class: "cell-person" },
        h("span", { class: "avatar avatar-sm", "aria-hidden": "true" }, a.username.slice(0, 1).toUpperCase()),
        h("span", { class: "cell-main" }, a.username, a.id === me ? h("span", { class: "muted" }, ` ${t("admins.you")}`) : null)) },
      { label: t("admins.role"), render: (a) => badge(t(`role.${a.role === "admin" ? "admin" : "operator"}`), a.role === "admin" ? "green" : "blue") },
      { label: t("dash.accounts"), render: (a) => (a.role === "admin" ? h("span", { class: "muted" }, t("list.all")) : a.account_ids.length ? a.account_ids.map((id) => ctx.accountLabel(id)).join(t("list.sep")) : h("span", { class: "muted" }, t("admins.none"))) },
      { label: t("common.status"), render: (a) => statusBadge(a.status === 1, [t("admins.active"), t("common.disabled")]) },
      { label: t("admins.last_sign_in"), class: "nowrap", render: (a) => timeEl(a.last_login_at, { relative: true }) },
    ],
    rowActions: (a) => [
      editButton(t("admins.noun"), () => openForm(a)),
      a.id === me ? null : deleteButton({ name: "admins", noun: t("admins.noun"), describe: (x) => t("admins.describe", { name: x.username }), row: a, onDone: () => list.reload() }),
    ],
    empty: { icon: "admins", title: t("admins.empty"), hint: t("admins.empty_hint") },
  });
  ctx.main.append(list.root);
}
