// DOM building blocks: element builder, icons, dialogs, toasts, formatting.
// Everything is built with DOM calls (no HTML strings from data), so text
// from the database can never become markup.

import { t } from "./i18n/index.js";

const SVG_NS = "http://www.w3.org/2000/svg";

/** h("button", {class: "btn", onclick: fn}, "Save") → element. */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [key, value] of Object.entries(attrs)) {
      if (value === undefined || value === null || value === false) continue;
      if (key.startsWith("on") && typeof value === "function") {
        el.addEventListener(key.slice(2).toLowerCase(), value);
      } else if (key === "class") {
        el.className = Array.isArray(value) ? value.filter(Boolean).join(" ") : value;
      } else if (key === "dataset") {
        Object.assign(el.dataset, value);
      } else if (key === "value" && "value" in el) {
        el.value = value;
      } else if (key === "checked" || key === "selected" || key === "disabled" || key === "hidden") {
        el[key] = Boolean(value);
        if (value) el.setAttribute(key, "");
      } else if (value === true) {
        el.setAttribute(key, "");
      } else {
        el.setAttribute(key, String(value));
      }
    }
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}

let uid = 0;
/** An element id no other element of the page has: `prefix-N`. */
export function nextId(prefix) {
  return `${prefix}-${++uid}`;
}

// Icons drawn for wxmp: 24×24, stroked with the current text colour.
const ICONS = {
  dashboard: '<rect x="3" y="3" width="7" height="9" rx="1.5"/><rect x="14" y="3" width="7" height="5" rx="1.5"/><rect x="14" y="12" width="7" height="9" rx="1.5"/><rect x="3" y="16" width="7" height="5" rx="1.5"/>',
  accounts: '<rect x="3" y="5" width="18" height="14" rx="2"/><circle cx="9" cy="11" r="2.5"/><path d="M5.5 17c.8-1.8 2-2.7 3.5-2.7s2.7.9 3.5 2.7M15 10h3M15 14h3"/>',
  reply: '<path d="M4 5h16v11H9l-5 4z"/><path d="M13 7.5l-3 4h4l-3 4"/>',
  materials: '<rect x="3" y="4" width="18" height="16" rx="2"/><circle cx="8.5" cy="9.5" r="1.5"/><path d="M21 16l-5-5-8 8"/>',
  menu: '<rect x="6" y="2.5" width="12" height="19" rx="2"/><path d="M6 17h12M10 17v4.5M14 17v4.5"/>',
  messages: '<path d="M4 5h16v11H9l-5 4z"/><path d="M8 9h8M8 12h5"/>',
  fans: '<circle cx="9" cy="8" r="3.5"/><path d="M2.5 20c.8-3.6 3.3-5.5 6.5-5.5s5.7 1.9 6.5 5.5"/><circle cx="17" cy="9" r="2.5"/><path d="M17.5 14.2c2.1.4 3.5 2.2 4 4.8"/>',
  templates: '<path d="M6 3h9l4 4v14H6z"/><path d="M15 3v4h4M9 11h7M9 15h7"/>',
  pay: '<rect x="3" y="6" width="18" height="13" rx="2"/><path d="M3 10h18M16 14.5h2"/>',
  admins: '<path d="M12 3l8 3v6c0 4.5-3.4 8-8 9-4.6-1-8-4.5-8-9V6z"/><path d="M9 12l2 2 4-4"/>',
  audit: '<rect x="5" y="4" width="14" height="17" rx="2"/><path d="M9 4V3h6v1M8.5 10h7M8.5 13.5h7M8.5 17h4"/>',
  plus: '<path d="M12 5v14M5 12h14"/>',
  edit: '<path d="M4 20h4L19 9l-4-4L4 16z"/><path d="M13.5 6.5l4 4"/>',
  archive: '<rect x="3" y="4" width="18" height="4" rx="1"/><path d="M5 8v11a1 1 0 0 0 1 1h12a1 1 0 0 0 1-1V8M10 12h4"/>',
  trash: '<path d="M4 7h16M9 7V4h6v3M6 7l1 13h10l1-13M10 11v5M14 11v5"/>',
  copy: '<rect x="8" y="8" width="12" height="12" rx="2"/><path d="M16 8V5a1 1 0 0 0-1-1H5a1 1 0 0 0-1 1v10a1 1 0 0 0 1 1h3"/>',
  left: '<path d="M15 5l-7 7 7 7"/>',
  right: '<path d="M9 5l7 7-7 7"/>',
  up: '<path d="M5 15l7-7 7 7"/>',
  down: '<path d="M5 9l7 7 7-7"/>',
  search: '<circle cx="11" cy="11" r="6.5"/><path d="M16 16l4.5 4.5"/>',
  logout: '<path d="M15 4h4v16h-4M10 8l-4 4 4 4M6 12h10"/>',
  refresh: '<path d="M20 11a8 8 0 1 0-2.3 5.7M20 5v6h-6"/>',
  key: '<circle cx="8" cy="15" r="4"/><path d="M11 12l9-9M16 7l3 3"/>',
  close: '<path d="M6 6l12 12M18 6L6 18"/>',
  burger: '<path d="M4 6h16M4 12h16M4 18h16"/>',
  send: '<path d="M4 12l16-8-6 16-2-6z"/>',
  upload: '<path d="M12 16V4M7 9l5-5 5 5M4 16v4h16v-4"/>',
  keyboard: '<rect x="3" y="6" width="18" height="12" rx="2"/><path d="M7 10h1M11 10h1M15 10h1M8 14h8"/>',
  alert: '<circle cx="12" cy="12" r="9"/><path d="M12 7.5v5.5M12 16.5v.01"/>',
  check: '<path d="M5 12.5l4.5 4.5L19 7.5"/>',
  user: '<circle cx="12" cy="8" r="4"/><path d="M4 21c1-4.5 4.2-7 8-7s7 2.5 8 7"/>',
  inbox: '<path d="M3 13l3-8h12l3 8v6H3z"/><path d="M3 13h5l1.5 2.5h5L16 13h5"/>',
  external: '<path d="M14 4h6v6M20 4l-9 9M18 14v6H4V6h6"/>',
  music: '<circle cx="7" cy="17" r="3"/><path d="M10 17V5l10-2v12"/><circle cx="17" cy="15" r="3"/>',
  video: '<rect x="3" y="6" width="13" height="12" rx="2"/><path d="M16 10l5-3v10l-5-3"/>',
  voice: '<rect x="9" y="3" width="6" height="11" rx="3"/><path d="M5 11a7 7 0 0 0 14 0M12 18v3"/>',
  news: '<rect x="3" y="4" width="18" height="16" rx="2"/><path d="M7 8h10M7 12h4M7 16h4M14 12h3v4h-3z"/>',
  text: '<path d="M5 6V4h14v2M12 4v16M9 20h6"/>',
  location: '<path d="M12 21s-7-6.2-7-11.5a7 7 0 0 1 14 0C19 14.8 12 21 12 21z"/><circle cx="12" cy="9.5" r="2.5"/>',
  link: '<path d="M10 14a4 4 0 0 0 5.7 0l3-3a4 4 0 0 0-5.7-5.7l-1 1M14 10a4 4 0 0 0-5.7 0l-3 3a4 4 0 0 0 5.7 5.7l1-1"/>',
  bolt: '<path d="M13 3L5 14h6l-1 7 8-11h-6z"/>',
  download: '<path d="M12 4v12M7 11l5 5 5-5M4 16v4h16v-4"/>',
  plugin: '<path d="M9 3h3v3a1.5 1.5 0 0 0 3 0V3h3a1 1 0 0 1 1 1v4h-2a1.5 1.5 0 0 0 0 3h2v8a1 1 0 0 1-1 1h-4v-2a1.5 1.5 0 0 0-3 0v2H5a1 1 0 0 1-1-1v-4h2a1.5 1.5 0 0 0 0-3H4V4a1 1 0 0 1 1-1z"/>',
  play: '<path d="M7 4.5v15l12-7.5z"/>',
  cloud: '<path d="M7 18h10.5a4 4 0 0 0 .6-7.95A6 6 0 0 0 6.3 9.1 4.5 4.5 0 0 0 7 18z"/>',
};

export function icon(name, extraClass) {
  const svg = document.createElementNS(SVG_NS, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  svg.setAttribute("class", extraClass ? `icon ${extraClass}` : "icon");
  svg.innerHTML = ICONS[name] || ICONS.alert;
  return svg;
}

/** A button; `label` is also its accessible name when only the icon shows. */
export function button(label, { icon: iconName, kind = "", onClick, title, iconOnly = false, type = "button", disabled = false, attrs = {} } = {}) {
  const el = h("button", {
    type,
    class: ["btn", kind, iconOnly && "btn-icon"],
    title: title || (iconOnly ? label : undefined),
    "aria-label": iconOnly ? label : undefined,
    disabled,
    onclick: onClick,
    ...attrs,
  }, iconName ? icon(iconName) : null, iconOnly ? null : h("span", null, label));
  return el;
}

export const NOT_YET = t("common.not_yet");

/** A disabled button for a server feature that does not exist yet. */
export function comingSoon(label, iconName, { iconOnly = false } = {}) {
  // A disabled button gets no hover events in every browser, so the tooltip
  // sits on a wrapper that can take focus.
  return h("span", { class: "coming-soon", title: `${label}: ${NOT_YET}`, tabindex: "0", role: "note", "aria-label": `${label} (${NOT_YET})` },
    button(label, { icon: iconName, iconOnly, kind: iconOnly ? "btn-ghost btn-sm" : "", disabled: true, attrs: { tabindex: "-1", title: null } }));
}

/** An image that falls back to `fallback()` when it cannot be loaded. */
export function imageOr(attrs, fallback) {
  const img = h("img", { loading: "lazy", referrerpolicy: "no-referrer", ...attrs });
  img.addEventListener("error", () => img.replaceWith(fallback()), { once: true });
  return img;
}

export function badge(text, tone = "") {
  return h("span", { class: ["badge", tone && `badge-${tone}`] }, text);
}

// ---- dialogs -------------------------------------------------------------

/**
 * Opens a modal <dialog>; resolves with what `close(value)` was given.
 * `beforeDismiss()` (async, true to close) is asked first when the user
 * dismisses it with Escape or the close button.
 */
export function openModal({ title, body, footer, wide = false, onOpen, className, beforeDismiss }) {
  return new Promise((resolve) => {
    const titleId = `dlg-${Math.random().toString(36).slice(2)}`;
    const dialog = h("dialog", { class: ["modal", wide && "modal-wide", className], "aria-labelledby": titleId });
    let result;
    const close = (value) => {
      result = value;
      dialog.close();
    };
    dialog.addEventListener("close", () => {
      dialog.remove();
      resolve(result);
    });
    dialog.addEventListener("cancel", () => {
      result = undefined;
    });
    const dismiss = async () => {
      if (!beforeDismiss || (await beforeDismiss())) close(undefined);
    };
    if (beforeDismiss) {
      dialog.addEventListener("keydown", (event) => {
        if (event.key !== "Escape") return;
        event.preventDefault();
        event.stopPropagation();
        dismiss();
      });
    }
    const content = typeof body === "function" ? body(close) : body;
    const actions = typeof footer === "function" ? footer(close) : footer;
    append(dialog, [
      h("header", { class: "modal-header" },
        h("h2", { id: titleId }, title),
        button(t("common.close"), { icon: "close", iconOnly: true, kind: "btn-ghost", onClick: dismiss })),
      h("div", { class: "modal-body" }, content),
      actions ? h("footer", { class: "modal-footer" }, actions) : null,
    ]);
    document.body.append(dialog);
    dialog.showModal();
    if (onOpen) onOpen(dialog, close);
  });
}

/** Asks before something destructive; resolves true only on confirmation. */
export async function confirmDialog({ title, message, confirmText = t("common.delete"), cancelText = t("common.cancel"), danger = true }) {
  const result = await openModal({
    title,
    className: "modal-confirm",
    body: h("p", { class: "confirm-message" }, message),
    footer: (close) => [
      button(cancelText, { kind: "btn-secondary", onClick: () => close(false), attrs: { "data-confirm": "no" } }),
      button(confirmText, { kind: danger ? "btn-danger" : "btn-primary", onClick: () => close(true), attrs: { "data-confirm": "yes", autofocus: true } }),
    ],
  });
  return result === true;
}

/** Tells the user something went wrong, in a dialog they must acknowledge. */
export async function alertDialog({ title, message }) {
  await openModal({
    title,
    className: "modal-confirm",
    body: h("div", { class: "alert alert-error", role: "alert" }, icon("alert"), h("span", null, message)),
    footer: (close) => [button(t("common.ok"), { kind: "btn-primary", onClick: () => close(true), attrs: { autofocus: true } })],
  });
}

// ---- toasts --------------------------------------------------------------

let toastHost;
export function toast(message, tone = "success") {
  if (!toastHost || !toastHost.isConnected) {
    toastHost = h("div", { class: "toasts", role: "status", "aria-live": "polite" });
    document.body.append(toastHost);
  }
  const el = h("div", { class: `toast toast-${tone}` }, icon(tone === "error" ? "alert" : "check"), h("span", null, message));
  toastHost.append(el);
  setTimeout(() => el.classList.add("toast-out"), 3200);
  setTimeout(() => el.remove(), 3600);
}

// ---- formatting ----------------------------------------------------------

const encoder = new TextEncoder();
/** Length in UTF-8 bytes, as WeChat counts limits. */
export function byteLength(text) {
  return encoder.encode(text || "").length;
}

function pad(n) {
  return String(n).padStart(2, "0");
}

/** A Date as YYYY-MM-DD in local time (the same in every language). */
export function formatDate(d) {
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

/** YYYY-MM-DD HH:mm, 24 h, local time (the same in every language). */
export function formatTime(value, { seconds = false } = {}) {
  if (!value) return "—";
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) return String(value);
  const base = `${formatDate(d)} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
  return seconds ? `${base}:${pad(d.getSeconds())}` : base;
}

export function relativeTime(value) {
  if (!value) return "—";
  const d = new Date(value);
  const diff = (Date.now() - d.getTime()) / 1000;
  if (Number.isNaN(diff)) return String(value);
  if (diff < 60) return t("time.just_now");
  if (diff < 3600) return t("time.min_ago", { n: Math.floor(diff / 60) });
  if (diff < 86400) return t("time.h_ago", { n: Math.floor(diff / 3600) });
  if (diff < 86400 * 7) return t("time.d_ago", { n: Math.floor(diff / 86400) });
  return formatTime(value);
}

/** Time element showing local time, with the exact time as a tooltip. */
export function timeEl(value, { relative = false, timeOnly = false } = {}) {
  if (!value) return h("span", { class: "muted" }, "—");
  const text = relative ? relativeTime(value) : timeOnly ? formatTime(value).slice(11) : formatTime(value);
  return h("time", { datetime: value, title: formatTime(value, { seconds: true }) }, text);
}

/** Integer fen → "¥12.34", without floating-point rounding. */
export function money(fen) {
  const n = Number(fen || 0);
  const sign = n < 0 ? "-" : "";
  const abs = Math.abs(Math.trunc(n));
  return `${sign}¥${Math.floor(abs / 100).toLocaleString("en-US")}.${pad(abs % 100)}`;
}

export function formatBytes(n) {
  const size = Number(n || 0);
  if (size < 1024) return `${size} B`;
  if (size < 1024 * 1024) return `${(size / 1024).toFixed(1)} KB`;
  return `${(size / 1024 / 1024).toFixed(1)} MB`;
}

export function truncate(text, max = 80) {
  const chars = Array.from(text || "");
  return chars.length > max ? `${chars.slice(0, max).join("")}…` : chars.join("");
}

/** Copies text; falls back to a selection when the Clipboard API is refused. */
export async function copyText(text) {
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch {
    // Permission refused (e.g. a headless browser): use the fallback below.
  }
  const area = h("textarea", { class: "visually-hidden", readonly: true }, text);
  document.body.append(area);
  area.select();
  let copied = false;
  try {
    copied = document.execCommand("copy");
  } catch {
    copied = false;
  }
  area.remove();
  return copied;
}

/** Calls `fn` once after a burst of calls settles down, and at least every
 * `gap` ms while calls keep coming (a debounce alone would wait for a pause
 * that a steady stream of events never leaves). */
export function throttle(fn, { delay = 250, gap = 2000 } = {}) {
  let timer = null;
  let last = 0;
  return () => {
    if (timer) return;
    const wait = Math.max(delay, last + gap - Date.now());
    timer = setTimeout(() => {
      timer = null;
      last = Date.now();
      fn();
    }, wait);
  };
}

export function debounce(fn, ms = 300) {
  let timer;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}
