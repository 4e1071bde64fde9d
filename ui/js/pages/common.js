// Pieces the account-scoped pages share.

import { h, button, confirmDialog, alertDialog, toast } from "../dom.js";
import { resource, ApiError } from "../api.js";
import { emptyState } from "../components.js";

/** `account_id` for list queries: the picked account, or all. */
export function scope(ctx) {
  return ctx.account ? { account_id: ctx.account } : {};
}

/** A page that needs accounts shows how to add one when there are none. */
export function noAccounts(ctx, what) {
  if (ctx.accounts.length) return null;
  return h("div", { class: "panel" }, emptyState({
    icon: "accounts",
    title: "Add an official account first",
    hint: `${what} belong to an official account. Bind one, then come back here.`,
    action: ctx.isAdmin ? h("a", { class: "btn btn-primary", href: "/wechat/wxaccounts?new=1" }, "Add an account") : h("p", null, "Ask an admin to give you access to an account."),
  }));
}

/** The account field of add forms, preset to the picked account. */
export function accountField(ctx) {
  return {
    name: "account_id",
    label: "Official account",
    type: "select",
    required: true,
    full: true,
    options: ctx.accounts.map((a) => [a.id, `${a.account_name || a.app_id} · ${a.app_id}`]),
  };
}

export function defaultAccount(ctx) {
  return ctx.account || (ctx.accounts[0] && ctx.accounts[0].id) || "";
}

/** A column naming the account, shown only when listing all accounts. */
export function accountColumn(ctx) {
  return ctx.account ? [] : [{ label: "Account", render: (row) => h("span", { class: "nowrap" }, ctx.accountLabel(row.account_id)) }];
}

/** A delete button that asks first, deletes, and reports in words. */
export function deleteButton({ name, noun, describe, row, onDone, iconOnly = true }) {
  return button(`Delete ${noun}`, {
    icon: "trash",
    iconOnly,
    kind: iconOnly ? "btn-ghost btn-sm" : "btn-danger-ghost",
    attrs: { "data-action": "delete" },
    onClick: async () => {
      const ok = await confirmDialog({
        title: `Delete this ${noun}?`,
        message: `${describe(row)} will be deleted. This cannot be undone.`,
      });
      if (!ok) return;
      try {
        await resource(name).remove(row.id);
        toast(`Deleted the ${noun}.`);
        await onDone();
      } catch (error) {
        if (!(error instanceof ApiError)) console.error(error);
        else if (error.status !== 401) await alertDialog({ title: `Could not delete the ${noun}`, message: error.message });
      }
    },
  });
}

export function editButton(noun, onClick) {
  return button(`Edit ${noun}`, { icon: "edit", iconOnly: true, kind: "btn-ghost btn-sm", onClick, attrs: { "data-action": "edit" } });
}

export function statusBadge(on, [yes, no] = ["Enabled", "Disabled"]) {
  return h("span", { class: ["badge", on ? "badge-green" : ""] }, h("span", { class: ["dot", on && "dot-green"] }), on ? yes : no);
}

export const MESSAGE_TYPES = [
  ["text", "Text"], ["image", "Image"], ["voice", "Voice"], ["video", "Video"], ["shortvideo", "Short video"],
  ["location", "Location"], ["link", "Link"], ["event", "Event"], ["news", "News"], ["music", "Music"],
];
