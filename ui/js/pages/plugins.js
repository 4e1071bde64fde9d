// Plugins: the Rhai scripts in the plugins folder, their health, a switch per
// account, a dry run that shows what the chain (or one plugin) would
// answer, without storing anything, and (for admins) each plugin's state.

import { t } from "../i18n/index.js";
import { h, icon, badge, button, toast, timeEl, clear } from "../dom.js";
import { api, ApiError } from "../api.js";
import { pageHeader, loadingState, errorState, emptyState } from "../states.js";
import { buildForm, formDialog } from "../form.js";
import { noAccounts, busy, showActionError, accountField, defaultAccount } from "./common.js";
import { resultView, materialLookup, number } from "./dryrun.js";
import { statePanel } from "./pluginstate.js";
import { openEditor } from "./plugineditor.js";
import { askDiscard } from "../guard.js";

const STATUS = { active: [t("plugins.status.active"), "green"], disabled: [t("plugins.status.disabled"), ""], failed: [t("plugins.status.failed"), "red"], stale: [t("plugins.status.stale"), "amber"] };
const EVENTS = ["subscribe", "unsubscribe", "CLICK", "VIEW", "SCAN", "LOCATION", "scancode_push", "scancode_waitmsg"]
  .map((e) => [e, t(`plugins.event.${e}`)]);

function position(e) {
  return [e.file, e.line, e.column].filter((x) => x !== null && x !== undefined && x !== "").join(":");
}

export async function render(ctx) {
  const header = pageHeader(t("nav.plugins"), t("plugins.subtitle"));
  ctx.main.append(header);
  const missing = noAccounts(ctx, t("plugins.what"));
  const accountId = ctx.account || (ctx.accounts.length === 1 ? ctx.accounts[0].id : "");
  const account = accountId ? ctx.accountById(accountId) : null;

  const listHost = h("div", { class: "plugin-list", "aria-live": "polite" }, loadingState(t("plugins.loading")));
  const dirNote = h("p", { class: "hint plugin-dir" });
  const state = { plugins: [] };
  // The editor (admins), above the list and the dry-run box.
  const editorHost = h("div", { class: "plugin-editor-host" });
  let editor = null;
  async function edit(name) {
    if (editor && editor.dirty() && !(await askDiscard())) return;
    if (editor) editor.close();
    editor = await openEditor({
      host: editorHost,
      name,
      accountId,
      onSaved: () => load(),
      onDeleted: () => load(),
      dryRun: (n) => dryRunFor(n),
      onClose: () => { editor = null; },
    });
  }
  /** Creates a plugin from the starter (off for every account) and opens it. */
  async function create() {
    const created = await formDialog({
      title: t("editor.new_title"),
      intro: t("editor.new_intro"),
      fields: [{ name: "name", label: t("editor.new_name"), required: true, mono: true, placeholder: "my_plugin", maxChars: 64, hint: t("editor.new_name_hint") }],
      values: {},
      submitLabel: t("editor.create"),
      submit: (v) => api.post("/wechat/plugins/create", { name: (v.name || "").trim() }),
    });
    if (!created) return;
    toast(t("editor.created_toast", { name: created.name }), "success");
    await load();
    await edit(created.name);
  }
  // Admins only: the state routes refuse operators.
  const stateView = ctx.isAdmin ? statePanel(ctx) : null;

  const reload = button(t("plugins.reload"), {
    icon: "refresh",
    kind: "btn-secondary",
    disabled: !ctx.isAdmin,
    title: ctx.isAdmin ? t("plugins.reload_title") : t("plugins.reload_admin_only"),
    attrs: { "data-action": "reload-plugins" },
    onClick: async (event) => {
      const r = await busy(event.currentTarget, () => api.post("/wechat/plugins/reload"), t("plugins.reload_failed"));
      if (!r) return;
      const parts = [t("plugins.n_loaded", { n: r.loaded.length })];
      if (r.removed.length) parts.push(t("plugins.n_removed", { n: r.removed.length }));
      if (r.failed.length) parts.push(t("plugins.n_failed", { n: r.failed.length }));
      toast(t("plugins.reloaded", { parts: parts.join(t("list.sep")) }), r.failed.length ? "error" : "success");
      await load();
    },
  });
  header.querySelector(".page-actions").append(
    button(t("plugins.refresh"), { icon: "refresh", kind: "btn-ghost", iconOnly: true, onClick: () => load() }),
    reload,
    ctx.isAdmin ? button(t("editor.new"), { icon: "plus", kind: "btn-primary", attrs: { "data-action": "new-plugin" }, onClick: () => create() }) : null);

  async function toggle(plugin, input) {
    const enable = input.checked;
    input.disabled = true;
    try {
      await api.post(`/wechat/plugins/${enable ? "enable" : "disable"}`, { plugin: plugin.name, account_id: accountId });
      toast(t(enable ? "plugins.now_on" : "plugins.now_off", { name: plugin.name, account: ctx.accountLabel(accountId) }));
      const [on, off] = [new Set(plugin.enabled_accounts), new Set(plugin.disabled_accounts)];
      (enable ? on : off).add(accountId);
      (enable ? off : on).delete(accountId);
      plugin.enabled_accounts = [...on];
      plugin.disabled_accounts = [...off];
    } catch (error) {
      input.checked = !enable;
      await showActionError(t(enable ? "plugins.switch_on_failed" : "plugins.switch_off_failed", { name: plugin.name }), error);
    } finally {
      input.disabled = false;
    }
  }

  function accountSwitch(plugin) {
    if (plugin.status === "failed") return null;
    if (!account) {
      return h("p", { class: "hint" }, t("plugins.pick_account"));
    }
    const id = `plugin-on-${plugin.name.replace(/[^A-Za-z0-9_-]/g, "_")}`;
    // An opt-in plugin (the shipped examples) is off until switched on for the account.
    const on = plugin.opt_in ? plugin.enabled_accounts.includes(accountId) : !plugin.disabled_accounts.includes(accountId);
    const input = h("input", { type: "checkbox", role: "switch", id, checked: on, dataset: { plugin: plugin.name } });
    input.addEventListener("change", () => toggle(plugin, input));
    const limited = plugin.accounts.length && !plugin.accounts.includes(account.app_id);
    return h("div", { class: "plugin-switch" },
      h("label", { class: "switch", for: id }, input, h("span", { class: "switch-track", "aria-hidden": "true" }),
        h("span", null, t("plugins.on_for", { account: account.account_name || account.app_id }))),
      limited ? h("p", { class: "hint" }, t("plugins.limited", { accounts: plugin.accounts.join(", ") })) : null,
      plugin.opt_in ? h("p", { class: "hint", dataset: { role: "opt-in" } }, t("plugins.opt_in")) : null);
  }

  function card(p) {
    const [label, tone] = STATUS[p.status] || [p.status, ""];
    const handles = [
      p.messages.length ? t("plugins.handles_messages", { list: p.messages.join(", ") }) : null,
      p.events.length ? t("plugins.handles_events", { list: p.events.join(", ") }) : null,
    ].filter(Boolean).join(" · ");
    return h("article", { class: ["panel", "plugin-card", `plugin-${p.status}`], dataset: { plugin: p.name } },
      h("div", { class: "plugin-head" },
        h("span", { class: "tile-icon" }, icon("plugin")),
        h("div", { class: "cell-stack plugin-title" },
          h("h2", null, p.name, " ", badge(label, tone)),
          h("span", { class: "cell-sub mono" }, p.file)),
        accountSwitch(p)),
      p.description ? h("p", { class: "plugin-desc" }, p.description) : null,
      h("dl", { class: "plugin-stats" },
        h("div", null, h("dt", null, t("rules.priority")), h("dd", null, p.priority === null || p.priority === undefined ? "—" : String(p.priority))),
        h("div", null, h("dt", null, t("plugins.calls")), h("dd", { dataset: { stat: "calls" } }, number(p.calls))),
        h("div", null, h("dt", null, t("plugins.errors")), h("dd", { class: p.errors ? "stat-bad" : null, dataset: { stat: "errors" } }, number(p.errors))),
        h("div", null, h("dt", null, t("plugins.mean_run")), h("dd", null, `${number(p.mean_run_ms, 2)} ms`)),
        h("div", null, h("dt", null, t("plugins.loaded")), h("dd", null, timeEl(p.loaded_at, { relative: true })))),
      handles ? h("p", { class: "hint" }, t("plugins.handles", { what: handles })) : null,
      (p.schedules || []).length
        ? h("p", { class: "hint", dataset: { role: "schedules" } }, t("plugins.schedules", {
          list: p.schedules.map((s) => t("plugins.schedule_item", { name: s.name, cron: s.cron })).join(t("list.sep")),
        }))
        : null,
      p.compile_error
        ? h("div", { class: "alert alert-error plugin-error", role: "alert", dataset: { role: "compile-error" } }, icon("alert"),
          h("div", { class: "alert-text" },
            h("p", null, p.status === "failed" ? t("plugins.does_not_compile") : t("plugins.previous_runs"),
              h("code", null, position(p.compile_error))),
            h("p", { class: "pre" }, p.compile_error.message)))
        : null,
      p.last_error
        ? h("div", { class: "alert alert-warn plugin-error" }, icon("alert"),
          h("div", { class: "alert-text" }, h("p", null, t("plugins.last_runtime_error"), p.last_error_at ? timeEl(p.last_error_at, { relative: true }) : null), h("p", { class: "pre" }, p.last_error)))
        : null,
      h("div", { class: "plugin-foot" },
        p.status === "failed" ? null : button(t("plugins.dry_run"), { icon: "play", kind: "btn-secondary btn-sm", attrs: { "data-action": "dry-run-plugin" }, onClick: () => dryRunFor(p.name) }),
        ctx.isAdmin ? button(t("editor.edit"), { icon: "edit", kind: "btn-secondary btn-sm", attrs: { "data-action": "edit-plugin" }, onClick: () => edit(p.name) }) : null));
  }

  async function load() {
    try {
      const data = await api.get("/wechat/plugins/list");
      state.plugins = data.list;
      dirNote.textContent = t("plugins.folder", { dir: data.dir });
      clear(listHost);
      if (!data.list.length) {
        listHost.append(h("div", { class: "panel" }, emptyState({ icon: "plugin", title: t("plugins.empty"), hint: t("plugins.empty_hint", { dir: data.dir }) })));
      } else {
        const failing = data.list.filter((p) => p.compile_error).length;
        if (failing) listHost.append(h("p", { class: "notice notice-error" }, icon("alert"), h("span", null, t(failing === 1 ? "plugins.failing_one" : "plugins.failing", { n: failing }))));
        listHost.append(...data.list.map(card));
      }
      fillPluginOptions();
      if (stateView) stateView.refresh(data.list);
    } catch (error) {
      if (!(error instanceof ApiError)) console.error(error);
      if (error instanceof ApiError && error.status === 401) return;
      clear(listHost).append(h("div", { class: "panel" }, errorState(error.message, load)));
    }
  }

  // ---- dry run -----------------------------------------------------------------

  const result = h("div", { class: "dry-output", "aria-live": "polite" });
  const form = buildForm([
    ...(accountId || ctx.accounts.length <= 1 ? [] : [accountField(ctx)]),
    { name: "plugin", label: t("plugins.run_label"), type: "select", full: true, options: [["", t("plugins.whole_chain")]] },
    { name: "kind", label: t("plugins.message"), type: "segmented", options: [["text", t("msgtype.text")], ["event", t("msgtype.event")]], full: true },
    { name: "text", label: t("plugins.text_sent"), type: "textarea", rows: 2, full: true, show: (v) => v.kind === "text", placeholder: t("plugins.text_placeholder") },
    { name: "event", label: t("msgtype.event"), type: "select", options: EVENTS, show: (v) => v.kind === "event" },
    { name: "event_key", label: t("plugins.event_key"), mono: true, show: (v) => v.kind === "event", placeholder: t("try.menu_key_placeholder") },
    { name: "openid", label: t("plugins.openid"), mono: true, full: true, placeholder: "o_dry_run", hint: t("plugins.openid_hint") },
  ], { account_id: defaultAccount(ctx), kind: "text", event: "subscribe" });
  form.el.id = "dry-run-form";
  const run = button(t("plugins.run"), { icon: "play", kind: "btn-primary", type: "submit", attrs: { form: "dry-run-form", "data-action": "dry-run" } });
  form.el.addEventListener("submit", async (event) => {
    event.preventDefault();
    form.clearErrors();
    const v = form.values();
    const body = { account_id: v.account_id || accountId || defaultAccount(ctx) };
    if (v.plugin) body.plugin = v.plugin;
    if (v.openid && v.openid.trim()) body.openid = v.openid.trim();
    if (v.kind === "event") {
      body.event = v.event;
      if (v.event_key) body.event_key = v.event_key;
    } else {
      if (!(v.text || "").trim()) {
        form.setErrors({ text: t("reason.required") });
        return;
      }
      body.text = v.text;
    }
    run.disabled = true;
    run.classList.add("busy");
    try {
      const r = await api.post("/wechat/plugins/test", body);
      clear(result).append(resultView(r, { lookup: materialLookup(body.account_id) }));
      result.scrollIntoView({ block: "nearest", behavior: "smooth" });
    } catch (error) {
      if (!(error instanceof ApiError)) console.error(error);
      else if (error.status !== 401) {
        if (error.fields) form.setErrors(error.fields, error.message);
        else form.showError(error.message);
      }
    } finally {
      run.disabled = false;
      run.classList.remove("busy");
    }
  });

  function fillPluginOptions() {
    const select = form.el.querySelector("[data-field=plugin] select");
    if (!select) return;
    const current = select.value;
    clear(select).append(h("option", { value: "" }, t("plugins.whole_chain")),
      ...state.plugins.filter((p) => p.status !== "failed").map((p) => h("option", { value: p.name, selected: p.name === current }, t("plugins.only", { name: p.name }))));
  }

  function dryRunFor(name) {
    const select = form.el.querySelector("[data-field=plugin] select");
    if (select) {
      select.value = name;
      select.dispatchEvent(new Event("change"));
    }
    const panel = document.getElementById("dry-run");
    if (!panel) return;
    panel.scrollIntoView({ block: "start", behavior: "smooth" });
    const field = form.el.querySelector("textarea, [data-field=event] select");
    if (field) field.focus({ preventScroll: true });
  }

  const dry = h("section", { class: "panel dry-run", id: "dry-run", "aria-labelledby": "dry-run-title" },
    h("div", { class: "panel-head" }, h("h2", { id: "dry-run-title" }, t("plugins.dry_run")), run),
    h("div", { class: "panel-body" },
      h("p", { class: "hint dry-intro" }, t("plugins.dry_intro", { account: account ? account.account_name || account.app_id : t("plugins.an_account") })),
      form.el, result));

  ctx.main.append(editorHost);
  if (missing) {
    ctx.main.append(h("div", { class: "plugins-layout" }, h("div", { class: "plugin-col" }, dirNote, listHost), missing));
  } else {
    ctx.main.append(h("div", { class: "plugins-layout" }, h("div", { class: "plugin-col" }, dirNote, listHost), dry));
  }
  if (stateView) ctx.main.append(stateView.el);
  await load();
}
