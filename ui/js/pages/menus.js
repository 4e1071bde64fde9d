// Custom menu editor, shaped like the menu bar of a phone: up to 3 buttons,
// each with up to 5 sub-buttons. Edits stay local until Save, which writes
// the difference through the REST API (deletes, then top-level buttons, then
// sub-buttons, so new sub-buttons know their parent's id).

import { h, icon, button, clear, byteLength, toast, confirmDialog } from "../dom.js";
import { api, resource, ApiError } from "../api.js";
import { pageHeader, loadingState, errorState, emptyState } from "../states.js";
import { noAccounts, busy } from "./common.js";

const MAX_TOP = 3;
const MAX_SUB = 5;
const NAME_LIMIT = { top: 16, sub: 60 };
const KEY_LIMIT = 128;

const TYPES = [
  ["click", "Send a click event (click)", ["menu_key"]],
  ["view", "Open a web page (view)", ["url"]],
  ["miniprogram", "Open a mini program (miniprogram)", ["appid", "pagepath", "url"]],
  ["scancode_push", "Scan a QR code (scancode_push)", ["menu_key"]],
  ["scancode_waitmsg", "Scan, then wait for a reply (scancode_waitmsg)", ["menu_key"]],
  ["pic_sysphoto", "Take a photo (pic_sysphoto)", ["menu_key"]],
  ["pic_photo_or_album", "Photo or album (pic_photo_or_album)", ["menu_key"]],
  ["pic_weixin", "WeChat album (pic_weixin)", ["menu_key"]],
  ["location_select", "Send a location (location_select)", ["menu_key"]],
  ["media_id", "Send a material (media_id)", ["media_id"]],
  ["article_id", "Send a published article (article_id)", ["article_id"]],
  ["article_view_limited", "Open a published article (article_view_limited)", ["article_id"]],
];
const ACTION_FIELDS = ["menu_key", "url", "media_id", "article_id", "appid", "pagepath"];
const FIELD_LABEL = { menu_key: "Key", url: "URL", media_id: "Media ID", article_id: "Article ID", appid: "Mini program AppID", pagepath: "Mini program page path" };
const FIELD_HINT = {
  menu_key: "Sent to the server with the event; auto-reply rules and plugins match on it.",
  url: "An http(s) address.",
  media_id: "A permanent material's media_id (see Materials).",
  article_id: "The article_id of a published article.",
  appid: "The mini program must be linked to this account.",
  pagepath: "e.g. pages/index/index",
};

let localSeq = 0;
function node(row, level) {
  const n = { local: `n${++localSeq}`, id: row ? row.id : null, level, subs: [] };
  n.menu_name = row ? row.menu_name : level === "top" ? "菜单" : "子菜单";
  n.menu_type = row ? row.menu_type : level === "top" ? "click" : "view";
  for (const f of ACTION_FIELDS) n[f] = row ? row[f] || "" : "";
  return n;
}

function typeInfo(type) {
  return TYPES.find(([t]) => t === type);
}

/** What the API stores for a node; fields of other types are cleared. */
function payload(n, parentId, sort) {
  const hasSubs = n.level === "top" && n.subs.length > 0;
  const type = hasSubs ? "" : n.menu_type;
  const keep = type ? typeInfo(type)?.[2] || [] : [];
  const body = { menu_name: n.menu_name.trim(), menu_type: type, parent_id: parentId, sort_order: sort };
  for (const f of ACTION_FIELDS) body[f] = keep.includes(f) ? n[f].trim() : "";
  return body;
}

/** Problems WeChat would reject, per field. */
function check(n) {
  const errors = {};
  const limit = NAME_LIMIT[n.level];
  if (!n.menu_name.trim()) errors.menu_name = "is required";
  else if (byteLength(n.menu_name.trim()) > limit) errors.menu_name = `must be at most ${limit} bytes`;
  const hasSubs = n.level === "top" && n.subs.length > 0;
  if (hasSubs) return errors;
  const info = typeInfo(n.menu_type);
  if (!info) {
    errors.menu_type = n.level === "top" ? "is required for a button without sub-buttons" : "is required";
    return errors;
  }
  for (const f of info[2]) if (!n[f].trim()) errors[f] = "is required";
  if (byteLength(n.menu_key) > KEY_LIMIT) errors.menu_key = `must be at most ${KEY_LIMIT} bytes`;
  for (const f of ["url"]) if (n[f].trim() && !/^https?:\/\//.test(n[f].trim())) errors[f] = "must be an http:// or https:// URL";
  return errors;
}

export async function render(ctx) {
  ctx.main.append(pageHeader("Menus", "The custom menu (自定义菜单) at the bottom of the chat."));
  const missing = noAccounts(ctx, "Menus");
  if (missing) return ctx.main.append(missing);
  // One account needs no choosing.
  const accountId = ctx.account || (ctx.accounts.length === 1 ? ctx.accounts[0].id : "");
  if (!accountId) {
    ctx.main.append(h("div", { class: "panel" }, emptyState({
      icon: "menu",
      title: "Choose an account",
      hint: "Each official account has its own menu. Pick the one to edit:",
      action: h("div", { class: "account-choice" }, ctx.accounts.map((a) => button(`${a.account_name || a.app_id}`, { kind: "btn-secondary", icon: "accounts", onClick: () => ctx.selectAccount(a.id), attrs: { "data-account": a.id } }))),
    })));
    return;
  }
  const account = ctx.accountById(accountId);
  const state = { tops: [], original: new Map(), deleted: new Set(), selected: null, errors: new Map(), saving: false };
  const host = h("div", null, loadingState("Loading the menu…"));
  ctx.main.append(host);

  const allNodes = () => state.tops.flatMap((t) => [t, ...t.subs]);
  const findNode = (local) => allNodes().find((n) => n.local === local);
  const parentOf = (n) => state.tops.find((t) => t.subs.includes(n));
  const snapshot = (n) => {
    const parent = parentOf(n);
    const index = parent ? parent.subs.indexOf(n) : state.tops.indexOf(n);
    return JSON.stringify(payload(n, parent ? parent.id : "0", index));
  };
  const dirty = () => state.deleted.size > 0 || allNodes().some((n) => !n.id || state.original.get(n.id) !== snapshot(n));

  const beforeUnload = (event) => {
    if (dirty()) {
      event.preventDefault();
      event.returnValue = "";
    }
  };
  window.addEventListener("beforeunload", beforeUnload);

  async function load() {
    clear(host).append(loadingState("Loading the menu…"));
    try {
      const data = await resource("wxmenus").list({ account_id: accountId, page: 1, page_size: 100 });
      const tops = data.list.filter((r) => r.parent_id === "0").map((r) => node(r, "top"));
      for (const r of data.list.filter((x) => x.parent_id !== "0")) {
        const parent = tops.find((t) => t.id === r.parent_id);
        if (parent) parent.subs.push(node(r, "sub"));
      }
      state.tops = tops;
      state.deleted.clear();
      state.errors.clear();
      state.original.clear();
      for (const n of allNodes()) state.original.set(n.id, snapshot(n));
      state.selected = tops[0] ? tops[0].local : null;
      draw();
    } catch (error) {
      if (!(error instanceof ApiError)) console.error(error);
      if (error instanceof ApiError && error.status === 401) return;
      clear(host).append(h("div", { class: "panel" }, errorState(error.message, load)));
    }
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
    const what = n.level === "top" && n.subs.length ? `“${n.menu_name}” and its ${n.subs.length} sub-button(s)` : `“${n.menu_name}”`;
    const ok = await confirmDialog({ title: "Delete this button?", message: `${what} will be removed from the menu when you save.`, confirmText: "Delete" });
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
      toast("Fix the marked buttons before saving.", "error");
      return false;
    }
    state.saving = true;
    draw();
    const api = resource("wxmenus");
    let current = null;
    try {
      if (state.deleted.size) {
        await api.remove([...state.deleted]);
        for (const id of state.deleted) state.original.delete(id);
        state.deleted.clear();
      }
      const write = async (n, parentId, index) => {
        current = n;
        const body = payload(n, parentId, index);
        const text = JSON.stringify(body);
        if (!n.id) {
          const row = await api.add({ account_id: accountId, ...body });
          n.id = row.id;
        } else if (state.original.get(n.id) !== text) {
          await api.edit({ id: n.id, ...body });
        }
        state.original.set(n.id, text);
      };
      for (const [i, top] of state.tops.entries()) await write(top, "0", i);
      for (const top of state.tops) for (const [j, sub] of top.subs.entries()) await write(sub, top.id, j);
      toast("Menu saved.");
      await load();
      return true;
    } catch (error) {
      if (!(error instanceof ApiError)) console.error(error);
      if (error instanceof ApiError && error.status === 401) return false;
      if (current) {
        state.errors.set(current.local, error.fields || { _: error.message });
        state.selected = current.local;
      }
      toast(error.message, "error");
      return false;
    } finally {
      state.saving = false;
      if (host.isConnected) draw();
    }
  }

  // ---- WeChat -----------------------------------------------------------------

  const accountName = account ? account.account_name || account.app_id : "this account";

  async function publish(el) {
    if (dirty()) {
      const ok = await confirmDialog({
        title: "Save and publish?",
        message: "The menu has unsaved changes. They are saved first, then the saved menu is published to WeChat.",
        confirmText: "Save and publish",
        danger: false,
      });
      if (!ok || !(await save())) return;
      el = host.querySelector("[data-action=publish-menu]");
    } else if (!state.tops.length) {
      const ok = await confirmDialog({
        title: "Publish an empty menu?",
        message: "There are no buttons. WeChat refuses an empty menu; to take the menu away from fans use “Delete on WeChat”.",
        confirmText: "Try anyway",
        danger: false,
      });
      if (!ok) return;
    }
    const done = await busy(el, () => api.post("/wechat/wxmenus/pull_menu", { account_id: accountId }), "WeChat did not take the menu");
    if (done) {
      toast(`Published ${done.published} button${done.published === 1 ? "" : "s"} to WeChat. Fans see the new menu within a few minutes.`);
      showRemote("published");
    }
  }

  async function syncFromWeChat(el) {
    const ok = await confirmDialog({
      title: "Replace the menu with WeChat’s?",
      message: `The menu stored in wxmp for ${accountName} is replaced by the one fans see on WeChat now.${dirty() ? " Your unsaved changes are lost." : ""}`,
      confirmText: "Replace with WeChat’s",
    });
    if (!ok) return;
    const done = await busy(el, () => api.post("/wechat/wxmenus/sync_menu", { account_id: accountId }), "Could not load the menu from WeChat");
    if (done) {
      toast(done.stored ? `Loaded ${done.stored} button${done.stored === 1 ? "" : "s"} from WeChat.` : "WeChat has no menu for this account; the menu here is now empty.");
      await load();
      showRemote("synced");
    }
  }

  async function deleteOnWeChat(el) {
    const ok = await confirmDialog({
      title: "Delete the menu on WeChat?",
      message: `Fans of ${accountName} stop seeing a menu. The menu saved in wxmp stays, so you can publish it again.`,
      confirmText: "Delete on WeChat",
    });
    if (!ok) return;
    const done = await busy(el, () => api.post("/wechat/wxmenus/delete_remote_menu", { account_id: accountId }), "Could not delete the menu on WeChat");
    if (done) {
      toast("The menu is deleted on WeChat.");
      showRemote("deleted");
    }
  }

  let remoteNote = null;
  function showRemote(what) {
    const when = new Date().toLocaleTimeString();
    remoteNote = { what, when };
    if (host.isConnected) draw();
  }

  async function discard() {
    if (dirty() && !(await confirmDialog({ title: "Discard your changes?", message: "The menu goes back to what is saved on the server.", confirmText: "Discard" }))) return;
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
    }, n.level === "top" && n.subs.length ? icon("burger", "sub-mark") : null, h("span", null, n.menu_name || "(no name)"));
  }

  function phone() {
    const bar = h("div", { class: "phone-bar", role: "group", "aria-label": "Menu bar" },
      h("span", { class: "phone-kbd", "aria-hidden": "true" }, icon("keyboard")));
    for (const top of state.tops) {
      const open = state.selected === top.local || top.subs.some((s) => s.local === state.selected);
      const col = h("div", { class: "phone-col" }, phoneButton(top));
      if (open) {
        const pop = h("div", { class: "phone-subs", role: "group", "aria-label": `Sub-buttons of ${top.menu_name}` },
          top.subs.map((s) => phoneButton(s)));
        if (top.subs.length < MAX_SUB) {
          pop.append(h("button", { type: "button", class: "phone-btn phone-add", "data-role": "add-sub", "aria-label": `Add a sub-button to ${top.menu_name}`, title: "Add a sub-button", onclick: () => addSub(top) }, icon("plus")));
        }
        col.append(pop);
      }
      bar.append(col);
    }
    if (state.tops.length < MAX_TOP) {
      bar.append(h("div", { class: "phone-col" },
        h("button", { type: "button", class: "phone-btn phone-add", "data-role": "add-top", title: "Add a menu button", "aria-label": "Add a menu button", onclick: addTop }, icon("plus"), state.tops.length ? null : h("span", null, "Add menu"))));
    }
    return h("div", null,
      h("div", { class: "phone", "aria-label": "Phone preview" },
        h("div", { class: "phone-screen" },
          h("div", { class: "phone-head" }, account ? account.account_name || account.app_id : ""),
          h("div", { class: "phone-chat" }, h("div", { class: "msg in" }, h("div", { class: "bubble" }, "欢迎关注 👋 Tap a button below to edit it."))),
          bar)),
      h("p", { class: "phone-hint" }, `Up to ${MAX_TOP} buttons, each with up to ${MAX_SUB} sub-buttons.`));
  }

  function textField(n, name, { limit, label, hint, mono } = {}) {
    const id = `menu-${name.replace("menu_", "").replace("_", "-")}`;
    const errors = state.errors.get(n.local) || {};
    const input = h("input", { id, value: n[name], class: mono && "mono", autocomplete: "off", spellcheck: "false", "aria-invalid": errors[name] ? "true" : null, "aria-describedby": `${id}-hint ${id}-error` });
    const counter = limit ? h("span", { class: "counter", "aria-live": "polite" }) : null;
    const sync = () => {
      if (!counter) return;
      const used = byteLength(input.value);
      counter.textContent = `${used} / ${limit} bytes`;
      counter.classList.toggle("over", used > limit);
    };
    input.addEventListener("input", () => {
      n[name] = input.value;
      sync();
      if (name === "menu_name") {
        const btn = host.querySelector(`[data-node="${n.local}"] span`);
        if (btn) btn.textContent = input.value || "(no name)";
      }
      updateStatus();
    });
    sync();
    return h("div", { class: ["field", "field-full", errors[name] && "has-error"] },
      h("label", { class: "label", for: id }, label || FIELD_LABEL[name]),
      input, counter,
      hint ? h("p", { class: "hint", id: `${id}-hint` }, hint) : null,
      h("p", { class: "field-error", id: `${id}-error`, hidden: !errors[name] }, errors[name] ? `${label || FIELD_LABEL[name]} ${errors[name]}` : ""));
  }

  function editor() {
    const n = findNode(state.selected);
    if (!n) {
      return h("div", { class: "panel" }, emptyState({
        icon: "menu",
        title: state.tops.length ? "Select a button" : "This account has no menu yet",
        hint: state.tops.length ? "Click a button on the phone to edit it." : "Add the first button; WeChat shows up to three.",
        action: state.tops.length ? null : button("Add a menu button", { icon: "plus", kind: "btn-primary", onClick: addTop }),
      }));
    }
    const parent = parentOf(n);
    const list = parent ? parent.subs : state.tops;
    const i = list.indexOf(n);
    const errors = state.errors.get(n.local) || {};
    const loose = Object.entries(errors).filter(([k]) => !["menu_name", "menu_type", ...ACTION_FIELDS].includes(k));
    const top = n.level === "top";
    const hasSubs = top && n.subs.length > 0;
    const body = h("div", { class: "form" });
    if (loose.length) body.append(h("div", { class: "alert alert-error menu-form-errors", role: "alert" }, icon("alert"), h("span", null, loose.map(([k, v]) => (k === "_" ? v : `${k} ${v}`)).join("; "))));
    body.append(textField(n, "menu_name", {
      label: "Name",
      limit: NAME_LIMIT[n.level],
      hint: top ? "WeChat allows 16 bytes: about 4 Chinese characters or 16 letters." : "WeChat allows 60 bytes: about 20 Chinese characters.",
    }));
    if (hasSubs) {
      body.append(h("p", { class: "notice" }, icon("alert"), h("span", null, "This button opens its sub-buttons, so it has no action of its own.")));
    } else {
      const typeId = "menu-type";
      const select = h("select", { id: typeId, "aria-invalid": errors.menu_type ? "true" : null },
        h("option", { value: "", disabled: true, selected: !n.menu_type }, "Choose what it does…"),
        TYPES.map(([value, label]) => h("option", { value, selected: value === n.menu_type }, label)));
      select.addEventListener("change", () => {
        n.menu_type = select.value;
        draw();
        host.querySelector("#menu-type")?.focus();
      });
      body.append(h("div", { class: ["field", "field-full", errors.menu_type && "has-error"] },
        h("label", { class: "label", for: typeId }, "Type"), select,
        h("p", { class: "field-error", hidden: !errors.menu_type }, errors.menu_type ? `Type ${errors.menu_type}` : "")));
      for (const f of typeInfo(n.menu_type)?.[2] || []) {
        body.append(textField(n, f, { limit: f === "menu_key" ? KEY_LIMIT : undefined, hint: FIELD_HINT[f], mono: f !== "url" }));
      }
      if (top && !n.subs.length) body.append(h("p", { class: "hint" }, "Add a sub-button (the + above it on the phone) to turn this into a group."));
    }
    const back = top ? "left" : "up";
    const forward = top ? "right" : "down";
    return h("section", { class: "panel", "aria-labelledby": "menu-form-title" },
      h("div", { class: "panel-head menu-form-head" },
        h("h2", { id: "menu-form-title" }, top ? "Menu button" : `Sub-button of “${parent.menu_name}”`),
        button(top ? "Move left" : "Move up", { icon: back, iconOnly: true, kind: "btn-ghost btn-sm", disabled: i === 0, attrs: { "data-move": "back" }, onClick: () => move(n, -1) }),
        button(top ? "Move right" : "Move down", { icon: forward, iconOnly: true, kind: "btn-ghost btn-sm", disabled: i === list.length - 1, attrs: { "data-move": "forward" }, onClick: () => move(n, 1) }),
        button("Delete button", { icon: "trash", iconOnly: true, kind: "btn-danger-ghost btn-sm", attrs: { "data-action": "delete-button" }, onClick: () => remove(n) })),
      h("div", { class: "panel-body" }, body));
  }

  const status = h("span", { class: "menu-status", role: "status" });
  function updateStatus() {
    const changed = dirty();
    status.classList.toggle("dirty", changed);
    status.replaceChildren(changed ? icon("alert") : icon("check"), changed ? "Unsaved changes" : "Saved");
  }

  function draw() {
    const toolbar = h("div", { class: "menu-toolbar" }, status,
      button("Discard changes", { kind: "btn-secondary", icon: "refresh", onClick: discard, disabled: state.saving }),
      button("Save", { kind: ["btn-secondary", state.saving && "busy"].filter(Boolean).join(" "), icon: "check", onClick: save, disabled: state.saving, attrs: { "data-role": "save-menu" } }),
      button("Publish to WeChat", { kind: "btn-primary", icon: "send", disabled: state.saving, attrs: { "data-action": "publish-menu" }, onClick: (e) => publish(e.currentTarget) }));
    const remote = h("section", { class: "panel menu-remote", "aria-labelledby": "menu-remote-title" },
      h("div", { class: "panel-head" },
        h("h2", { id: "menu-remote-title" }, "On WeChat"),
        h("div", { class: "row-actions" },
          button("Sync from WeChat", { kind: "btn-secondary btn-sm", icon: "download", attrs: { "data-action": "sync-menu" }, onClick: (e) => syncFromWeChat(e.currentTarget) }),
          button("Delete on WeChat", { kind: "btn-danger-ghost btn-sm", icon: "trash", attrs: { "data-action": "delete-remote-menu" }, onClick: (e) => deleteOnWeChat(e.currentTarget) }))),
      h("div", { class: "panel-body" },
        remoteNote
          ? h("p", { class: "remote-note", role: "status" }, icon("check"), {
            published: `Published at ${remoteNote.when}.`,
            synced: `Loaded from WeChat at ${remoteNote.when}.`,
            deleted: `Deleted on WeChat at ${remoteNote.when}; fans see no menu until you publish again.`,
          }[remoteNote.what])
          : null,
        h("p", { class: "hint" }, "Save keeps the menu in wxmp. Publish checks it against WeChat’s rules and sends the saved menu to WeChat, where fans see it. Sync from WeChat replaces the menu here with the live one.")));
    clear(host).append(h("div", { class: "menu-editor" },
      phone(),
      h("div", { class: "menu-side" }, toolbar, editor(), remote)));
    updateStatus();
  }

  await load();
  return () => window.removeEventListener("beforeunload", beforeUnload);
}
