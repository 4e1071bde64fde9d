// What a page shows while it loads, when it is empty or failed, and the
// chrome around its content (the page header, tabs), shared by every page.

import { t } from "./i18n/index.js";
import { h, icon, button } from "./dom.js";

export function loadingState(label = t("state.loading")) {
  return h("div", { class: "state state-loading", role: "status" }, h("span", { class: "spinner", "aria-hidden": "true" }), h("span", null, label));
}

export function errorState(message, onRetry) {
  return h("div", { class: "state state-error", role: "alert" },
    icon("alert", "state-icon"),
    h("p", { class: "state-title" }, t("state.load_failed")),
    h("p", { class: "state-hint" }, message),
    onRetry ? button(t("state.try_again"), { icon: "refresh", kind: "btn-secondary", onClick: onRetry }) : null);
}

export function emptyState({ icon: iconName = "inbox", title, hint, action }) {
  return h("div", { class: "state state-empty" },
    icon(iconName, "state-icon"),
    h("p", { class: "state-title" }, title),
    hint ? h("p", { class: "state-hint" }, hint) : null,
    action || null);
}

export function pageHeader(title, subtitle, actions = []) {
  return h("div", { class: "page-header" },
    h("div", { class: "page-title" }, h("h1", null, title), subtitle ? h("p", { class: "page-subtitle" }, subtitle) : null),
    h("div", { class: "page-actions" }, actions));
}

export function tabs(items, active, onSelect, label = t("state.sections")) {
  const list = h("div", { class: "tabs", role: "tablist", "aria-label": label });
  for (const [value, text] of items) {
    list.append(h("button", {
      type: "button",
      role: "tab",
      class: ["tab", value === active && "active"],
      "aria-selected": value === active ? "true" : "false",
      onclick: () => onSelect(value),
    }, text));
  }
  return list;
}
