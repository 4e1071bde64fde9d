// Pieces the account-scoped pages share.

import { h, icon, button, confirmDialog, alertDialog, openModal, toast, imageOr } from "../dom.js";
import { api, resource, ApiError, cachedFileUrl } from "../api.js";
import { emptyState } from "../states.js";
import { formDialog } from "../form.js";

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

/**
 * The account an action works on: the picked one, the only one, or one the
 * user chooses in a dialog. Resolves with its id, or null when cancelled.
 */
export async function chooseAccount(ctx, what) {
  if (ctx.account) return ctx.account;
  if (ctx.accounts.length === 1) return ctx.accounts[0].id;
  const chosen = await formDialog({
    title: "Which account?",
    intro: `${what} works on one official account. Pick it (or pick it in the top bar to skip this question).`,
    fields: [accountField(ctx)],
    values: { account_id: defaultAccount(ctx) },
    submitLabel: "Continue",
    submit: async (v) => v.account_id,
  });
  return typeof chosen === "string" ? chosen : null;
}

/** Problems a message lists, one per line ("…: a; b; c" → [a, b, c]). */
function problemList(message) {
  const colon = message.indexOf(": ");
  if (colon < 0 || !message.includes("; ")) return null;
  return { lead: message.slice(0, colon), items: message.slice(colon + 2).split("; ") };
}

/**
 * Shows why an action failed, in a dialog: WeChat's errcode and the server's
 * hint for 502s, every problem on its own line for lists of them.
 */
export async function showActionError(title, error) {
  if (!(error instanceof ApiError)) {
    console.error(error);
    await alertDialog({ title, message: "Something went wrong in the page; the details are in the browser console." });
    return;
  }
  if (error.status === 401) return;
  const list = problemList(error.message);
  const code = error.errcode;
  await openModal({
    title,
    className: "modal-confirm action-error",
    body: h("div", { class: "alert alert-error", role: "alert" }, icon("alert"),
      h("div", { class: "alert-text" },
        code !== null ? h("p", { class: "errcode" }, badge(`WeChat errcode ${code}`)) : null,
        list ? [h("p", null, `${list.lead}:`), h("ul", { class: "problems" }, list.items.map((item) => h("li", null, item)))] : h("p", null, error.message))),
    footer: (close) => [button("OK", { kind: "btn-primary", onClick: () => close(true), attrs: { autofocus: true } })],
  });
}

function badge(text) {
  return h("span", { class: "badge badge-red mono" }, text);
}

/**
 * Runs `fn` for a button: the button is busy meanwhile; failures show in a
 * dialog titled `failTitle`. Resolves with fn's result, or undefined.
 */
export async function busy(buttonEl, fn, failTitle) {
  if (buttonEl) {
    buttonEl.disabled = true;
    buttonEl.classList.add("busy");
    buttonEl.setAttribute("aria-busy", "true");
  }
  try {
    return await fn();
  } catch (error) {
    await showActionError(failTitle, error);
    return undefined;
  } finally {
    if (buttonEl) {
      buttonEl.disabled = false;
      buttonEl.classList.remove("busy");
      buttonEl.removeAttribute("aria-busy");
    }
  }
}

/** A button whose click runs `fn` through `busy`. */
export function actionButton(label, { icon: iconName, kind = "btn-secondary", action, failTitle, iconOnly = false, attrs = {} }, fn) {
  const el = button(label, {
    icon: iconName,
    kind,
    iconOnly,
    attrs: { "data-action": action, ...attrs },
    onClick: () => busy(el, () => fn(el), failTitle || `${label} failed`),
  });
  return el;
}

export { confirmDialog };

/**
 * A picture of a file: the copy this server keeps (`localPath`, fetched with
 * the admin's token) when there is one, else `url`; `fallback()` when neither
 * can be shown. Returns an element at once and fills it in when loaded.
 */
export function filePreview({ localPath, url, alt = "" }, fallback) {
  const slot = h("span", { class: "file-preview", dataset: { state: "loading" } });
  const remote = () => (url ? imageOr({ src: url, alt }, fallback) : fallback());
  if (!localPath) {
    slot.dataset.state = url ? "remote" : "none";
    slot.append(remote());
    return slot;
  }
  cachedFileUrl(localPath).then((blobUrl) => {
    if (blobUrl) {
      slot.dataset.state = "local";
      slot.append(h("img", { src: blobUrl, alt }));
    } else {
      slot.dataset.state = url ? "remote" : "none";
      slot.append(remote());
    }
  });
  return slot;
}

const MEDIA_WORDS = { image: "image", thumb: "thumbnail", voice: "voice", video: "video" };
const MEDIA_ICONS = { image: "materials", thumb: "materials", voice: "voice", video: "video" };

/**
 * A form field (`type: "custom"`) that picks one of the account's permanent
 * materials and fills its media_id into `name`: tiles with a thumbnail for
 * pictures, an icon otherwise. `types(values)` says which media types to list
 * (it may follow other fields); with `manual`, a media_id can be typed too.
 */
export function mediaPicker({ name, label, hint, types, manual = false, required = true }) {
  return ({ values, onChange, set, id }) => {
    const grid = h("div", { class: "thumb-picker", role: "radiogroup", "aria-labelledby": `${id}-label` });
    const typed = manual
      ? h("input", { type: "text", id, class: "mono", spellcheck: "false", autocomplete: "off", value: values()[name] || "", placeholder: "Pick below, or type a media_id", "aria-describedby": `${id}-hint` })
      : null;
    let shownFor = null;
    let seq = 0;
    // media_ids listed last time: one of them left over after the types
    // changed (an image's id on a voice reply) is cleared, not kept.
    let listed = new Set();

    const mark = () => {
      for (const input of grid.querySelectorAll("input[type=radio]")) input.checked = input.value === values()[name];
    };
    if (typed) {
      typed.addEventListener("input", () => {
        set(name, typed.value.trim());
        mark();
      });
    }

    const load = async () => {
      const accountId = values().account_id;
      const wanted = accountId ? types(values()) : [];
      const key = `${accountId}|${wanted.join(",")}`;
      if (key === shownFor) return;
      shownFor = key;
      const leftOver = () => {
        if (listed.has(values()[name])) set(name, "");
        listed = new Set();
      };
      if (!wanted.length) {
        grid.replaceChildren();
        leftOver();
        return;
      }
      const mine = ++seq;
      const words = wanted.map((t) => MEDIA_WORDS[t] || t).join(" or ");
      grid.replaceChildren(h("p", { class: "muted" }, `Loading ${words} materials…`));
      try {
        const pages = await Promise.all(wanted.map((media_type) =>
          api.get("/wechat/wxmaterials/list", { account_id: accountId, media_type, is_permanent: 1, page: 1, page_size: 100 })));
        if (mine !== seq) return;
        const usable = pages.flatMap((p) => p.list).filter((m) => m.media_id && m.sync_status !== 2);
        if (listed.size && !usable.some((m) => m.media_id === values()[name])) leftOver();
        listed = new Set(usable.map((m) => m.media_id));
        if (!usable.length) {
          grid.replaceChildren(h("p", { class: "muted picker-empty" }, `This account has no permanent ${words} on WeChat yet. Upload one on the Materials page (Upload → Permanent)${manual ? ", or type a media_id above" : ", then come back"}.`));
          return;
        }
        if (!manual && !usable.some((m) => m.media_id === values()[name])) set(name, "");
        grid.replaceChildren(...usable.map((m) => {
          const input = h("input", { type: "radio", name: `${id}-pick`, value: m.media_id, checked: m.media_id === values()[name], "aria-label": m.name || m.title || m.media_id });
          input.addEventListener("change", () => {
            set(name, m.media_id);
            if (typed) typed.value = m.media_id;
          });
          const picture = m.media_type === "image" || m.media_type === "thumb";
          const fallback = () => icon(MEDIA_ICONS[m.media_type] || "materials");
          return h("label", { class: "thumb-option", dataset: { thumb: m.media_id }, title: m.media_id }, input,
            h("span", { class: "picker-thumb" }, picture ? filePreview({ localPath: m.local_path, url: m.url, alt: "" }, fallback) : fallback()),
            h("span", { class: "picker-name" }, m.name || m.title || m.media_id));
        }));
      } catch (error) {
        if (mine !== seq) return;
        if (!(error instanceof ApiError)) console.error(error);
        grid.replaceChildren(h("p", { class: "field-error" }, error.message));
        shownFor = null;
      }
    };
    onChange((v, changed) => {
      if (changed === name) {
        if (typed && typed.value.trim() !== (v[name] || "")) typed.value = v[name] || "";
        return;
      }
      load();
    });
    load();
    return h("div", { class: "field field-full media-picker" },
      h(manual ? "label" : "span", { class: "label", id: `${id}-label`, for: manual ? id : undefined }, label, required ? h("span", { class: "req", "aria-hidden": "true" }, " *") : null),
      typed,
      grid,
      hint ? h("p", { class: "hint", id: `${id}-hint` }, hint) : null);
  };
}

/**
 * A voice or video file this server keeps (`localPath`), playable: a Play
 * button fetches it with the admin's token (only when asked: videos are
 * large) and puts an <audio> or <video> with its blob URL in its place.
 */
export function mediaPlayer({ localPath, kind, label }) {
  const slot = h("div", { class: ["media-player", `media-player-${kind}`], dataset: { role: "player" } });
  const cannot = (text) => slot.replaceChildren(h("p", { class: "media-note" }, text));
  const play = button("Play", {
    icon: "play",
    kind: "btn-secondary btn-sm",
    title: `Play ${label}`,
    attrs: { "data-action": "play", "aria-label": `Play ${label}` },
    onClick: async () => {
      play.disabled = true;
      play.classList.add("busy");
      const url = await cachedFileUrl(localPath);
      if (!url) {
        cannot("The stored copy could not be loaded.");
        return;
      }
      const player = h(kind === "video" ? "video" : "audio", { src: url, controls: true, preload: "metadata", "aria-label": label, playsinline: true });
      player.addEventListener("error", () => cannot("This browser cannot play this file's format."), { once: true });
      slot.replaceChildren(player);
      player.play().catch(() => {});
    },
  });
  slot.append(play);
  return slot;
}
