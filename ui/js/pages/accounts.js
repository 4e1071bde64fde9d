// Official accounts: list, add / edit (callback settings, pay settings).

import { h, badge, button, timeEl, copyText, toast } from "../dom.js";
import { resource } from "../api.js";
import { pageHeader } from "../states.js";
import { listView } from "../list.js";
import { formDialog } from "../form.js";
import { deleteButton, editButton, statusBadge } from "./common.js";

const TYPES = [[0, "Subscription account · 订阅号"], [1, "Subscription, upgraded · 订阅号"], [2, "Service account · 服务号"], [3, "Test account · 测试号"]];
const MODES = [[0, "Plaintext · 明文模式"], [1, "Compatible · 兼容模式"], [2, "Safe (AES) · 安全模式"]];
const MODE_BADGE = { 0: ["Plaintext", "amber"], 1: ["Compatible", "blue"], 2: ["Safe (AES)", "green"] };

const ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
function randomText(length) {
  const bytes = crypto.getRandomValues(new Uint8Array(length));
  return Array.from(bytes, (b) => ALNUM[b % ALNUM.length]).join("");
}

function generateButton(length, what) {
  return (control) => button(`Generate ${what}`, {
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

export function callbackUrl(appId) {
  return `${location.origin}/wechat/official_account/callback/${appId || "<AppID>"}`;
}

function callbackField() {
  return {
    type: "custom",
    render: ({ values, onChange }) => {
      const code = h("code", { id: "callback-url", class: "mono" }, callbackUrl(values().app_id));
      const copy = button("Copy", {
        icon: "copy",
        kind: "btn-secondary",
        attrs: { "aria-describedby": "callback-url", "data-action": "copy-callback" },
        onClick: async () => {
          const ok = await copyText(callbackUrl(values().app_id));
          toast(ok ? "Callback URL copied." : "Copying was refused; select the URL and copy it by hand.", ok ? "success" : "error");
        },
      });
      const sync = () => {
        code.textContent = callbackUrl(values().app_id);
        copy.disabled = !values().app_id;
      };
      onChange(sync);
      sync();
      return h("div", { class: "field" },
        h("span", { class: "label" }, "Callback URL (服务器地址)"),
        h("div", { class: "copy-box" }, code, copy),
        h("p", { class: "hint" }, "Paste it into the WeChat console under Settings → Basic configuration → Server configuration, with the token and EncodingAESKey below."));
    },
  };
}

function fields({ editing, isAdmin }) {
  const secretHint = editing ? (isAdmin ? "Shown masked. Leave it unchanged to keep the stored value." : "Hidden. Leave it unchanged to keep the stored value.") : undefined;
  return [
    {
      section: "Account",
      fields: [
        { name: "account_name", label: "Name", required: true, placeholder: "e.g. 星巴克中国" },
        { name: "app_id", label: "AppID", required: true, mono: true, placeholder: "wx…" },
        { name: "app_secret", label: "AppSecret", type: "secret", mono: true, hint: secretHint || "From the WeChat console; kept on the server, never shown again in full." },
        { name: "account_type", label: "Type", type: "select", numeric: true, options: TYPES },
        { name: "original_id", label: "Original ID", mono: true, placeholder: "gh_…" },
        { name: "wechat_id", label: "WeChat ID", placeholder: "Optional" },
        { name: "status", label: "Enabled: answer callbacks and show in lists", type: "switch", full: true },
      ],
    },
    {
      section: "Server configuration",
      fields: [
        callbackField(),
        { name: "token", label: "Token", type: "secret", mono: true, required: true, hint: secretHint || "3–32 letters or digits; the same as in the WeChat console.", after: generateButton(32, "token") },
        { name: "message_mode", label: "Message encryption", type: "select", numeric: true, options: MODES },
        {
          name: "encoding_aes_key",
          label: "EncodingAESKey",
          type: "secret",
          mono: true,
          full: true,
          after: generateButton(43, "EncodingAESKey"),
          hint: (v) => (v.message_mode === 0 ? "Optional in plaintext mode; 43 letters and digits." : "Required in compatible and safe modes; 43 letters and digits."),
        },
        { name: "server_url", label: "Server URL", type: "url", full: true, placeholder: "https://…", hint: "Optional: the public address of this wxmp server." },
        {
          name: "late_reply_enabled",
          label: "Late replies",
          type: "switch",
          full: true,
          hint: "WeChat waits 5 seconds for an answer. When on, an answer that comes later (a slow plugin or handler) is still sent, as a customer-service message, if the fan wrote within 48 hours. When off, it is dropped.",
        },
      ],
    },
    {
      section: "WeChat Pay",
      collapsible: true,
      summary: "optional",
      intro: "Fill these in to take payments with this account (API v3).",
      fields: [
        { name: "mch_id", label: "Merchant ID (商户号)", mono: true, inputmode: "numeric" },
        { name: "pay_api_v3_key", label: "API v3 key", type: "secret", mono: true, hint: secretHint || "Exactly 32 characters." },
        { name: "pay_cert_serial", label: "Certificate serial number", mono: true, full: true },
        { name: "pay_private_key", label: "Merchant private key (apiclient_key.pem)", type: "textarea", mono: true, rows: 4, placeholder: "-----BEGIN PRIVATE KEY-----", hint: secretHint },
        { name: "pay_public_key_id", label: "WeChat Pay public key ID", mono: true, full: true, placeholder: "PUB_KEY_ID_…" },
        { name: "pay_public_key", label: "WeChat Pay public key", type: "textarea", mono: true, rows: 4, placeholder: "-----BEGIN PUBLIC KEY-----" },
      ],
    },
  ];
}

const FIELD_NAMES = ["account_name", "app_id", "app_secret", "account_type", "original_id", "wechat_id", "status", "token", "message_mode", "encoding_aes_key", "server_url", "late_reply_enabled", "mch_id", "pay_api_v3_key", "pay_cert_serial", "pay_private_key", "pay_public_key_id", "pay_public_key"];

export async function render(ctx) {
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
      title: editing ? `Edit ${row.account_name || row.app_id}` : "Add an official account",
      wide: true,
      fields: fields({ editing, isAdmin: ctx.isAdmin }),
      values,
      submitLabel: editing ? "Save changes" : "Add account",
      submit: (v) => (editing ? resource("wxaccounts").edit({ id: row.id, ...v }) : resource("wxaccounts").add(v)),
    });
    if (saved) {
      toast(editing ? "Account saved." : `Account ${saved.account_name} added.`);
      await afterChange();
    }
  };

  ctx.main.append(pageHeader("Accounts", "Official accounts wxmp answers for.", ctx.isAdmin
    ? [button("Add account", { icon: "plus", kind: "btn-primary", onClick: () => openForm(null), attrs: { "data-action": "add" } })]
    : []));

  list = listView({
    caption: "Official accounts",
    load: (q) => resource("wxaccounts").list(q),
    filters: [
      { name: "keyword", label: "Search", type: "search", placeholder: "Name, AppID, original ID…" },
      { name: "status", label: "Status", type: "select", options: [["1", "Enabled"], ["0", "Disabled"]] },
      { name: "message_mode", label: "Encryption", type: "select", options: MODES.map(([v, l]) => [String(v), l.split(" · ")[0]]) },
    ],
    columns: [
      { label: "Account", render: (a) => h("div", { class: "cell-stack" }, h("span", { class: "cell-main" }, a.account_name), h("span", { class: "cell-sub mono" }, a.app_id)) },
      { label: "Type", render: (a) => (TYPES.find(([v]) => v === a.account_type) || [0, String(a.account_type)])[1].split(" · ")[0] },
      { label: "Encryption", render: (a) => badge(...(MODE_BADGE[a.message_mode] || [String(a.message_mode)])) },
      { label: "Pay", render: (a) => (a.mch_id ? badge(`商户 ${a.mch_id}`, "green") : h("span", { class: "muted" }, "Not set")) },
      { label: "Status", render: (a) => statusBadge(a.status === 1) },
      { label: "Added", class: "nowrap", render: (a) => timeEl(a.created_at) },
    ],
    rowActions: ctx.isAdmin
      ? (a) => [
        button("Copy callback URL", { icon: "link", iconOnly: true, kind: "btn-ghost btn-sm", onClick: async () => {
          const ok = await copyText(callbackUrl(a.app_id));
          toast(ok ? "Callback URL copied." : `Copy it by hand: ${callbackUrl(a.app_id)}`, ok ? "success" : "error");
        } }),
        editButton("account", () => openForm(a)),
        deleteButton({ name: "wxaccounts", noun: "account", describe: (r) => `The account “${r.account_name}” (${r.app_id})`, row: a, onDone: afterChange }),
      ]
      : null,
    empty: {
      icon: "accounts",
      title: "No official accounts yet",
      hint: ctx.isAdmin ? "Add one with its AppID, AppSecret and callback token." : "No account is assigned to you. Ask an admin.",
      action: ctx.isAdmin ? button("Add account", { icon: "plus", kind: "btn-primary", onClick: () => openForm(null) }) : null,
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
