// Auto replies: follow / keyword / default rules and the reply each sends.

import { h, icon, badge, button, toast, truncate, clear } from "../dom.js";
import { api, resource, ApiError } from "../api.js";
import { pageHeader, tabs } from "../states.js";
import { listView } from "../list.js";
import { formDialog, buildForm } from "../form.js";
import { scope, noAccounts, accountField, defaultAccount, accountColumn, deleteButton, editButton, mediaPicker } from "./common.js";
import { resultView, materialLookup } from "./dryrun.js";
import { answeredBy } from "./messages.js";

const RULE_TYPES = [[1, "Follow"], [2, "Keyword"], [3, "Default"]];
const RULE_HELP = {
  1: "Sent when someone follows the account.",
  2: "Sent when a message matches the keyword.",
  3: "Sent when no keyword rule matches.",
};
const MATCH_TYPES = [[1, "Exact match"], [2, "Contains"]];
const REPLY_TYPES = [["text", "Text"], ["image", "Image"], ["voice", "Voice"], ["video", "Video"], ["news", "News"], ["music", "Music"]];
const REPLY_ICON = { text: "text", image: "materials", voice: "voice", video: "video", news: "news", music: "music" };

const is = (...types) => (v) => types.includes(v.message_type);

/** The media of image, voice and video replies: picked from the account's
 * permanent materials of that type, or typed. */
const mediaField = mediaPicker({
  name: "media_id",
  label: "Media",
  manual: true,
  hint: "A permanent material of this account; its media_id is what the reply sends.",
  types: (v) => (["image", "voice", "video"].includes(v.message_type) ? [v.message_type] : []),
});
const thumbField = mediaPicker({
  name: "thumb_media_id",
  label: "Thumbnail",
  manual: true,
  hint: "A permanent thumbnail material of this account, shown next to the music.",
  types: (v) => (v.message_type === "music" ? ["thumb"] : []),
});

function fields(ctx, editing) {
  return [
    ...(editing ? [] : [accountField(ctx)]),
    { name: "reply_type", label: "When", type: "segmented", numeric: true, options: RULE_TYPES, hint: (v) => RULE_HELP[v.reply_type] },
    { name: "keyword", label: "Keyword", required: true, placeholder: "e.g. 你好", show: (v) => v.reply_type === 2, maxChars: 255 },
    { name: "match_type", label: "Match", type: "select", numeric: true, options: MATCH_TYPES, show: (v) => v.reply_type === 2 },
    { name: "priority", label: "Priority", type: "number", min: 0, hint: "Higher runs first when several rules match." },
    { name: "status", label: "Enabled", type: "switch" },
    { name: "message_type", label: "Reply with", type: "segmented", options: REPLY_TYPES },
    { name: "content", label: "Text", type: "textarea", rows: 5, required: true, show: is("text"), maxBytes: 2048, placeholder: "Hello! 欢迎关注 🎉" },
    { name: "media_id", label: "Media", type: "custom", full: true, show: is("image", "voice", "video"), render: mediaField },
    { name: "title", label: "Title", show: is("video", "news", "music"), full: true, hint: (v) => (v.message_type === "news" ? "Required for news." : "Optional.") },
    { name: "description", label: "Description", type: "textarea", rows: 3, show: is("video", "news", "music") },
    { name: "pic_url", label: "Picture URL", type: "url", show: is("news"), full: true, placeholder: "https://…" },
    { name: "url", label: "Article URL", type: "url", required: true, show: is("news"), full: true, placeholder: "https://…" },
    { name: "music_url", label: "Music URL", type: "url", required: true, show: is("music"), full: true },
    { name: "hq_music_url", label: "High-quality music URL", type: "url", show: is("music"), full: true },
    { name: "thumb_media_id", label: "Thumbnail", type: "custom", full: true, show: is("music"), render: thumbField },
  ];
}

function replyPreview(r) {
  const text = r.message_type === "text" ? r.content : r.title || r.media_id || r.music_url || "";
  return h("div", { class: "cell-stack" },
    h("span", { class: "bubble-kind" }, icon(REPLY_ICON[r.message_type] || "messages"), h("span", null, REPLY_TYPES.find(([v]) => v === r.message_type)?.[1] || r.message_type)),
    h("span", { class: "cell-sub clip", title: text }, truncate(text, 60)));
}

function ruleCell(r) {
  if (r.reply_type === 1) return h("div", { class: "cell-stack" }, h("span", { class: "cell-main" }, "On follow"), h("span", { class: "cell-sub" }, "关注回复"));
  if (r.reply_type === 3) return h("div", { class: "cell-stack" }, h("span", { class: "cell-main" }, "Default reply"), h("span", { class: "cell-sub" }, "When nothing else matches"));
  return h("div", { class: "cell-stack" },
    h("span", { class: "cell-main" }, `“${r.keyword}”`),
    h("span", null, badge(r.match_type === 1 ? "Exact" : "Contains", r.match_type === 1 ? "blue" : "")));
}

const TRY_KINDS = [["text", "Text"], ["subscribe", "Follow"], ["CLICK", "Menu click"]];
const TRY_OUTCOMES = {
  reply: ["Answered", "green"],
  continue: ["No reply", "amber"],
  no_reply: ["Answered with nothing", "blue"],
  error: ["Error", "red"],
};

/**
 * "Try it": plays a text, a follow or a menu click against the account's
 * rules and plugins (the dry run of /wechat/plugins/test), storing nothing.
 */
function tryBox(ctx) {
  const accountId = ctx.account || (ctx.accounts.length === 1 ? ctx.accounts[0].id : "");
  const head = h("div", { class: "panel-head" }, h("h2", { id: "try-title" }, "Try it"));
  const panel = h("section", { class: "panel try-box", "aria-labelledby": "try-title", dataset: { role: "try-it" } }, head);
  if (!accountId) {
    const id = "try-account";
    const select = h("select", { id, onchange: (e) => { if (e.target.value) ctx.selectAccount(e.target.value); } },
      h("option", { value: "" }, "Pick an account…"),
      ctx.accounts.map((a) => h("option", { value: a.id }, a.account_name || a.app_id)));
    panel.append(h("div", { class: "panel-body try-pick" },
      h("p", { class: "hint" }, "Rules belong to one account: pick the one to try a message against."),
      h("label", { for: id, class: "visually-hidden" }, "Account to try"), select));
    return panel;
  }
  const account = ctx.accountById(accountId);
  const result = h("div", { class: "dry-output", "aria-live": "polite", dataset: { role: "try-result" } });
  const form = buildForm([
    { name: "kind", label: "The fan", type: "segmented", options: TRY_KINDS },
    { name: "text", label: "Sends", placeholder: "e.g. 你好", show: (v) => v.kind === "text" },
    { name: "event_key", label: "Menu key", mono: true, placeholder: "e.g. MENU_KEY", show: (v) => v.kind === "CLICK" },
  ], { kind: "text" });
  form.el.id = "try-form";
  form.el.classList.add("try-form");
  const run = button("Try", { icon: "play", kind: "btn-primary", type: "submit", attrs: { form: "try-form", "data-action": "try" } });
  form.el.querySelector(".form-grid").append(h("div", { class: "field try-run" }, run));
  form.el.addEventListener("submit", async (event) => {
    event.preventDefault();
    form.clearErrors();
    const v = form.values();
    const body = { account_id: accountId };
    if (v.kind === "text") {
      if (!(v.text || "").trim()) {
        form.setErrors({ text: "needs a sample text" });
        return;
      }
      body.text = v.text;
    } else {
      body.event = v.kind;
      if (v.kind === "CLICK") {
        if (!(v.event_key || "").trim()) {
          form.setErrors({ event_key: "is needed: the key of the menu button" });
          return;
        }
        body.event_key = v.event_key.trim();
      }
    }
    run.disabled = true;
    run.classList.add("busy");
    try {
      const r = await api.post("/wechat/plugins/test", body);
      const view = resultView(r, { outcomes: TRY_OUTCOMES, handler: answeredBy, lookup: materialLookup(accountId), quietLogs: true });
      if (r.outcome === "continue") {
        view.append(h("p", { class: "hint", dataset: { role: "try-none" } }, "Nothing would answer: no rule or plugin takes this, and there is no default reply."));
      }
      clear(result).append(view);
    } catch (error) {
      if (!(error instanceof ApiError)) console.error(error);
      else if (error.status !== 401) {
        if (error.fields) form.setErrors(error.fields, error.message);
        else form.showError(error.message);
      }
    } finally {
      run.disabled = false;
      run.classList.remove("busy");
    }
  });
  head.append(h("span", { class: "muted try-account" }, account ? account.account_name || account.app_id : ""));
  panel.append(h("div", { class: "panel-body" },
    h("p", { class: "hint try-intro" }, "What would answer a fan: the rules below and the plugins, as a real message would go. Nothing is sent or stored."),
    form.el, result));
  return panel;
}

export async function render(ctx) {
  const tab = ctx.params.get("reply_type") || "";
  let list;
  const openForm = async (row) => {
    const editing = Boolean(row);
    const values = editing
      ? { ...row }
      : { account_id: defaultAccount(ctx), reply_type: Number(tab) || 2, match_type: 1, message_type: "text", status: 1, priority: 0 };
    const saved = await formDialog({
      title: editing ? "Edit reply rule" : "New reply rule",
      wide: true,
      fields: fields(ctx, editing),
      values,
      submitLabel: editing ? "Save rule" : "Add rule",
      submit: (v) => {
        const body = { ...v, priority: Number(v.priority) || 0 };
        if (body.reply_type !== 2) body.keyword = "";
        return editing ? resource("wxautoreplies").edit({ id: row.id, ...body }) : resource("wxautoreplies").add(body);
      },
    });
    if (saved) {
      toast(editing ? "Rule saved." : "Rule added.");
      list.reload();
    }
  };

  ctx.main.append(pageHeader("Auto replies", "Answers sent without anyone at the keyboard: on follow, on keywords, or by default.",
    [button("New rule", { icon: "plus", kind: "btn-primary", onClick: () => openForm(null), disabled: !ctx.accounts.length, attrs: { "data-action": "add" } })]));
  const missing = noAccounts(ctx, "Reply rules");
  if (missing) return ctx.main.append(missing);

  ctx.main.append(tryBox(ctx));
  ctx.main.append(tabs([["", "All rules"], ["2", "Keyword"], ["1", "Follow"], ["3", "Default"]], tab, (value) => {
    const url = new URL(location.href);
    url.search = value ? `?reply_type=${value}` : "";
    ctx.navigate(url.pathname + url.search);
  }, "Rule kinds"));

  const toggle = (r) => {
    const input = h("input", { type: "checkbox", role: "switch", checked: r.status === 1, "aria-label": `Enable rule ${r.keyword || RULE_TYPES.find(([v]) => v === r.reply_type)?.[1] || ""}` });
    input.addEventListener("change", async () => {
      input.disabled = true;
      try {
        await resource("wxautoreplies").edit({ id: r.id, status: input.checked ? 1 : 0 });
        r.status = input.checked ? 1 : 0;
        toast(input.checked ? "Rule enabled." : "Rule disabled.");
      } catch (error) {
        input.checked = !input.checked;
        if (!(error instanceof ApiError)) console.error(error);
        else if (error.status !== 401) toast(error.message, "error");
      } finally {
        input.disabled = false;
      }
    });
    return h("label", { class: "switch" }, input, h("span", { class: "switch-track", "aria-hidden": "true" }));
  };

  list = listView({
    caption: "Reply rules",
    load: (q) => resource("wxautoreplies").list(q),
    baseQuery: () => ({ ...scope(ctx), ...(tab ? { reply_type: tab } : {}) }),
    filters: [
      { name: "keyword", label: "Search", type: "search", placeholder: "Keyword, reply text, title…" },
      { name: "message_type", label: "Reply type", type: "select", options: REPLY_TYPES },
      { name: "status", label: "Status", type: "select", options: [["1", "Enabled"], ["0", "Disabled"]] },
    ],
    columns: [
      { label: "Rule", render: ruleCell },
      ...accountColumn(ctx),
      { label: "Reply", render: replyPreview },
      { label: "Priority", class: "num", render: (r) => String(r.priority) },
      { label: "Enabled", render: toggle },
    ],
    rowActions: (r) => [
      editButton("rule", () => openForm(r)),
      deleteButton({ name: "wxautoreplies", noun: "rule", describe: (x) => (x.reply_type === 2 ? `The keyword rule “${x.keyword}”` : "This rule"), row: r, onDone: () => list.reload() }),
    ],
    empty: { icon: "reply", title: "No reply rules yet", hint: "Add a follow reply to greet new fans, and keyword rules for common questions.", action: button("New rule", { icon: "plus", kind: "btn-primary", onClick: () => openForm(null) }) },
  });
  ctx.main.append(list.root);
}
