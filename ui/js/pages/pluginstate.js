// A plugin's state, for admins: the live values of one plugin (by account,
// scope, fan and key prefix), a page at a time, exported as JSON or CSV, and
// a key deleted. Expired values are not shown: plugins no longer see them.

import { t } from "../i18n/index.js";
import { h, button, toast, timeEl, clear, confirmDialog, truncate } from "../dom.js";
import { api, blobUrl, ApiError } from "../api.js";
import { loadingState, errorState, emptyState } from "../states.js";
import { showActionError } from "./common.js";

const PAGE_SIZE = 20;

/** The state panel; `refresh(plugins)` fills its plugin picker. */
export function statePanel(ctx) {
  const filters = { plugin: "", scope: "", openid: "", key_prefix: "" };
  let page = 1;
  const pluginSelect = h("select", { id: "state-plugin", name: "plugin" });
  const scopeSelect = h("select", { id: "state-scope", name: "scope" },
    h("option", { value: "" }, t("pstate.scope_all")),
    h("option", { value: "account" }, t("pstate.scope_account")),
    h("option", { value: "fan" }, t("pstate.scope_fan")));
  const openidInput = h("input", { id: "state-openid", name: "openid", class: "mono", placeholder: "o…" });
  const prefixInput = h("input", { id: "state-prefix", name: "key_prefix", class: "mono", placeholder: t("pstate.prefix_placeholder") });
  const body = h("div", { class: "state-body", "aria-live": "polite" });
  const pager = h("div", { class: "list-footer" });

  const query = () => {
    const q = { plugin: filters.plugin, scope: filters.scope, openid: filters.openid, key_prefix: filters.key_prefix };
    if (ctx.account) q.account_id = ctx.account;
    return q;
  };

  async function load() {
    clear(pager);
    if (!filters.plugin) {
      clear(body).append(emptyState({ icon: "plugin", title: t("pstate.pick_plugin") }));
      return;
    }
    clear(body).append(loadingState(t("pstate.loading")));
    try {
      const data = await api.get("/wechat/plugins/state/list", { ...query(), page, page_size: PAGE_SIZE });
      clear(body);
      if (!data.list.length) {
        body.append(emptyState({ icon: "inbox", title: t("pstate.empty"), hint: t("pstate.empty_hint") }));
        return;
      }
      body.append(table(data.list));
      const pages = Math.max(1, Math.ceil(data.total / PAGE_SIZE));
      pager.append(
        h("span", { class: "muted", dataset: { role: "state-total" } }, t("pstate.total", { n: data.total })),
        button(t("pstate.previous"), { kind: "btn-ghost btn-sm", disabled: page <= 1, onClick: () => { page -= 1; load(); } }),
        h("span", { class: "muted" }, t("pstate.page_of", { page, pages })),
        button(t("pstate.next"), { kind: "btn-ghost btn-sm", disabled: page >= pages, onClick: () => { page += 1; load(); } }));
    } catch (error) {
      if (!(error instanceof ApiError)) console.error(error);
      if (error instanceof ApiError && error.status === 401) return;
      clear(body).append(errorState(error.message, load));
    }
  }

  function table(rows) {
    return h("div", { class: "table-wrap" }, h("table", { class: "table", dataset: { role: "state-table" } },
      h("thead", null, h("tr", null,
        ...[t("pstate.key"), t("pstate.scope"), t("pstate.value"), t("pstate.expires"), t("pstate.updated"), ""].map((c) => h("th", { scope: "col" }, c)))),
      h("tbody", null, ...rows.map((row) => h("tr", { dataset: { key: row.key, openid: row.openid } },
        h("td", { class: "mono" }, row.key),
        h("td", null, row.scope === "fan" ? h("span", { class: "mono" }, row.openid) : t("pstate.scope_account")),
        h("td", { class: "mono", title: JSON.stringify(row.value) }, truncate(JSON.stringify(row.value), 80)),
        h("td", null, row.expires_at ? timeEl(row.expires_at) : t("pstate.never")),
        h("td", null, timeEl(row.updated_at, { relative: true })),
        h("td", null, button(t("common.delete"), { icon: "trash", kind: "btn-ghost btn-sm", iconOnly: true, attrs: { "data-action": "delete-state" }, onClick: () => remove(row) })))))));
  }

  async function remove(row) {
    const ok = await confirmDialog({ title: t("pstate.delete_title"), message: t("pstate.delete_message", { key: row.key }) });
    if (!ok) return;
    try {
      await api.del("/wechat/plugins/state/del", { plugin: row.plugin, account_id: row.account_id, openid: row.openid, key: row.key });
      toast(t("pstate.deleted", { key: row.key }));
      await load();
    } catch (error) {
      await showActionError(t("pstate.delete_failed"), error);
    }
  }

  async function download(format) {
    if (!filters.plugin) return;
    try {
      const url = await blobUrl("/wechat/plugins/state/export", Object.fromEntries(Object.entries({ ...query(), format }).filter(([, v]) => v)));
      const link = h("a", { href: url, download: `${filters.plugin}-state.${format}` });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
    } catch (error) {
      await showActionError(t("pstate.export_failed"), error);
    }
  }

  const form = h("form", { class: "filter-bar", role: "search", id: "state-filters", onsubmit: (e) => {
    e.preventDefault();
    Object.assign(filters, { plugin: pluginSelect.value, scope: scopeSelect.value, openid: openidInput.value.trim(), key_prefix: prefixInput.value.trim() });
    page = 1;
    load();
  } },
  h("div", { class: "filter" }, h("label", { for: "state-plugin" }, t("pstate.plugin")), pluginSelect),
  h("div", { class: "filter" }, h("label", { for: "state-scope" }, t("pstate.scope")), scopeSelect),
  h("div", { class: "filter" }, h("label", { for: "state-openid" }, t("pstate.openid")), openidInput),
  h("div", { class: "filter" }, h("label", { for: "state-prefix" }, t("pstate.prefix")), prefixInput),
  button(t("pstate.show"), { kind: "btn-secondary", type: "submit", attrs: { "data-action": "show-state" } }));

  const el = h("section", { class: "panel plugin-state", id: "plugin-state", "aria-labelledby": "plugin-state-title" },
    h("div", { class: "panel-head" }, h("h2", { id: "plugin-state-title" }, t("pstate.title")),
      h("div", { class: "page-actions" },
        button(t("pstate.export_json"), { icon: "download", kind: "btn-ghost btn-sm", attrs: { "data-action": "export-state-json" }, onClick: () => download("json") }),
        button(t("pstate.export_csv"), { icon: "download", kind: "btn-ghost btn-sm", attrs: { "data-action": "export-state-csv" }, onClick: () => download("csv") }))),
    h("div", { class: "panel-body" },
      h("p", { class: "hint" }, t("pstate.intro")), form, body, pager));

  function refresh(plugins) {
    const current = pluginSelect.value;
    clear(pluginSelect).append(h("option", { value: "" }, t("pstate.choose")),
      ...plugins.map((p) => h("option", { value: p.name, selected: p.name === current }, p.name)));
    if (!filters.plugin) load();
  }

  return { el, refresh };
}
