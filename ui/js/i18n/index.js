// The UI's languages: `t(key, params)` looks a string up in the chosen
// language's file (a flat key → string map; `{name}` is replaced by
// params.name). Simplified Chinese is the default when the browser prefers
// Chinese, English otherwise; the choice is kept in localStorage and applied
// by reloading the page, so every module reads its strings fresh.
//
// To translate a page: replace each text with a t() call on a new key, add it
// to both zh-CN.js and en.js (a test fails when one of them misses it).

import zhCN from "./zh-CN.js";
import en from "./en.js";

const STRINGS = { "zh-CN": zhCN, en };
const KEY = "wxmp.lang";

/** The languages to choose from: [code, name in its own language]. */
export const LANGUAGES = [["zh-CN", "简体中文"], ["en", "English"]];

function detect() {
  const saved = localStorage.getItem(KEY);
  if (saved && STRINGS[saved]) return saved;
  const preferred = (navigator.languages && navigator.languages[0]) || navigator.language || "";
  return preferred.toLowerCase().startsWith("zh") ? "zh-CN" : "en";
}

let current = detect();
document.documentElement.lang = current;

export function lang() {
  return current;
}

/** Remembers `code` and reloads the page in that language. */
export function setLang(code) {
  if (!STRINGS[code]) return;
  localStorage.setItem(KEY, code);
  location.reload();
}

/** Whether the chosen language has `key` (for codes the server sends). */
export function has(key) {
  return Object.prototype.hasOwnProperty.call(STRINGS[current], key);
}

function fill(text, params) {
  if (!params) return text;
  return text.replace(/\{(\w+)\}/g, (whole, name) => (params[name] === undefined || params[name] === null ? whole : String(params[name])));
}

/**
 * `t(text)` when `text` is a key of the string files, else `text` itself:
 * for labels that may still be plain English (a page added before its
 * strings were, e.g. a new NAV entry), so they show instead of failing.
 */
export function tOr(text) {
  return Object.prototype.hasOwnProperty.call(en, text) ? t(text) : text;
}

export function t(key, params) {
  const text = has(key) ? STRINGS[current][key] : en[key];
  if (text === undefined) {
    console.error(`i18n: no string for ${key}`);
    return key;
  }
  return fill(text, params);
}

/** "a, b and c" in the chosen language. */
export function joinList(items) {
  if (items.length < 2) return items.join("");
  return `${items.slice(0, -1).join(t("list.sep"))}${t("list.last")}${items[items.length - 1]}`;
}
