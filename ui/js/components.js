// Lists (filters, paging, loading / empty / error states) and forms (field
// errors from a 422 next to their fields), shared by every page.

import { h, append, clear, icon, button, openModal, byteLength, debounce } from "./dom.js";
import { ApiError } from "./api.js";

let uid = 0;
const nextId = (prefix) => `${prefix}-${++uid}`;

// ---- states ----------------------------------------------------------------

export function loadingState(label = "Loading…") {
  return h("div", { class: "state state-loading", role: "status" }, h("span", { class: "spinner", "aria-hidden": "true" }), h("span", null, label));
}

export function errorState(message, onRetry) {
  return h("div", { class: "state state-error", role: "alert" },
    icon("alert", "state-icon"),
    h("p", { class: "state-title" }, "Could not load this"),
    h("p", { class: "state-hint" }, message),
    onRetry ? button("Try again", { icon: "refresh", kind: "btn-secondary", onClick: onRetry }) : null);
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

export function tabs(items, active, onSelect, label = "Sections") {
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

// ---- lists -----------------------------------------------------------------

/** Local-day bounds of a YYYY-MM-DD, as RFC 3339 for the API. */
function dayBound(value, end) {
  const [y, m, d] = value.split("-").map(Number);
  if (!y || !m || !d) return value;
  const date = end ? new Date(y, m - 1, d, 23, 59, 59, 999) : new Date(y, m - 1, d);
  return date.toISOString();
}

/**
 * A paged, filtered list. Filters and paging live in the URL (replaceState),
 * so a reload or a shared link shows the same rows.
 */
export function listView(options) {
  const {
    load,
    baseQuery = () => ({}),
    filters = [],
    columns = [],
    rowActions,
    cards,
    empty,
    caption,
    rowClass,
    pageSizes = [10, 20, 50, 100],
  } = options;
  const defaultPageSize = options.pageSize || 20;
  const url = new URL(location.href);
  const state = { page: Number(url.searchParams.get("page")) || 1, page_size: Number(url.searchParams.get("page_size")) || defaultPageSize, filters: {} };
  if (!pageSizes.includes(state.page_size)) state.page_size = defaultPageSize;
  for (const f of filters) {
    const names = f.type === "daterange" ? ["start", "end"] : [f.name];
    for (const name of names) state.filters[name] = url.searchParams.get(name) || "";
  }

  const root = h("section", { class: "list", "aria-label": caption || "List" });
  const bar = h("form", { class: "filter-bar", role: "search", onsubmit: (e) => { e.preventDefault(); apply(); } });
  const body = h("div", { class: "list-body" });
  const footer = h("div", { class: "list-footer" });
  let seq = 0;
  let loadedOnce = false;

  const syncUrl = () => {
    const u = new URL(location.href);
    for (const [name, value] of Object.entries(state.filters)) {
      if (value) u.searchParams.set(name, value);
      else u.searchParams.delete(name);
    }
    if (state.page > 1) u.searchParams.set("page", state.page);
    else u.searchParams.delete("page");
    if (state.page_size !== defaultPageSize) u.searchParams.set("page_size", state.page_size);
    else u.searchParams.delete("page_size");
    history.replaceState(history.state, "", u.pathname + u.search);
  };

  const apply = () => {
    state.page = 1;
    refresh();
  };

  const activeFilters = () => Object.values(state.filters).some(Boolean);

  const reset = () => {
    for (const key of Object.keys(state.filters)) state.filters[key] = "";
    renderFilters();
    bar.querySelector("input, select")?.focus();
    apply();
  };

  function renderFilters() {
    clear(bar);
    for (const f of filters) {
      const id = nextId("flt");
      if (f.type === "select") {
        const select = h("select", { id, onchange: (e) => { state.filters[f.name] = e.target.value; apply(); } },
          h("option", { value: "" }, f.all || `All`),
          f.options.map(([value, label]) => h("option", { value, selected: String(value) === state.filters[f.name] }, label)));
        bar.append(h("div", { class: "filter filter-extra" }, h("label", { for: id }, f.label), select));
      } else if (f.type === "daterange") {
        const startId = nextId("flt");
        bar.append(h("div", { class: "filter filter-dates filter-extra" },
          h("label", { for: startId }, f.label || "Created"),
          h("div", { class: "date-range" },
            h("input", { id: startId, type: "date", value: state.filters.start, "aria-label": "From date", onchange: (e) => { state.filters.start = e.target.value; apply(); } }),
            h("span", { class: "muted", "aria-hidden": "true" }, "–"),
            h("input", { type: "date", value: state.filters.end, "aria-label": "To date", onchange: (e) => { state.filters.end = e.target.value; apply(); } }))));
      } else {
        const search = f.type === "search";
        const input = h("input", {
          id,
          type: "search",
          value: state.filters[f.name],
          placeholder: f.placeholder || "",
          enterkeyhint: "search",
          oninput: debounce((e) => {
            if (state.filters[f.name] !== e.target.value.trim()) {
              state.filters[f.name] = e.target.value.trim();
              apply();
            }
          }, 400),
        });
        bar.append(h("div", { class: ["filter", search ? "filter-search" : "filter-extra"] },
          h("label", { for: id }, f.label),
          h("div", { class: "input-icon" }, search ? icon("search") : null, input)));
      }
    }
    if (filters.some((f) => f.type !== "search")) {
      // On a phone the extra filters fold away behind this toggle.
      bar.append(h("div", { class: "filter filter-toggle" }, h("span", { class: "toggle-slot" })));
    }
    if (filters.length) {
      bar.append(h("div", { class: "filter filter-reset" },
        button("Reset", { kind: "btn-ghost", onClick: reset, attrs: { "data-role": "reset-filters" } })));
    }
    updateFilterChrome();
  }

  /** The toggle and Reset follow the filters without rebuilding the inputs
   * (which would take the focus away from someone typing). */
  function updateFilterChrome() {
    const slot = bar.querySelector(".toggle-slot");
    if (slot) {
      const shown = bar.classList.contains("expanded");
      const extras = filters.filter((f) => f.type !== "search");
      const count = extras.flatMap((f) => (f.type === "daterange" ? ["start", "end"] : [f.name])).filter((n) => state.filters[n]).length;
      slot.replaceChildren(button(count ? `Filters (${count})` : "Filters", {
        icon: shown ? "up" : "down",
        kind: "btn-secondary",
        attrs: { "aria-expanded": String(shown) },
        onClick: () => {
          bar.classList.toggle("expanded");
          updateFilterChrome();
          slot.querySelector("button").focus();
        },
      }));
    }
    const resetButton = bar.querySelector("[data-role=reset-filters]");
    if (resetButton) resetButton.disabled = !activeFilters();
  }

  function query() {
    const q = { ...baseQuery(), page: state.page, page_size: state.page_size };
    for (const [name, value] of Object.entries(state.filters)) {
      if (!value) continue;
      if (name === "start") q.start = dayBound(value, false);
      else if (name === "end") q.end = dayBound(value, true);
      else q[name] = value;
    }
    return q;
  }

  function renderRows(data) {
    clear(body);
    clear(footer);
    if (!data.list.length) {
      if (activeFilters() || state.page > 1) {
        body.append(emptyState({ icon: "search", title: "Nothing matches these filters", hint: "Change or reset the filters to see more.", action: button("Reset filters", { kind: "btn-secondary", onClick: reset }) }));
      } else {
        body.append(emptyState(empty || { title: "Nothing here yet" }));
      }
      return;
    }
    if (cards) {
      body.append(h("div", { class: "card-grid" }, data.list.map((row) => cards(row, api))));
    } else {
      const table = h("table", { class: "table" },
        caption ? h("caption", { class: "visually-hidden" }, caption) : null,
        h("thead", null, h("tr", null,
          columns.map((c) => h("th", { scope: "col", class: c.class }, c.label)),
          rowActions ? h("th", { scope: "col", class: "col-actions" }, h("span", { class: "visually-hidden" }, "Actions")) : null)),
        h("tbody", null, data.list.map((row) => h("tr", { class: rowClass ? rowClass(row) : null, dataset: { id: row.id } },
          columns.map((c) => h("td", { class: c.class, dataset: { label: c.label } }, c.render(row))),
          rowActions ? h("td", { class: "col-actions" }, h("div", { class: "row-actions" }, rowActions(row, api))) : null))));
      body.append(h("div", { class: "table-wrap" }, table));
    }
    const pages = Math.max(1, Math.ceil(data.total / state.page_size));
    const first = (state.page - 1) * state.page_size + 1;
    const last = Math.min(data.total, first + data.list.length - 1);
    const sizeId = nextId("psize");
    append(footer, [
      h("p", { class: "list-count" }, `${first}–${last} of ${data.total}`),
      h("div", { class: "pager" },
        h("label", { for: sizeId, class: "muted" }, "Rows"),
        h("select", { id: sizeId, class: "select-sm", onchange: (e) => { state.page_size = Number(e.target.value); apply(); } },
          pageSizes.map((n) => h("option", { value: n, selected: n === state.page_size }, String(n)))),
        button("Previous page", { icon: "left", iconOnly: true, kind: "btn-secondary", disabled: state.page <= 1, onClick: () => { state.page -= 1; refresh(); } }),
        h("span", { class: "pager-pos" }, `Page ${state.page} of ${pages}`),
        button("Next page", { icon: "right", iconOnly: true, kind: "btn-secondary", disabled: state.page >= pages, onClick: () => { state.page += 1; refresh(); } })),
    ]);
  }

  async function refresh() {
    syncUrl();
    updateFilterChrome();
    const mine = ++seq;
    if (!loadedOnce) {
      clear(body).append(loadingState());
      clear(footer);
    }
    root.setAttribute("aria-busy", "true");
    try {
      const data = await load(query());
      if (mine !== seq) return;
      if (!data.list.length && state.page > 1 && data.total > 0) {
        // The page emptied (rows deleted): show the last page instead.
        state.page = Math.max(1, Math.ceil(data.total / state.page_size));
        refresh();
        return;
      }
      loadedOnce = true;
      renderRows(data);
    } catch (error) {
      if (mine !== seq) return;
      if (!(error instanceof ApiError)) console.error(error);
      if (error instanceof ApiError && error.status === 401) return;
      loadedOnce = false;
      clear(body).append(errorState(error.message, refresh));
      clear(footer);
    } finally {
      if (mine === seq) root.removeAttribute("aria-busy");
    }
  }

  const api = { reload: refresh, root };
  append(root, [filters.length ? bar : null, body, footer]);
  renderFilters();
  refresh();
  return api;
}

// ---- forms -----------------------------------------------------------------

function optionValue(field, raw) {
  return field.numeric ? Number(raw) : raw;
}

/**
 * A form built from field descriptions. Field types: text, url, number,
 * textarea, select, segmented, switch, secret, password, checkboxes, custom.
 */
export function buildForm(items, initial = {}) {
  const form = h("form", { class: "form", novalidate: true });
  const values = { ...initial };
  const controls = new Map();
  const listeners = [];
  const formAlert = h("div", { class: "alert alert-error", role: "alert", hidden: true });
  form.append(formAlert);

  const changed = (name, value) => {
    values[name] = value;
    for (const fn of listeners) fn(values, name);
  };

  function renderField(field) {
    const id = nextId(`f-${field.name || "custom"}`);
    const errorId = `${id}-error`;
    const hintId = `${id}-hint`;
    const wrap = h("div", { class: ["field", field.full && "field-full", `field-${field.type || "text"}`], dataset: { field: field.name || "" } });
    const describedBy = [field.hint ? hintId : null, errorId].filter(Boolean).join(" ");
    let control;
    const current = values[field.name];
    const common = { id, name: field.name, "aria-describedby": describedBy, required: field.required };

    switch (field.type) {
      case "custom":
        wrap.append(field.render({ values: () => values, onChange: (fn) => listeners.push(fn), set: changed, id }));
        // A named custom field takes part in values and shows its own errors.
        if (!field.name) return wrap;
        wrap.append(h("p", { class: "field-error", id: errorId, hidden: true }));
        controls.set(field.name, { field, wrap, control: null });
        return wrap;
      case "textarea":
        control = h("textarea", { ...common, rows: field.rows || 4, placeholder: field.placeholder, class: field.mono && "mono", spellcheck: field.mono ? "false" : undefined }, current ?? "");
        control.addEventListener("input", () => changed(field.name, control.value));
        break;
      case "select":
        control = h("select", { ...common },
          field.options.map(([value, label]) => h("option", { value, selected: String(value) === String(current ?? "") }, label)));
        control.addEventListener("change", () => changed(field.name, optionValue(field, control.value)));
        if (current === undefined && field.options.length) values[field.name] = optionValue(field, field.options[0][0]);
        break;
      case "segmented": {
        control = h("div", { class: "segmented", role: "radiogroup", "aria-labelledby": `${id}-label` });
        for (const [value, label] of field.options) {
          const optionId = nextId("seg");
          const input = h("input", { type: "radio", id: optionId, name: id, value, checked: String(value) === String(current) });
          input.addEventListener("change", () => changed(field.name, optionValue(field, value)));
          control.append(input, h("label", { for: optionId }, label));
        }
        wrap.append(h("span", { class: "label", id: `${id}-label` }, field.label), control);
        break;
      }
      case "switch":
        control = h("input", { ...common, type: "checkbox", role: "switch", checked: Number(current) === 1 });
        control.addEventListener("change", () => changed(field.name, control.checked ? 1 : 0));
        wrap.append(h("label", { class: "switch", for: id }, control, h("span", { class: "switch-track", "aria-hidden": "true" }), h("span", null, field.label)));
        break;
      case "checkboxes":
        control = h("fieldset", { class: "checkboxes" }, h("legend", { class: "label" }, field.label),
          field.options.length ? field.options.map(([value, label]) => {
            const cid = nextId("chk");
            const input = h("input", { type: "checkbox", id: cid, value, checked: (current || []).map(String).includes(String(value)) });
            input.addEventListener("change", () => {
              const set = new Set((values[field.name] || []).map(String));
              if (input.checked) set.add(String(value));
              else set.delete(String(value));
              changed(field.name, [...set]);
            });
            return h("label", { class: "check", for: cid }, input, h("span", null, label));
          }) : h("p", { class: "muted" }, field.emptyText || "Nothing to choose from."));
        wrap.append(control);
        break;
      default: {
        const type = field.type === "number" ? "number" : field.type === "password" ? "password" : field.type === "url" ? "url" : "text";
        control = h("input", {
          ...common,
          type,
          value: current ?? "",
          placeholder: field.placeholder,
          autocomplete: field.autocomplete || (field.type === "secret" || field.type === "password" ? "new-password" : "off"),
          spellcheck: field.mono || field.type === "secret" ? "false" : undefined,
          inputmode: field.inputmode,
          class: [field.mono && "mono", field.type === "secret" && "secret"],
          min: field.min,
          max: field.max,
        });
        control.addEventListener("input", () => changed(field.name, field.type === "number" ? (control.value === "" ? "" : Number(control.value)) : control.value));
        if (field.type === "secret") {
          // A masked secret (****ab12) sent back unchanged keeps the stored one.
          control.addEventListener("focus", () => {
            if (String(control.value).startsWith("****")) control.select();
          });
        }
      }
    }

    if (!["segmented", "switch", "checkboxes"].includes(field.type)) {
      const label = h("label", { for: id, class: "label" }, field.label, field.required ? h("span", { class: "req", "aria-hidden": "true" }, " *") : null);
      const row = field.after ? h("div", { class: "input-row" }, control, field.after(control)) : control;
      wrap.append(label, row);
    }
    if (field.maxBytes) {
      const counter = h("span", { class: "counter", "aria-live": "polite" });
      const update = () => {
        const limit = typeof field.maxBytes === "function" ? field.maxBytes(values) : field.maxBytes;
        const used = byteLength(values[field.name] || "");
        counter.textContent = `${used} / ${limit} bytes`;
        counter.classList.toggle("over", used > limit);
      };
      listeners.push(update);
      update();
      wrap.append(counter);
    }
    if (field.hint) {
      const hint = h("p", { class: "hint", id: hintId });
      const update = () => { hint.textContent = typeof field.hint === "function" ? field.hint(values) : field.hint; };
      if (typeof field.hint === "function") listeners.push(update);
      update();
      wrap.append(hint);
    }
    wrap.append(h("p", { class: "field-error", id: errorId, hidden: true }));
    controls.set(field.name, { field, wrap, control });
    return wrap;
  }

  const toggles = [];
  function renderItems(list, parent) {
    for (const item of list) {
      if (item.section) {
        const grid = h("div", { class: "form-grid" });
        const section = item.collapsible
          ? h("details", { class: "form-section", open: item.open }, h("summary", null, h("span", null, item.section), item.summary ? h("span", { class: "muted" }, item.summary) : null), item.intro ? h("p", { class: "hint" }, item.intro) : null, grid)
          : h("fieldset", { class: "form-section" }, h("legend", null, item.section), item.intro ? h("p", { class: "hint" }, item.intro) : null, grid);
        renderItems(item.fields, grid);
        parent.append(section);
        if (item.show) toggles.push(() => { section.hidden = !item.show(values); });
      } else {
        const wrap = renderField(item);
        parent.append(wrap);
        if (item.show) toggles.push(() => { wrap.hidden = !item.show(values); });
      }
    }
  }
  const grid = h("div", { class: "form-grid" });
  renderItems(items, grid);
  form.append(grid);
  const applyToggles = () => toggles.forEach((fn) => fn());
  listeners.push(applyToggles);
  applyToggles();

  const visibleNames = () => [...controls.entries()].filter(([, c]) => !c.wrap.closest("[hidden]")).map(([name]) => name);

  return {
    el: form,
    /** Values of the fields shown now (hidden fields are left out). */
    values() {
      const out = {};
      for (const name of visibleNames()) if (name !== undefined && values[name] !== undefined) out[name] = values[name];
      return out;
    },
    allValues: () => values,
    onChange: (fn) => listeners.push(fn),
    clearErrors() {
      formAlert.hidden = true;
      for (const { wrap } of controls.values()) {
        wrap.classList.remove("has-error");
        const err = wrap.querySelector(":scope > .field-error");
        if (err) { err.hidden = true; err.textContent = ""; }
        const input = wrap.querySelector("input, select, textarea");
        if (input) input.removeAttribute("aria-invalid");
      }
    },
    /** Shows field errors; those of fields not on the form go to the top. */
    setErrors(fields, message) {
      const shown = visibleNames();
      const loose = [];
      let first = null;
      for (const [name, reason] of Object.entries(fields || {})) {
        const c = controls.get(name);
        if (!c || !shown.includes(name)) {
          loose.push(`${name} ${reason}`);
          continue;
        }
        c.wrap.classList.add("has-error");
        const err = c.wrap.querySelector(":scope > .field-error");
        err.textContent = `${c.field.label} ${reason}`;
        err.hidden = false;
        const input = c.wrap.querySelector("input, select, textarea");
        if (input) input.setAttribute("aria-invalid", "true");
        if (!first) first = input;
      }
      if (loose.length || (message && !first)) {
        formAlert.textContent = loose.length ? loose.join("; ") : message;
        formAlert.hidden = false;
      }
      const section = first && first.closest("details");
      if (section) section.open = true;
      (first || formAlert).focus?.();
      if (first) first.scrollIntoView({ block: "center", behavior: "smooth" });
    },
    showError(message) {
      formAlert.textContent = message;
      formAlert.hidden = false;
      formAlert.scrollIntoView({ block: "nearest" });
    },
  };
}

/**
 * A form in a dialog. `submit(values)` saves; a 422 puts its field errors
 * next to the fields and keeps the dialog open. Resolves with what `submit`
 * returned, or undefined when cancelled.
 */
export function formDialog({ title, fields, values, submit, submitLabel = "Save", wide = false, intro }) {
  const form = buildForm(fields, values);
  return openModal({
    title,
    wide,
    body: [intro ? h("p", { class: "modal-intro" }, intro) : null, form.el],
    footer: (close) => {
      form.el.id = nextId("form");
      // Associated by id, so Enter in a field submits and the click submits once.
      const save = button(submitLabel, { kind: "btn-primary", type: "submit", attrs: { form: form.el.id } });
      const run = async (event) => {
        event.preventDefault();
        form.clearErrors();
        save.disabled = true;
        save.classList.add("busy");
        try {
          const result = await submit(form.values(), form);
          close(result ?? true);
        } catch (error) {
          if (error instanceof ApiError) {
            if (error.status === 401) { close(undefined); return; }
            if (error.fields) form.setErrors(error.fields, error.message);
            else form.showError(error.message);
          } else {
            console.error(error);
            form.showError("Something went wrong in the page; the details are in the browser console.");
          }
        } finally {
          save.disabled = false;
          save.classList.remove("busy");
        }
      };
      form.el.addEventListener("submit", run);
      return [button("Cancel", { kind: "btn-secondary", onClick: () => close(undefined) }), save];
    },
    onOpen: (dialog) => {
      const first = dialog.querySelector(".modal-body input:not([type=hidden]):not([disabled]), .modal-body select, .modal-body textarea");
      if (first) first.focus();
    },
  });
}

/** Runs `fn`; shows an ApiError in a toast. Returns whether it succeeded. */
export async function attempt(fn, toastFn) {
  try {
    await fn();
    return true;
  } catch (error) {
    if (!(error instanceof ApiError)) console.error(error);
    else if (error.status !== 401) toastFn(error.message, "error");
    return false;
  }
}
