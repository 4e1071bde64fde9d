// Pieces the account-scoped pages share.

import { t } from "../i18n/index.js";
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
    title: t("common.no_accounts_title"),
    hint: t("common.no_accounts_hint", { what }),
    action: ctx.isAdmin ? h("a", { class: "btn btn-primary", href: "/wechat/wxaccounts?new=1" }, t("common.add_account")) : h("p", null, t("common.ask_admin")),
  }));
}

/** The account field of add forms, preset to the picked account. */
export function accountField(ctx) {
  return {
    name: "account_id",
    label: t("shell.account"),
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
  return ctx.account ? [] : [{ label: t("common.account"), render: (row) => h("span", { class: "nowrap" }, ctx.accountLabel(row.account_id)) }];
}

/**
 * A delete button that asks first, deletes, and reports in words. `noun` is
 * the thing in the chosen language ("rule", "规则").
 */
export function deleteButton({ name, noun, describe, row, onDone, iconOnly = true }) {
  return button(t("common.delete_noun", { noun }), {
    icon: "trash",
    iconOnly,
    kind: iconOnly ? "btn-ghost btn-sm" : "btn-danger-ghost",
    attrs: { "data-action": "delete" },
    onClick: async () => {
      const ok = await confirmDialog({
        title: t("common.delete_title", { noun }),
        message: t("common.delete_message", { what: describe(row) }),
      });
      if (!ok) return;
      try {
        await resource(name).remove(row.id);
        toast(t("common.deleted", { noun }));
        await onDone();
      } catch (error) {
        if (!(error instanceof ApiError)) console.error(error);
        else if (error.status !== 401) await alertDialog({ title: t("common.delete_failed", { noun }), message: error.message });
      }
    },
  });
}

export function editButton(noun, onClick) {
  return button(t("common.edit_noun", { noun }), { icon: "edit", iconOnly: true, kind: "btn-ghost btn-sm", onClick, attrs: { "data-action": "edit" } });
}

export function statusBadge(on, [yes, no] = [t("common.enabled"), t("common.disabled")]) {
  return h("span", { class: ["badge", on ? "badge-green" : ""] }, h("span", { class: ["dot", on && "dot-green"] }), on ? yes : no);
}

export const MESSAGE_TYPES = ["text", "image", "voice", "video", "shortvideo", "location", "link", "event", "news", "music"]
  .map((type) => [type, t(`msgtype.${type}`)]);

/**
 * The account an action works on: the picked one, the only one, or one the
 * user chooses in a dialog. Resolves with its id, or null when cancelled.
 */
export async function chooseAccount(ctx, what) {
  if (ctx.account) return ctx.account;
  if (ctx.accounts.length === 1) return ctx.accounts[0].id;
  const chosen = await formDialog({
    title: t("common.which_account"),
    intro: t("common.which_account_intro", { what }),
    fields: [accountField(ctx)],
    values: { account_id: defaultAccount(ctx) },
    submitLabel: t("common.continue"),
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
    await alertDialog({ title, message: t("common.page_bug") });
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
        code !== null ? h("p", { class: "errcode" }, badge(t("common.errcode", { code }))) : null,
        list ? [h("p", null, `${list.lead}:`), h("ul", { class: "problems" }, list.items.map((item) => h("li", null, item)))] : h("p", null, error.message))),
    footer: (close) => [button(t("common.ok"), { kind: "btn-primary", onClick: () => close(true), attrs: { autofocus: true } })],
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
    onClick: () => busy(el, () => fn(el), failTitle || t("common.action_failed", { label })),
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
      ? h("input", { type: "text", id, class: "mono", spellcheck: "false", autocomplete: "off", value: values()[name] || "", placeholder: t("picker.placeholder"), "aria-describedby": `${id}-hint` })
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
      const words = wanted.map((type) => t(`picker.word.${type}`)).join(t("picker.or"));
      grid.replaceChildren(h("p", { class: "muted" }, t("picker.loading", { words })));
      try {
        const pages = await Promise.all(wanted.map((media_type) =>
          api.get("/wechat/wxmaterials/list", { account_id: accountId, media_type, is_permanent: 1, page: 1, page_size: 100 })));
        if (mine !== seq) return;
        const usable = pages.flatMap((p) => p.list).filter((m) => m.media_id && m.sync_status !== 2);
        if (listed.size && !usable.some((m) => m.media_id === values()[name])) leftOver();
        listed = new Set(usable.map((m) => m.media_id));
        if (!usable.length) {
          grid.replaceChildren(h("div", { class: "picker-empty", dataset: { role: "picker-empty" } },
            icon(MEDIA_ICONS[wanted[0]] || "materials", "state-icon"),
            h("p", { class: "state-title" }, t("picker.empty_title", { words })),
            h("p", { class: "state-hint" }, t(manual ? "picker.empty_hint_manual" : "picker.empty_hint")),
            h("a", { class: "btn btn-secondary btn-sm", href: "/wechat/wxmaterials", target: "_blank", rel: "noopener" }, icon("upload"), h("span", null, t("picker.empty_action")))));
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
  const play = button(t("player.play"), {
    icon: "play",
    kind: "btn-secondary btn-sm",
    title: t("player.play_label", { label }),
    attrs: { "data-action": "play", "aria-label": t("player.play_label", { label }) },
    onClick: async () => {
      play.disabled = true;
      play.classList.add("busy");
      const url = await cachedFileUrl(localPath);
      if (!url) {
        cannot(t("player.load_failed"));
        return;
      }
      const player = h(kind === "video" ? "video" : "audio", { src: url, controls: true, preload: "metadata", "aria-label": label, playsinline: true });
      player.addEventListener("error", () => cannot(t("player.unsupported")), { once: true });
      slot.replaceChildren(player);
      player.play().catch(() => {});
    },
  });
  slot.append(play);
  return slot;
}

/**
 * A fan's nickname, or, when there is none, a muted "no nickname" with a
 * tooltip saying why: since December 2021 WeChat returns no nickname or
 * avatar for fans (only openids), so most fans have none.
 */
export function nickname(fan) {
  if (fan && fan.nickname) return h("span", { class: "fan-nickname" }, fan.nickname);
  const why = t("fans.no_nickname_why");
  return h("span", { class: "fan-nickname no-nickname muted", title: why, tabindex: "0", "aria-label": `${t("fans.no_nickname")}: ${why}`, dataset: { role: "no-nickname" } },
    t("fans.no_nickname"), h("span", { class: "info-mark", "aria-hidden": "true" }, "ⓘ"));
}

/** A fan's name as plain text (nickname, else the openid). */
export function fanLabel(fan, openid) {
  return (fan && fan.nickname) || openid || (fan && fan.openid) || "";
}
