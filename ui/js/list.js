// The paged, filtered list every list page uses: filters and paging kept in
// the URL, with loading / empty / error states.

import { t } from "./i18n/index.js";
import { h, append, clear, icon, button, debounce, nextId } from "./dom.js";
import { ApiError } from "./api.js";
import { loadingState, errorState, emptyState } from "./states.js";

/** Local-day bounds of a YYYY-MM-DD, as RFC 3339 for the API. */
function dayBound(value, end) {
  const [y, m, d] = value.split("-").map(Number);
  if (!y || !m || !d) return value;
  const date = end ? new Date(y, m - 1, d, 23, 59, 59, 999) : new Date(y, m - 1, d);
  return date.toISOString();
}

/**
 * A typed day as YYYY-MM-DD ("2024-5-7", "2024/05/07" and "20240507" too),
 * "" for an empty field, or null when it is not a real day.
 */
export function parseDay(text) {
  const value = String(text || "").trim();
  if (!value) return "";
  const match = value.match(/^(\d{4})[-/.]?(\d{1,2})[-/.]?(\d{1,2})$/);
  if (!match) return null;
  const [y, m, d] = match.slice(1).map(Number);
  const date = new Date(y, m - 1, d);
  if (date.getFullYear() !== y || date.getMonth() !== m - 1 || date.getDate() !== d) return null;
  return `${y}-${String(m).padStart(2, "0")}-${String(d).padStart(2, "0")}`;
}

/**
 * A day field that reads and shows YYYY-MM-DD whatever the browser's locale
 * (a native date input shows mm/dd/yyyy in English browsers).
 */
function dayInput({ id, value, label, onDay }) {
  const input = h("input", {
    id,
    type: "text",
    class: "day-input mono",
    value,
    placeholder: t("list.day_placeholder"),
    inputmode: "numeric",
    autocomplete: "off",
    maxlength: 10,
    "aria-label": label,
    title: t("list.day_hint"),
  });
  input.addEventListener("change", () => {
    const day = parseDay(input.value);
    if (day === null) {
      input.setAttribute("aria-invalid", "true");
      input.title = t("list.day_invalid");
      return;
    }
    input.removeAttribute("aria-invalid");
    input.title = t("list.day_hint");
    input.value = day;
    onDay(day);
  });
  return input;
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

  const root = h("section", { class: "list", "aria-label": caption || t("list.list") });
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
          h("option", { value: "" }, f.all || t("list.all")),
          f.options.map(([value, label]) => h("option", { value, selected: String(value) === state.filters[f.name] }, label)));
        bar.append(h("div", { class: "filter filter-extra" }, h("label", { for: id }, f.label), select));
      } else if (f.type === "daterange") {
        const startId = nextId("flt");
        bar.append(h("div", { class: "filter filter-dates filter-extra" },
          h("label", { for: startId }, f.label || t("list.created")),
          h("div", { class: "date-range" },
            dayInput({ id: startId, value: state.filters.start, label: t("list.from_date"), onDay: (day) => { state.filters.start = day; apply(); } }),
            h("span", { class: "muted", "aria-hidden": "true" }, "–"),
            dayInput({ id: nextId("flt"), value: state.filters.end, label: t("list.to_date"), onDay: (day) => { state.filters.end = day; apply(); } }))));
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
        button(t("list.reset"), { kind: "btn-ghost", onClick: reset, attrs: { "data-role": "reset-filters" } })));
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
      slot.replaceChildren(button(count ? t("list.filters_n", { count }) : t("list.filters"), {
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
        body.append(emptyState({ icon: "search", title: t("list.no_match"), hint: t("list.no_match_hint"), action: button(t("list.reset_filters"), { kind: "btn-secondary", onClick: reset }) }));
      } else {
        body.append(emptyState(empty || { title: t("list.empty") }));
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
          rowActions ? h("th", { scope: "col", class: "col-actions" }, h("span", { class: "visually-hidden" }, t("list.actions"))) : null)),
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
      h("p", { class: "list-count" }, t("list.count", { first, last, total: data.total })),
      h("div", { class: "pager" },
        h("label", { for: sizeId, class: "muted" }, t("list.rows")),
        h("select", { id: sizeId, class: "select-sm", onchange: (e) => { state.page_size = Number(e.target.value); apply(); } },
          pageSizes.map((n) => h("option", { value: n, selected: n === state.page_size }, String(n)))),
        button(t("list.prev_page"), { icon: "left", iconOnly: true, kind: "btn-secondary", disabled: state.page <= 1, onClick: () => { state.page -= 1; refresh(); } }),
        h("span", { class: "pager-pos" }, t("list.page_of", { page: state.page, pages })),
        button(t("list.next_page"), { icon: "right", iconOnly: true, kind: "btn-secondary", disabled: state.page >= pages, onClick: () => { state.page += 1; refresh(); } })),
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
