// Custom menu editor, shaped like the menu bar of a phone: up to 3 buttons,
// each with up to 5 sub-buttons, reordered by dragging them or with the move
// buttons. A click button may carry its reply (发送消息), kept by the server
// as the exact keyword rule of its key. Edits stay local until Save, which
// sends the whole tree (/wechat/wxmenus/save_tree): buttons and replies are
// written in one transaction, in the order shown.

import { t } from "../i18n/index.js";
import { h, icon, button, clear, byteLength, toast, confirmDialog } from "../dom.js";
import { api, ApiError } from "../api.js";
import { pageHeader, loadingState, errorState, emptyState } from "../states.js";
import { noAccounts, busy } from "./common.js";
import { guardUnsaved } from "../guard.js";
import { buildForm } from "../form.js";
import { replyFields } from "./morereplies.js";
import { livePanel } from "./menulive.js";

const MAX_TOP = 3;
const MAX_SUB = 5;
const NAME_LIMIT = { top: 16, sub: 60 };
const KEY_LIMIT = 128;

const TYPES = [
  ["click", ["menu_key"]],
  ["view", ["url"]],
  ["miniprogram", ["appid", "pagepath", "url"]],
  ["scancode_push", ["menu_key"]],
  ["scancode_waitmsg", ["menu_key"]],
  ["pic_sysphoto", ["menu_key"]],
  ["pic_photo_or_album", ["menu_key"]],
  ["pic_weixin", ["menu_key"]],
  ["location_select", ["menu_key"]],
  ["media_id", ["media_id"]],
  ["article_id", ["article_id"]],
  ["article_view_limited", ["article_id"]],
].map(([type, fields]) => [type, t(`menus.type.${type}`), fields]);
const ACTION_FIELDS = ["menu_key", "url", "media_id", "article_id", "appid", "pagepath"];
const FIELD_LABEL = Object.fromEntries(ACTION_FIELDS.map((f) => [f, t(`menus.field.${f}`)]));
const FIELD_HINT = Object.fromEntries(ACTION_FIELDS.map((f) => [f, t(`menus.hint.${f}`)]));
const REPLY_FIELDS = ["message_type", "content", "media_id", "title", "description", "pic_url", "url", "music_url", "hq_music_url", "thumb_media_id"];
/** A field error's path in the saved tree: buttons[i](.sub_button[j])(.field). */
const ERROR_PATH = /^buttons\[(\d+)\](?:\.sub_button\[(\d+)\])?(?:\.(.+))?$/;

/** The reply fields of `values`, the others empty (what the server stores). */
function replyOf(values) {
  return Object.fromEntries(REPLY_FIELDS.map((f) => [f, values[f] === undefined || values[f] === null ? "" : String(values[f])]));
}

let localSeq = 0;
function node(row, level) {
  const n = { local: `n${++localSeq}`, id: row ? row.id : null, level, subs: [] };
  n.menu_name = row ? row.menu_name : level === "top" ? t("menus.new_top") : t("menus.new_sub");
  n.menu_type = row ? row.menu_type : level === "top" ? "click" : "view";
  for (const f of ACTION_FIELDS) n[f] = row ? row[f] || "" : "";
  n.reply = row && row.reply ? replyOf(row.reply) : null;
  return n;
}

function typeInfo(type) {
  return TYPES.find(([value]) => value === type);
}

/** A click button, which may carry a reply. */
function answersClick(n) {
  return !(n.level === "top" && n.subs.length > 0) && n.menu_type === "click";
}

/** What the API stores for a node (without its sub-buttons); fields of
 * other types are cleared. A click button says its reply (null: none). */
function payload(n) {
  const hasSubs = n.level === "top" && n.subs.length > 0;
  const type = hasSubs ? "" : n.menu_type;
  const keep = type ? typeInfo(type)?.[2] || [] : [];
  const body = { menu_name: n.menu_name.trim(), menu_type: type };
  if (n.id) body.id = n.id;
  for (const f of ACTION_FIELDS) body[f] = keep.includes(f) ? n[f].trim() : "";
  if (answersClick(n)) body.reply = n.reply ? replyOf(n.reply) : null;
  return body;
}

/** Problems WeChat would reject, per field. */
function check(n) {
  const errors = {};
  const limit = NAME_LIMIT[n.level];
  if (!n.menu_name.trim()) errors.menu_name = t("reason.required");
  else if (byteLength(n.menu_name.trim()) > limit) errors.menu_name = t("menus.max_bytes", { max: limit });
  const hasSubs = n.level === "top" && n.subs.length > 0;
  if (hasSubs) return errors;
  const info = typeInfo(n.menu_type);
  if (!info) {
    errors.menu_type = n.level === "top" ? t("menus.type_required_top") : t("reason.required");
    return errors;
  }
  // A click button with a reply gets a key made up by the server.
  for (const f of info[2]) if (!n[f].trim() && !(f === "menu_key" && answersClick(n) && n.reply)) errors[f] = t("reason.required");
  if (byteLength(n.menu_key) > KEY_LIMIT) errors.menu_key = t("menus.max_bytes", { max: KEY_LIMIT });
  for (const f of ["url"]) if (n[f].trim() && !/^https?:\/\//.test(n[f].trim())) errors[f] = t("reason.url");
  return errors;
}

export async function render(ctx) {
  ctx.main.append(pageHeader(t("nav.menus"), t("menus.subtitle")));
  const missing = noAccounts(ctx, t("menus.what"));
  if (missing) return ctx.main.append(missing);
  // One account needs no choosing.
  const accountId = ctx.account || (ctx.accounts.length === 1 ? ctx.accounts[0].id : "");
  if (!accountId) {
    ctx.main.append(h("div", { class: "panel" }, emptyState({
      icon: "menu",
      title: t("menus.choose_account"),
      hint: t("menus.choose_account_hint"),
      action: h("div", { class: "account-choice" }, ctx.accounts.map((a) => button(`${a.account_name || a.app_id}`, { kind: "btn-secondary", icon: "accounts", onClick: () => ctx.selectAccount(a.id), attrs: { "data-account": a.id } }))),
    })));
    return;
  }
  const account = ctx.accountById(accountId);
  const state = { tops: [], original: new Map(), deleted: new Set(), selected: null, errors: new Map(), saving: false };
  const host = h("div", null, loadingState(t("menus.loading")));
  ctx.main.append(host);

  const allNodes = () => state.tops.flatMap((top) => [top, ...top.subs]);
  const findNode = (local) => allNodes().find((n) => n.local === local);
  const parentOf = (n) => state.tops.find((top) => top.subs.includes(n));
  // A node where it is: its fields, reply, parent and position.
  const snapshot = (n) => {
    const parent = parentOf(n);
    const index = parent ? parent.subs.indexOf(n) : state.tops.indexOf(n);
    return JSON.stringify([payload(n), parent ? parent.id : "0", index]);
  };
  const dirty = () => state.deleted.size > 0 || allNodes().some((n) => !n.id || state.original.get(n.id) !== snapshot(n));

  // Sidebar, account switch, back/forward and reload ask before dropping edits.
  const unguard = guardUnsaved(dirty);

  async function load() {
    clear(host).append(loadingState(t("menus.loading")));
    try {
      const data = await api.get("/wechat/wxmenus/tree", { account_id: accountId });
      show(data);
    } catch (error) {
      if (!(error instanceof ApiError)) console.error(error);
      if (error instanceof ApiError && error.status === 401) return;
      clear(host).append(h("div", { class: "panel" }, errorState(error.message, load)));
    }
  }

  /** Shows the tree the server sent (on load and after a save). */
  function show(data) {
    const selected = findNode(state.selected);
    const selectedAt = selected ? [parentOf(selected) ? state.tops.indexOf(parentOf(selected)) : state.tops.indexOf(selected), parentOf(selected) ? parentOf(selected).subs.indexOf(selected) : -1] : null;
    {
      const tops = data.buttons.map((r) => {
        const top = node(r, "top");
        top.subs = (r.sub_button || []).map((sub) => node(sub, "sub"));
        return top;
      });
      state.tops = tops;
      state.deleted.clear();
      state.errors.clear();
      state.original.clear();
      for (const n of allNodes()) state.original.set(n.id, snapshot(n));
      // After a save the same place stays selected.
      const again = selectedAt && tops[selectedAt[0]] && (selectedAt[1] < 0 ? tops[selectedAt[0]] : tops[selectedAt[0]].subs[selectedAt[1]]);
      state.selected = again ? again.local : tops[0] ? tops[0].local : null;
      draw();
      checkKeys();
    }
  }

  // Saved click buttons whose key nothing answers: a dry run of the whole
  // chain (rules and plugins) per key, as a real click would go.
  const keysWarning = h("div", { dataset: { role: "unanswered-keys" } });
  async function checkKeys() {
    const keys = [...new Set(allNodes()
      .filter((n) => n.id && n.menu_type === "click" && n.menu_key.trim() && !(n.level === "top" && n.subs.length))
      .map((n) => n.menu_key.trim()))];
    const answers = await Promise.all(keys.map((key) => api.post("/wechat/plugins/test", { account_id: accountId, event: "CLICK", event_key: key })
      .then((r) => (r.outcome === "continue" ? key : null), () => null)));
    const unanswered = answers.filter(Boolean);
    keysWarning.replaceChildren(...(unanswered.length
      ? [h("div", { class: "alert alert-warn", role: "note" }, icon("alert"),
        h("span", null, t("menus.unanswered_keys", { keys: unanswered.join(t("form.sep")) }), " ",
          h("a", { href: "/wechat/wxautoreplies" }, t("menus.add_keyword_rule"))))]
      : []));
  }

  function select(local, focusName = false) {
    state.selected = local;
    draw();
    if (focusName) host.querySelector("#menu-name")?.focus();
  }

  function addTop() {
    const n = node(null, "top");
    state.tops.push(n);
    select(n.local, true);
  }

  function addSub(top) {
    const n = node(null, "sub");
    top.subs.push(n);
    select(n.local, true);
  }

  /** Puts `n` before (or after) `target`, a sibling. */
  function moveTo(n, target, after) {
    const list = parentOf(n) ? parentOf(n).subs : state.tops;
    list.splice(list.indexOf(n), 1);
    list.splice(list.indexOf(target) + (after ? 1 : 0), 0, n);
    state.selected = n.local;
    draw();
    host.querySelector(`[data-node="${n.local}"]`)?.focus();
  }

  // HTML5 drag and drop on the phone: top buttons left and right among
  // themselves, sub-buttons up and down within their group. The move
  // buttons of the selected button do the same from the keyboard.
  let dragging = null;
  const canDrop = (target) => dragging && dragging !== target && dragging.level === target.level
    && (target.level === "top" || parentOf(dragging) === parentOf(target));
  const dropsAfter = (event, el, n) => {
    const box = el.getBoundingClientRect();
    return n.level === "top" ? event.clientX > box.left + box.width / 2 : event.clientY > box.top + box.height / 2;
  };
  const unmark = () => host.querySelectorAll(".drop-before, .drop-after").forEach((el) => el.classList.remove("drop-before", "drop-after"));
  function dragHandlers(n) {
    return {
      draggable: "true",
      ondragstart: (event) => {
        dragging = n;
        event.dataTransfer.effectAllowed = "move";
        event.dataTransfer.setData("text/plain", n.menu_name);
        event.currentTarget.classList.add("dragging");
      },
      ondragend: (event) => {
        dragging = null;
        event.currentTarget.classList.remove("dragging");
        unmark();
      },
      ondragover: (event) => {
        if (!canDrop(n)) return;
        event.preventDefault();
        event.dataTransfer.dropEffect = "move";
        const after = dropsAfter(event, event.currentTarget, n);
        unmark();
        event.currentTarget.classList.add(after ? "drop-after" : "drop-before");
      },
      ondragleave: (event) => event.currentTarget.classList.remove("drop-before", "drop-after"),
      ondrop: (event) => {
        if (!canDrop(n)) return;
        event.preventDefault();
        const moving = dragging;
        dragging = null;
        moveTo(moving, n, dropsAfter(event, event.currentTarget, n));
      },
    };
  }

  function move(n, delta) {
    const parent = parentOf(n);
    const list = parent ? parent.subs : state.tops;
    const i = list.indexOf(n);
    const j = i + delta;
    if (j < 0 || j >= list.length) return;
    [list[i], list[j]] = [list[j], list[i]];
    draw();
    host.querySelector(`[data-move="${delta < 0 ? "back" : "forward"}"]:not([disabled])`)?.focus();
  }

  async function remove(n) {
    const parent = parentOf(n);
    const what = n.level === "top" && n.subs.length ? t("menus.with_subs", { name: n.menu_name, n: n.subs.length }) : t("rules.quoted", { keyword: n.menu_name });
    const ok = await confirmDialog({ title: t("menus.delete_title"), message: t("menus.delete_message", { what }), confirmText: t("common.delete") });
    if (!ok) return;
    const list = parent ? parent.subs : state.tops;
    const i = list.indexOf(n);
    list.splice(i, 1);
    for (const gone of [n, ...(n.subs || [])]) if (gone.id) state.deleted.add(gone.id);
    state.errors.delete(n.local);
    state.selected = parent ? (parent.subs[Math.max(0, i - 1)] || parent).local : state.tops[Math.max(0, i - 1)]?.local || null;
    draw();
  }

  async function save() {
    state.errors.clear();
    for (const n of allNodes()) {
      const errors = check(n);
      if (Object.keys(errors).length) state.errors.set(n.local, errors);
    }
    if (state.errors.size) {
      state.selected = [...state.errors.keys()][0];
      draw();
      toast(t("menus.fix_marked"), "error");
      return false;
    }
    state.saving = true;
    draw();
    const buttons = state.tops.map((top) => ({ ...payload(top), sub_button: top.subs.map((sub) => payload(sub)) }));
    try {
      const data = await api.post("/wechat/wxmenus/save_tree", { account_id: accountId, buttons });
      toast(t("menus.saved"));
      show(data);
      live.refresh();
      return true;
    } catch (error) {
      if (!(error instanceof ApiError)) console.error(error);
      if (error instanceof ApiError && error.status === 401) return false;
      // Each field error goes to the button its path names.
      let first = null;
      for (const [path, reason] of Object.entries(error.fields || {})) {
        const at = ERROR_PATH.exec(path);
        const top = at && state.tops[Number(at[1])];
        const n = top && (at[2] === undefined ? top : top.subs[Number(at[2])]);
        if (!n) continue;
        const errors = state.errors.get(n.local) || {};
        errors[at[3] || "_"] = reason;
        state.errors.set(n.local, errors);
        first ||= n;
      }
      if (first) state.selected = first.local;
      toast(error.message, "error");
      return false;
    } finally {
      state.saving = false;
      if (host.isConnected) draw();
    }
  }

  // ---- WeChat -----------------------------------------------------------------

  const accountName = account ? account.account_name || account.app_id : t("menus.this_account");

  async function publish(el) {
    if (dirty()) {
      const ok = await confirmDialog({
        title: t("menus.save_publish_title"),
        message: t("menus.save_publish_message"),
        confirmText: t("menus.save_publish"),
        danger: false,
      });
      if (!ok || !(await save())) return;
      el = host.querySelector("[data-action=publish-menu]");
    } else if (!state.tops.length) {
      const ok = await confirmDialog({
        title: t("menus.empty_publish_title"),
        message: t("menus.empty_publish_message"),
        confirmText: t("menus.try_anyway"),
        danger: false,
      });
      if (!ok) return;
    }
    const done = await busy(el, () => api.post("/wechat/wxmenus/pull_menu", { account_id: accountId }), t("menus.publish_failed"));
    if (done) {
      toast(t(done.published === 1 ? "menus.published_one" : "menus.published", { n: done.published }));
      showRemote();
    }
  }

  async function syncFromWeChat(el) {
    const ok = await confirmDialog({
      title: t("menus.replace_title"),
      message: t("menus.replace_message", { account: accountName }) + (dirty() ? ` ${t("menus.changes_lost")}` : ""),
      confirmText: t("menus.replace"),
    });
    if (!ok) return;
    const done = await busy(el, () => api.post("/wechat/wxmenus/sync_menu", { account_id: accountId }), t("menus.sync_failed"));
    if (done) {
      toast(done.stored ? t(done.stored === 1 ? "menus.loaded_one" : "menus.loaded", { n: done.stored }) : t("menus.none_on_wechat"));
      await load();
      showRemote();
    }
  }

  async function deleteOnWeChat(el) {
    const ok = await confirmDialog({
      title: t("menus.delete_remote_title"),
      message: t("menus.delete_remote_message", { account: accountName }),
      confirmText: t("mat.delete_remote"),
    });
    if (!ok) return;
    const done = await busy(el, () => api.post("/wechat/wxmenus/delete_remote_menu", { account_id: accountId }), t("menus.delete_remote_failed"));
    if (done) {
      toast(t("menus.deleted_remote"));
      showRemote();
    }
  }

  // What is live on WeChat, kept across redraws and reloads of the page.
  const live = livePanel({ accountId, dirty });
  function showRemote() {
    live.refresh();
  }

  async function discard() {
    if (dirty() && !(await confirmDialog({ title: t("menus.discard_title"), message: t("menus.discard_message"), confirmText: t("menus.discard") }))) return;
    load();
  }

  // ---- drawing --------------------------------------------------------------

  function phoneButton(n, extraClass) {
    const selected = state.selected === n.local;
    return h("button", {
      type: "button",
      class: ["phone-btn", extraClass, selected && "selected", state.errors.has(n.local) && "has-error"],
      "aria-pressed": selected ? "true" : "false",
      dataset: { node: n.local, level: n.level },
      title: n.menu_name,
      onclick: () => select(n.local),
      ...dragHandlers(n),
    }, n.level === "top" && n.subs.length ? icon("burger", "sub-mark") : null, h("span", null, n.menu_name || t("menus.no_name")));
  }

  function phone() {
    const bar = h("div", { class: "phone-bar", role: "group", "aria-label": t("menus.menu_bar") },
      h("span", { class: "phone-kbd", "aria-hidden": "true" }, icon("keyboard")));
    for (const top of state.tops) {
      const open = state.selected === top.local || top.subs.some((s) => s.local === state.selected);
      const col = h("div", { class: "phone-col" }, phoneButton(top));
      if (open) {
        const pop = h("div", { class: "phone-subs", role: "group", "aria-label": t("menus.subs_of", { name: top.menu_name }) },
          top.subs.map((s) => phoneButton(s)));
        if (top.subs.length < MAX_SUB) {
          pop.append(h("button", { type: "button", class: "phone-btn phone-add", "data-role": "add-sub", "aria-label": t("menus.add_sub_to", { name: top.menu_name }), title: t("menus.add_sub"), onclick: () => addSub(top) }, icon("plus")));
        }
        col.append(pop);
      }
      bar.append(col);
    }
    if (state.tops.length < MAX_TOP) {
      bar.append(h("div", { class: "phone-col" },
        h("button", { type: "button", class: "phone-btn phone-add", "data-role": "add-top", title: t("menus.add_button"), "aria-label": t("menus.add_button"), onclick: addTop }, icon("plus"), state.tops.length ? null : h("span", null, t("menus.add_menu")))));
    }
    return h("div", null,
      h("div", { class: "phone", "aria-label": t("menus.phone_preview") },
        h("div", { class: "phone-screen" },
          h("div", { class: "phone-head" }, account ? account.account_name || account.app_id : ""),
          h("div", { class: "phone-chat" }, h("div", { class: "msg in" }, h("div", { class: "bubble" }, t("menus.phone_bubble")))),
          bar)),
      h("p", { class: "phone-hint" }, t("menus.phone_hint", { top: MAX_TOP, sub: MAX_SUB }), " ", t("menus.drag_hint")));
  }

  function textField(n, name, { limit, label, hint, mono } = {}) {
    const id = `menu-${name.replace("menu_", "").replace("_", "-")}`;
    const errors = state.errors.get(n.local) || {};
    const input = h("input", { id, value: n[name], class: mono && "mono", autocomplete: "off", spellcheck: "false", "aria-invalid": errors[name] ? "true" : null, "aria-describedby": `${id}-hint ${id}-error` });
    const counter = limit ? h("span", { class: "counter", "aria-live": "polite" }) : null;
    const sync = () => {
      if (!counter) return;
      const used = byteLength(input.value);
      counter.textContent = t("form.bytes_counter", { used, limit });
      counter.classList.toggle("over", used > limit);
    };
    input.addEventListener("input", () => {
      n[name] = input.value;
      sync();
      // The error this field had no longer holds once it is edited.
      if (errors[name]) {
        delete errors[name];
        if (!Object.keys(errors).length) {
          state.errors.delete(n.local);
          host.querySelector(`[data-node="${n.local}"]`)?.classList.remove("has-error");
        }
        input.removeAttribute("aria-invalid");
        input.closest(".field").classList.remove("has-error");
        const message = host.querySelector(`#${id}-error`);
        if (message) { message.hidden = true; message.textContent = ""; }
      }
      if (name === "menu_name") {
        const btn = host.querySelector(`[data-node="${n.local}"] span`);
        if (btn) btn.textContent = input.value || t("menus.no_name");
      }
      updateStatus();
    });
    sync();
    return h("div", { class: ["field", "field-full", errors[name] && "has-error"] },
      h("label", { class: "label", for: id }, label || FIELD_LABEL[name]),
      input, counter,
      hint ? h("p", { class: "hint", id: `${id}-hint` }, hint) : null,
      h("p", { class: "field-error", id: `${id}-error`, hidden: !errors[name] }, errors[name] ? t("form.field_error", { label: label || FIELD_LABEL[name], reason: errors[name] }) : ""));
  }

  function editor() {
    const n = findNode(state.selected);
    if (!n) {
      return h("div", { class: "panel" }, emptyState({
        icon: "menu",
        title: state.tops.length ? t("menus.select_button") : t("menus.no_menu"),
        hint: state.tops.length ? t("menus.select_button_hint") : t("menus.no_menu_hint"),
        action: state.tops.length ? null : button(t("menus.add_button"), { icon: "plus", kind: "btn-primary", onClick: addTop }),
      }));
    }
    const parent = parentOf(n);
    const list = parent ? parent.subs : state.tops;
    const i = list.indexOf(n);
    const errors = state.errors.get(n.local) || {};
    const loose = Object.entries(errors).filter(([k]) => !["menu_name", "menu_type", ...ACTION_FIELDS].includes(k) && !k.startsWith("reply."));
    const top = n.level === "top";
    const hasSubs = top && n.subs.length > 0;
    const body = h("div", { class: "form" });
    if (loose.length) body.append(h("div", { class: "alert alert-error menu-form-errors", role: "alert" }, icon("alert"), h("span", null, loose.map(([k, v]) => (k === "_" ? v : t("form.field_error", { label: k, reason: v }))).join(t("form.sep")))));
    body.append(textField(n, "menu_name", {
      label: t("accounts.name"),
      limit: NAME_LIMIT[n.level],
      hint: top ? t("menus.name_hint_top") : t("menus.name_hint_sub"),
    }));
    if (hasSubs) {
      body.append(h("p", { class: "notice" }, icon("alert"), h("span", null, t("menus.has_subs"))));
    } else {
      const typeId = "menu-type";
      const select = h("select", { id: typeId, "aria-invalid": errors.menu_type ? "true" : null },
        h("option", { value: "", disabled: true, selected: !n.menu_type }, t("menus.choose_type")),
        TYPES.map(([value, label]) => h("option", { value, selected: value === n.menu_type }, label)));
      select.addEventListener("change", () => {
        n.menu_type = select.value;
        if (errors.menu_type) {
          delete errors.menu_type;
          if (!Object.keys(errors).length) state.errors.delete(n.local);
        }
        draw();
        host.querySelector("#menu-type")?.focus();
      });
      body.append(h("div", { class: ["field", "field-full", errors.menu_type && "has-error"] },
        h("label", { class: "label", for: typeId }, t("accounts.type")), select,
        h("p", { class: "field-error", hidden: !errors.menu_type }, errors.menu_type ? t("form.field_error", { label: t("accounts.type"), reason: errors.menu_type }) : "")));
      for (const f of typeInfo(n.menu_type)?.[2] || []) {
        body.append(textField(n, f, { limit: f === "menu_key" ? KEY_LIMIT : undefined, hint: FIELD_HINT[f], mono: f !== "url" }));
      }
      if (answersClick(n)) body.append(replySection(n, errors));
      if (top && !n.subs.length) body.append(h("p", { class: "hint" }, t("menus.make_group")));
    }
    const back = top ? "left" : "up";
    const forward = top ? "right" : "down";
    return h("section", { class: "panel", "aria-labelledby": "menu-form-title" },
      h("div", { class: "panel-head menu-form-head" },
        h("h2", { id: "menu-form-title" }, top ? t("menus.menu_button") : t("menus.sub_of", { name: parent.menu_name })),
        button(top ? t("menus.move_left") : t("menus.move_up"), { icon: back, iconOnly: true, kind: "btn-ghost btn-sm", disabled: i === 0, attrs: { "data-move": "back" }, onClick: () => move(n, -1) }),
        button(top ? t("menus.move_right") : t("menus.move_down"), { icon: forward, iconOnly: true, kind: "btn-ghost btn-sm", disabled: i === list.length - 1, attrs: { "data-move": "forward" }, onClick: () => move(n, 1) }),
        button(t("menus.delete_button"), { icon: "trash", iconOnly: true, kind: "btn-danger-ghost btn-sm", attrs: { "data-action": "delete-button" }, onClick: () => remove(n) })),
      h("div", { class: "panel-body" }, body));
  }

  /** The reply a click button sends (发送消息): the rule form's reply fields. */
  function replySection(n, errors) {
    const id = "menu-reply-on";
    const toggle = h("input", { type: "checkbox", role: "switch", id, checked: Boolean(n.reply), dataset: { role: "menu-reply-on" } });
    toggle.addEventListener("change", () => {
      if (toggle.checked) n.reply = n.lastReply || replyOf({ message_type: "text" });
      else {
        n.lastReply = n.reply;
        n.reply = null;
      }
      draw();
      host.querySelector(`#${id}`)?.focus();
    });
    const section = h("fieldset", { class: "form-section menu-reply", dataset: { role: "menu-reply" } },
      h("legend", null, t("menus.reply_title")),
      h("label", { class: "switch", for: id }, toggle, h("span", { class: "switch-track", "aria-hidden": "true" }), h("span", null, t("menus.reply_on"))),
      h("p", { class: "hint" }, n.reply ? t("menus.reply_hint", { key: n.menu_key.trim() || t("menus.reply_key_made") }) : t("menus.reply_off_hint")));
    if (!n.reply) return section;
    const form = buildForm(replyFields(), { account_id: accountId, ...n.reply });
    form.el.addEventListener("submit", (event) => event.preventDefault());
    form.onChange(() => {
      n.reply = replyOf(form.values());
      updateStatus();
    });
    section.append(form.el);
    const replyErrors = Object.fromEntries(Object.entries(errors).filter(([k]) => k.startsWith("reply.")).map(([k, v]) => [k.slice(6), v]));
    if (Object.keys(replyErrors).length) queueMicrotask(() => form.setErrors(replyErrors));
    return section;
  }

  const status = h("span", { class: "menu-status", role: "status" });
  function updateStatus() {
    const changed = dirty();
    status.classList.toggle("dirty", changed);
    status.replaceChildren(changed ? icon("alert") : icon("check"), changed ? t("menus.unsaved") : t("menus.saved_status"));
  }

  function draw() {
    const toolbar = h("div", { class: "menu-toolbar" }, status,
      button(t("menus.discard_changes"), { kind: "btn-secondary", icon: "refresh", onClick: discard, disabled: state.saving }),
      button(t("common.save"), { kind: ["btn-secondary", state.saving && "busy"].filter(Boolean).join(" "), icon: "check", onClick: save, disabled: state.saving, attrs: { "data-role": "save-menu" } }),
      button(t("menus.publish"), { kind: "btn-primary", icon: "send", disabled: state.saving, attrs: { "data-action": "publish-menu" }, onClick: (e) => publish(e.currentTarget) }));
    const remote = h("section", { class: "panel menu-remote", "aria-labelledby": "menu-remote-title" },
      h("div", { class: "panel-head" },
        h("h2", { id: "menu-remote-title" }, t("mat.sync.1")),
        h("div", { class: "row-actions" },
          button(t("tpl.sync"), { kind: "btn-secondary btn-sm", icon: "download", attrs: { "data-action": "sync-menu" }, onClick: (e) => syncFromWeChat(e.currentTarget) }),
          button(t("mat.delete_remote"), { kind: "btn-danger-ghost btn-sm", icon: "trash", attrs: { "data-action": "delete-remote-menu" }, onClick: (e) => deleteOnWeChat(e.currentTarget) }))),
      h("div", { class: "panel-body" },
        live.el,
        h("p", { class: "hint" }, t("menus.remote_hint"))));
    clear(host).append(h("div", { class: "menu-editor" },
      phone(),
      h("div", { class: "menu-side" }, toolbar, keysWarning, editor(), remote)));
    updateStatus();
  }

  await load();
  await live.refresh();
  return unguard;
}
