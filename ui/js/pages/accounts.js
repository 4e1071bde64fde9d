// Official accounts: list, add / edit (callback settings, pay settings).

import { t } from "../i18n/index.js";
import { h, badge, button, icon, timeEl, copyText, toast, confirmDialog, alertDialog, openModal } from "../dom.js";
import { api, resource, ApiError } from "../api.js";
import { pageHeader } from "../states.js";
import { listView } from "../list.js";
import { formDialog } from "../form.js";
import { editButton, statusBadge } from "./common.js";

const TYPES = [0, 1, 2, 3].map((n) => [n, t(`accounts.type.${n}`)]);
const MODES = [0, 1, 2].map((n) => [n, t(`accounts.mode.${n}`)]);
const MODE_TONES = { 0: "amber", 1: "blue", 2: "green" };

const ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
function randomText(length) {
  const bytes = crypto.getRandomValues(new Uint8Array(length));
  return Array.from(bytes, (b) => ALNUM[b % ALNUM.length]).join("");
}

function generateButton(length, what) {
  return (control) => button(t("accounts.generate", { what }), {
    icon: "refresh",
    kind: "btn-secondary",
    iconOnly: true,
    onClick: () => {
      control.value = randomText(length);
      control.dispatchEvent(new Event("input"));
      control.focus();
    },
  });
}

/**
 * Where WeChat reaches this server (GET /wechat/callback/base): the
 * configured WXMP_PUBLIC_URL, else what the server derives from the request.
 */
let callbackBase = null;
async function loadCallbackBase() {
  try {
    callbackBase = await api.get("/wechat/callback/base");
  } catch (error) {
    if (!(error instanceof ApiError)) console.error(error);
    callbackBase = { callback_url: `${location.origin}/wechat/official_account/callback`, base_url: location.origin, configured: false, accepted_by_wechat: false };
  }
  return callbackBase;
}

export function callbackUrl(appId) {
  return `${callbackBase.callback_url}/${appId || "<AppID>"}`;
}

/** What is wrong with the callback base for WeChat, or null. */
function callbackWarning() {
  if (callbackBase.accepted_by_wechat) return null;
  return h("div", { class: "alert alert-warn callback-warning", role: "note", dataset: { role: "callback-warning" } },
    icon("alert"),
    h("span", null, t("accounts.callback_port", { base: callbackBase.base_url }),
      callbackBase.configured ? "" : t("accounts.callback_unconfigured")));
}

function callbackField() {
  return {
    type: "custom",
    render: ({ values, onChange }) => {
      const code = h("code", { id: "callback-url", class: "mono" }, callbackUrl(values().app_id));
      const copy = button(t("accounts.copy"), {
        icon: "copy",
        kind: "btn-secondary",
        attrs: { "aria-describedby": "callback-url", "data-action": "copy-callback" },
        onClick: async () => {
          const ok = await copyText(callbackUrl(values().app_id));
          toast(ok ? t("accounts.callback_copied") : t("accounts.copy_refused"), ok ? "success" : "error");
        },
      });
      const sync = () => {
        code.textContent = callbackUrl(values().app_id);
        copy.disabled = !values().app_id;
      };
      onChange(sync);
      sync();
      return h("div", { class: "field" },
        h("span", { class: "label" }, t("accounts.callback_url")),
        h("div", { class: "copy-box" }, code, copy),
        callbackWarning(),
        h("p", { class: "hint" }, t("accounts.callback_hint")));
    },
  };
}

function fields({ editing, isAdmin }) {
  const secretHint = editing ? (isAdmin ? t("accounts.secret_masked") : t("accounts.secret_hidden")) : undefined;
  return [
    {
      section: t("accounts.section.account"),
      fields: [
        { name: "account_name", label: t("accounts.name"), required: true, placeholder: t("accounts.name_placeholder") },
        { name: "app_id", label: t("accounts.app_id"), required: true, mono: true, placeholder: "wx…" },
        { name: "app_secret", label: t("accounts.app_secret"), type: "secret", mono: true, hint: secretHint || t("accounts.app_secret_hint") },
        { name: "account_type", label: t("accounts.type"), type: "select", numeric: true, options: TYPES },
        { name: "original_id", label: t("accounts.original_id"), mono: true, placeholder: "gh_…" },
        { name: "wechat_id", label: t("accounts.wechat_id"), placeholder: t("accounts.optional") },
        { name: "status", label: t("accounts.status_switch"), type: "switch", full: true },
      ],
    },
    {
      section: t("accounts.section.server"),
      fields: [
        callbackField(),
        { name: "token", label: t("accounts.token"), type: "secret", mono: true, required: true, hint: secretHint || t("accounts.token_hint"), after: generateButton(32, t("accounts.token")) },
        { name: "message_mode", label: t("accounts.message_mode"), type: "select", numeric: true, options: MODES },
        {
          name: "encoding_aes_key",
          label: t("accounts.aes_key"),
          type: "secret",
          mono: true,
          full: true,
          after: generateButton(43, "EncodingAESKey"),
          hint: (v) => (v.message_mode === 0 ? t("accounts.aes_optional") : t("accounts.aes_required")),
        },
        { name: "server_url", label: t("accounts.server_url"), type: "url", full: true, placeholder: "https://…", hint: t("accounts.server_url_hint") },
        {
          name: "late_reply_enabled",
          label: t("accounts.late_replies"),
          type: "switch",
          full: true,
          hint: t("accounts.late_replies_hint"),
        },
      ],
    },
    {
      section: t("accounts.section.pay"),
      collapsible: true,
      summary: t("accounts.optional_lower"),
      intro: t("accounts.pay_intro"),
      fields: [
        { name: "mch_id", label: t("accounts.mch_id"), mono: true, inputmode: "numeric" },
        { name: "pay_api_v3_key", label: t("accounts.api_v3_key"), type: "secret", mono: true, hint: secretHint || t("accounts.api_v3_key_hint") },
        { name: "pay_cert_serial", label: t("accounts.cert_serial"), mono: true, full: true },
        { name: "pay_private_key", label: t("accounts.private_key"), type: "textarea", mono: true, rows: 4, placeholder: "-----BEGIN PRIVATE KEY-----", hint: secretHint },
        { name: "pay_public_key_id", label: t("accounts.public_key_id"), mono: true, full: true, placeholder: "PUB_KEY_ID_…" },
        { name: "pay_public_key", label: t("accounts.public_key"), type: "textarea", mono: true, rows: 4, placeholder: "-----BEGIN PUBLIC KEY-----" },
      ],
    },
  ];
}

const FIELD_NAMES = ["account_name", "app_id", "app_secret", "account_type", "original_id", "wechat_id", "status", "token", "message_mode", "encoding_aes_key", "server_url", "late_reply_enabled", "mch_id", "pay_api_v3_key", "pay_cert_serial", "pay_private_key", "pay_public_key_id", "pay_public_key"];

/** Archives or restores `a` (POST /wechat/wxaccounts/archive|restore). */
async function setArchived(a, archive, afterChange) {
  const name = a.account_name || a.app_id;
  if (archive) {
    const ok = await confirmDialog({
      title: t("accounts.archive_title", { name }),
      message: t("accounts.archive_message"),
      confirmText: t("accounts.archive"),
      danger: false,
    });
    if (!ok) return;
  }
  try {
    await api.post(`/wechat/wxaccounts/${archive ? "archive" : "restore"}`, { id: a.id });
    toast(t(archive ? "accounts.archived_toast" : "accounts.restored_toast", { name }));
    await afterChange();
  } catch (error) {
    if (!(error instanceof ApiError)) console.error(error);
    else if (error.status !== 401) await alertDialog({ title: t("accounts.archive_failed"), message: error.message });
  }
}

/**
 * Deletes everything of `a` once its name is typed exactly; resolves with
 * the server's counts, or undefined when cancelled.
 */
function purgeDialog(a) {
  const name = a.account_name;
  const inputId = `purge-name-${a.id}`;
  const input = h("input", { id: inputId, type: "text", autocomplete: "off", spellcheck: "false", "data-role": "confirm-name" });
  const problem = h("p", { class: "field-error", role: "alert", hidden: true });
  const submit = button(t("accounts.purge_confirm"), { kind: "btn-danger", disabled: true, attrs: { "data-confirm": "purge" } });
  input.addEventListener("input", () => {
    submit.disabled = input.value.trim() !== name.trim();
    problem.hidden = true;
  });
  return openModal({
    title: t("accounts.purge_title", { name }),
    className: "modal-confirm",
    body: h("div", { class: "field" },
      h("div", { class: "alert alert-error", role: "note" }, icon("alert"), h("span", null, t("accounts.purge_warning"))),
      h("label", { for: inputId, class: "label" }, t("accounts.purge_type_name", { name })),
      input,
      problem),
    footer: (close) => {
      submit.addEventListener("click", async () => {
        submit.disabled = true;
        try {
          close(await api.post("/wechat/wxaccounts/purge", { id: a.id, confirm_name: input.value }));
        } catch (error) {
          if (!(error instanceof ApiError)) console.error(error);
          problem.textContent = (error.fields && error.fields.confirm_name) || error.message;
          problem.hidden = false;
          submit.disabled = false;
        }
      });
      return [button(t("common.cancel"), { kind: "btn-secondary", onClick: () => close(undefined) }), submit];
    },
    onOpen: () => input.focus(),
  });
}

/**
 * Delete: an empty account goes at once; one that still holds messages, fans
 * or payments offers the way forward: archive it, or delete it with all its
 * data after typing its name.
 */
async function deleteAccount(a, afterChange) {
  const noun = t("accounts.noun");
  const ok = await confirmDialog({
    title: t("common.delete_title", { noun }),
    message: t("common.delete_message", { what: t("accounts.describe", { name: a.account_name, app_id: a.app_id }) }),
  });
  if (!ok) return;
  try {
    await resource("wxaccounts").remove(a.id);
    toast(t("common.deleted", { noun }));
    await afterChange();
    return;
  } catch (error) {
    if (!(error instanceof ApiError)) console.error(error);
    if (!(error instanceof ApiError) || error.status !== 409) {
      if (!(error instanceof ApiError) || error.status !== 401) await alertDialog({ title: t("common.delete_failed", { noun }), message: error.message });
      return;
    }
    const choice = await openModal({
      title: t("accounts.holds_data_title", { name: a.account_name || a.app_id }),
      className: "modal-confirm",
      body: h("div", null,
        h("p", { class: "confirm-message" }, error.message),
        h("p", { class: "hint" }, t("accounts.holds_data_hint"))),
      footer: (close) => [
        button(t("common.cancel"), { kind: "btn-secondary", onClick: () => close(undefined) }),
        a.archived_at ? null : button(t("accounts.archive_instead"), { kind: "btn-primary", onClick: () => close("archive"), attrs: { "data-choice": "archive" } }),
        button(t("accounts.purge_open"), { kind: "btn-danger", onClick: () => close("purge"), attrs: { "data-choice": "purge" } }),
      ],
    });
    if (choice === "archive") return setArchived(a, true, afterChange);
    if (choice !== "purge") return;
  }
  const purged = await purgeDialog(a);
  if (purged) {
    toast(t("accounts.purged_toast", { name: a.account_name }));
    await afterChange();
  }
}

export async function render(ctx) {
  await loadCallbackBase();
  let list;
  const afterChange = async () => {
    await ctx.refreshAccounts();
    list.reload();
  };

  const openForm = async (row) => {
    const editing = Boolean(row);
    const values = editing
      ? Object.fromEntries(FIELD_NAMES.map((n) => [n, row[n]]))
      : { status: 1, account_type: 2, message_mode: 2, late_reply_enabled: 1 };
    const saved = await formDialog({
      title: editing ? t("accounts.edit_title", { name: row.account_name || row.app_id }) : t("accounts.add_title"),
      wide: true,
      fields: fields({ editing, isAdmin: ctx.isAdmin }),
      values,
      submitLabel: editing ? t("common.save_changes") : t("accounts.add"),
      submit: (v) => (editing ? resource("wxaccounts").edit({ id: row.id, ...v }) : resource("wxaccounts").add(v)),
    });
    if (saved) {
      toast(editing ? t("accounts.saved") : t("accounts.added", { name: saved.account_name }));
      await afterChange();
    }
  };

  ctx.main.append(pageHeader(t("nav.accounts"), t("accounts.subtitle"), ctx.isAdmin
    ? [button(t("accounts.add"), { icon: "plus", kind: "btn-primary", onClick: () => openForm(null), attrs: { "data-action": "add" } })]
    : []));
  if (ctx.isAdmin) {
    const warning = callbackWarning();
    if (warning) ctx.main.append(warning);
  }

  list = listView({
    caption: t("accounts.caption"),
    load: (q) => resource("wxaccounts").list(q),
    filters: [
      { name: "keyword", label: t("common.search"), type: "search", placeholder: t("accounts.search_placeholder") },
      { name: "status", label: t("common.status"), type: "select", options: [["1", t("common.enabled")], ["0", t("common.disabled")]] },
      { name: "message_mode", label: t("accounts.encryption"), type: "select", options: MODES.map(([v]) => [String(v), t(`accounts.mode_short.${v}`)]) },
    ],
    columns: [
      { label: t("common.account"), render: (a) => h("div", { class: "cell-stack" }, h("span", { class: "cell-main" }, a.account_name), h("span", { class: "cell-sub mono" }, a.app_id)) },
      { label: t("accounts.type"), render: (a) => (TYPES.some(([v]) => v === a.account_type) ? t(`accounts.type_short.${a.account_type}`) : String(a.account_type)) },
      { label: t("accounts.encryption"), render: (a) => (a.message_mode in MODE_TONES ? badge(t(`accounts.mode_short.${a.message_mode}`), MODE_TONES[a.message_mode]) : badge(String(a.message_mode))) },
      { label: t("nav.pay"), render: (a) => (a.mch_id ? badge(t("accounts.merchant", { mch_id: a.mch_id }), "green") : h("span", { class: "muted" }, t("accounts.not_set"))) },
      { label: t("common.status"), render: (a) => (a.archived_at ? badge(t("accounts.archived"), "amber") : statusBadge(a.status === 1)) },
      { label: t("accounts.added_at"), class: "nowrap", render: (a) => timeEl(a.created_at) },
    ],
    rowActions: ctx.isAdmin
      ? (a) => [
        button(t("accounts.copy_callback"), { icon: "link", iconOnly: true, kind: "btn-ghost btn-sm", onClick: async () => {
          const ok = await copyText(callbackUrl(a.app_id));
          toast(ok ? t("accounts.callback_copied") : t("accounts.copy_by_hand", { url: callbackUrl(a.app_id) }), ok ? "success" : "error");
        } }),
        editButton(t("accounts.noun"), () => openForm(a)),
        a.archived_at
          ? button(t("accounts.restore"), { icon: "refresh", iconOnly: true, kind: "btn-ghost btn-sm", attrs: { "data-action": "restore" }, onClick: () => setArchived(a, false, afterChange) })
          : button(t("accounts.archive"), { icon: "archive", iconOnly: true, kind: "btn-ghost btn-sm", attrs: { "data-action": "archive" }, onClick: () => setArchived(a, true, afterChange) }),
        button(t("common.delete_noun", { noun: t("accounts.noun") }), { icon: "trash", iconOnly: true, kind: "btn-ghost btn-sm", attrs: { "data-action": "delete" }, onClick: () => deleteAccount(a, afterChange) }),
      ]
      : null,
    empty: {
      icon: "accounts",
      title: t("accounts.empty"),
      hint: ctx.isAdmin ? t("accounts.empty_hint") : t("accounts.empty_hint_operator"),
      action: ctx.isAdmin ? button(t("accounts.add"), { icon: "plus", kind: "btn-primary", onClick: () => openForm(null) }) : null,
    },
  });
  ctx.main.append(list.root);

  if (ctx.params.get("new") === "1" && ctx.isAdmin) {
    const url = new URL(location.href);
    url.searchParams.delete("new");
    history.replaceState(null, "", url.pathname + url.search);
    openForm(null);
  }
}
