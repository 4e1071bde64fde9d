// Admins (admin role only): who may sign in, with which role and accounts.

import { h, badge, button, toast, timeEl } from "../dom.js";
import { api } from "../api.js";
import { pageHeader } from "../states.js";
import { listView } from "../list.js";
import { formDialog } from "../form.js";
import { deleteButton, editButton, statusBadge } from "./common.js";

const ROLES = [["operator", "Operator: content of assigned accounts"], ["admin", "Admin: everything, including admins"]];

function fields(ctx, editing) {
  return [
    ...(editing ? [] : [{ name: "username", label: "User name", required: true, autocomplete: "off", hint: "1–64 letters, digits, '.', '_' or '-'." }]),
    {
      name: "password",
      label: editing ? "New password" : "Password",
      type: "password",
      required: !editing,
      hint: editing ? "Leave empty to keep the password. Changing it signs this admin out." : "At least 10 characters.",
    },
    { name: "role", label: "Role", type: "select", options: ROLES, full: true },
    {
      name: "account_ids",
      label: "Accounts this operator manages",
      type: "checkboxes",
      options: ctx.accounts.map((a) => [a.id, a.account_name || a.app_id]),
      emptyText: "There are no accounts yet.",
      show: (v) => v.role === "operator",
    },
    ...(editing ? [{ name: "status", label: "Active: may sign in", type: "switch", full: true }] : []),
  ];
}

export async function render(ctx) {
  let list;
  const me = ctx.admin ? ctx.admin.id : "";
  const openForm = async (row) => {
    const editing = Boolean(row);
    const saved = await formDialog({
      title: editing ? `Edit ${row.username}` : "Add an admin",
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
      toast(editing ? "Admin saved." : "Admin added.");
      list.reload();
    }
  };

  ctx.main.append(pageHeader("Admins", "People who sign in to this console.", [
    button("Add admin", { icon: "plus", kind: "btn-primary", onClick: () => openForm(null), attrs: { "data-action": "add" } }),
  ]));
  list = listView({
    caption: "Admins",
    load: (q) => api.get("/wechat/admins/list", q),
    columns: [
      { label: "User", render: (a) => h("div", { class: "cell-person" },
        h("span", { class: "avatar avatar-sm", "aria-hidden": "true" }, a.username.slice(0, 1).toUpperCase()),
        h("span", { class: "cell-main" }, a.username, a.id === me ? h("span", { class: "muted" }, " (you)") : null)) },
      { label: "Role", render: (a) => badge(a.role, a.role === "admin" ? "green" : "blue") },
      { label: "Accounts", render: (a) => (a.role === "admin" ? h("span", { class: "muted" }, "All") : a.account_ids.length ? a.account_ids.map((id) => ctx.accountLabel(id)).join(", ") : h("span", { class: "muted" }, "None")) },
      { label: "Status", render: (a) => statusBadge(a.status === 1, ["Active", "Disabled"]) },
      { label: "Last sign-in", class: "nowrap", render: (a) => timeEl(a.last_login_at, { relative: true }) },
    ],
    rowActions: (a) => [
      editButton("admin", () => openForm(a)),
      a.id === me ? null : deleteButton({ name: "admins", noun: "admin", describe: (x) => `The admin “${x.username}”`, row: a, onDone: () => list.reload() }),
    ],
    empty: { icon: "admins", title: "No admins", hint: "Add people who should manage the accounts." },
  });
  ctx.main.append(list.root);
}
