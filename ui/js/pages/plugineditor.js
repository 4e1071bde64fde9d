// The plugin editor (admins): the plugin's file in a monospace textarea with
// line numbers, "check" (compile without saving) and "save" (compile, write,
// reload), "run tests" (the plugin's test file against the saved file); a
// compile error shows at its line and column, the line marked in the gutter.
// Below it the plugin's settings form for the chosen account.
// Unsaved text is guarded like the other forms.

import { t } from "../i18n/index.js";
import { h, icon, button, toast, clear, confirmDialog } from "../dom.js";
import { api, ApiError } from "../api.js";
import { guardUnsaved, askDiscard } from "../guard.js";
import { buildForm } from "../form.js";

/** The textarea with a gutter of line numbers kept in step with it. */
function codeArea(text) {
  const gutter = h("div", { class: "code-gutter", "aria-hidden": "true", dataset: { role: "gutter" } });
  const area = h("textarea", { class: "code-text mono", spellcheck: "false", wrap: "off", rows: 22, "aria-label": t("editor.source"), dataset: { role: "source" } });
  area.value = text;
  let marked = null;
  const lines = () => area.value.split("\n").length;
  function renumber() {
    const n = lines();
    if (gutter.childElementCount !== n) {
      clear(gutter);
      for (let i = 1; i <= n; i += 1) gutter.append(h("div", { class: i === marked ? "code-line is-error" : "code-line", dataset: { line: String(i) } }, String(i)));
    }
    gutter.scrollTop = area.scrollTop;
  }
  area.addEventListener("input", renumber);
  area.addEventListener("scroll", () => { gutter.scrollTop = area.scrollTop; });
  renumber();
  return {
    el: h("div", { class: "code-editor" }, gutter, area),
    area,
    /** Marks `line` (1-based) in the gutter, or none. */
    mark(line) {
      marked = line || null;
      for (const row of gutter.children) row.classList.toggle("is-error", Number(row.dataset.line) === marked);
    },
    /** Puts the caret at line:column and scrolls there. */
    goTo(line, column) {
      const rows = area.value.split("\n");
      let offset = 0;
      for (let i = 0; i < Math.min(line - 1, rows.length); i += 1) offset += rows[i].length + 1;
      offset += Math.max(0, (column || 1) - 1);
      area.focus({ preventScroll: true });
      area.setSelectionRange(offset, offset);
      const lineHeight = parseFloat(getComputedStyle(area).lineHeight) || 20;
      area.scrollTop = Math.max(0, (line - 3) * lineHeight);
      gutter.scrollTop = area.scrollTop;
    },
  };
}

/** What a run of the plugin's test file gave: a line per case, failures spelled out. */
function testResults(r) {
  if (!r.cases.length) return h("p", { class: "hint", dataset: { role: "no-tests" } }, t("editor.no_tests", { file: r.test_file }));
  const summary = r.failed
    ? h("p", { class: "notice notice-warn", dataset: { role: "tests-summary" } }, icon("alert"), h("span", null, t("editor.tests_failed", { passed: r.passed, failed: r.failed })))
    : h("p", { class: "notice notice-ok", dataset: { role: "tests-summary" } }, icon("check"), h("span", null, t("editor.tests_passed", { passed: r.passed })));
  return h("div", null, summary,
    h("ul", { class: "test-cases" }, r.cases.map((c) => h("li", { class: c.passed ? "test-case is-ok" : "test-case is-failed", dataset: { role: "test-case", passed: String(c.passed) } },
      h("span", { class: "test-mark", "aria-hidden": "true" }, c.passed ? "✓" : "✗"),
      h("span", { class: "test-name" }, c.name),
      h("span", { class: "visually-hidden" }, c.passed ? t("editor.case_passed") : t("editor.case_failed")),
      c.failures.length ? h("pre", { class: "test-failures mono" }, c.failures.join("\n")) : null))));
}

const SETTING_TYPES = { string: "text", int: "number", float: "number", bool: "switch" };

/** The plugin's settings for one account, when it declares any. */
async function settingsPanel(plugin, accountId) {
  if (!accountId) return h("p", { class: "hint" }, t("editor.settings_pick_account"));
  let data;
  try {
    data = await api.get("/wechat/plugins/settings", { plugin, account_id: accountId });
  } catch (error) {
    return h("p", { class: "hint" }, error.message);
  }
  if (!data.settings.length) return h("p", { class: "hint", dataset: { role: "no-settings" } }, t("editor.no_settings"));
  const fields = data.settings.map((s) => ({
    name: s.name,
    label: s.name,
    type: SETTING_TYPES[s.type] || "text",
    hint: [s.description, t("editor.setting_default", { value: JSON.stringify(s.default) })].filter(Boolean).join(" · "),
  }));
  const initial = Object.fromEntries(data.settings.map((s) => [s.name, s.type === "bool" ? Boolean(s.value) : s.value === null ? "" : String(s.value)]));
  const form = buildForm(fields, initial);
  const save = button(t("editor.save_settings"), { kind: "btn-secondary", attrs: { "data-action": "save-settings" } });
  save.addEventListener("click", async () => {
    form.clearErrors();
    const v = form.values();
    const values = {};
    for (const s of data.settings) {
      const raw = v[s.name];
      if (s.type === "bool") values[s.name] = Boolean(raw);
      else if (s.type === "int" || s.type === "float") values[s.name] = raw === "" || raw === undefined ? null : Number(raw);
      else values[s.name] = raw;
    }
    save.disabled = true;
    try {
      await api.put("/wechat/plugins/settings", { plugin, account_id: accountId, values });
      toast(t("editor.settings_saved"), "success");
    } catch (error) {
      if (error instanceof ApiError && error.fields) form.setErrors(error.fields, error.message);
      else form.showError(error.message);
    } finally {
      save.disabled = false;
    }
  });
  return h("div", { class: "editor-settings", dataset: { role: "settings" } }, form.el, h("div", { class: "form-actions" }, save));
}

/**
 * Opens the editor of `name` in `host`. `onSaved()` runs after a save;
 * `dryRun(name)` points the page's dry-run box at the plugin; `onClose()`
 * runs when it closes. Returns a promise of the editor, or null when the
 * user kept other unsaved text.
 */
export async function openEditor({ host, name, accountId, onSaved, onDeleted, dryRun, onClose }) {
  let data;
  try {
    data = await api.get("/wechat/plugins/source", { name });
  } catch (error) {
    toast(error.message, "error");
    return null;
  }
  let saved = data.source;
  const code = codeArea(data.source);
  const dirty = () => code.area.value !== saved;
  const unguard = guardUnsaved(dirty, () => close());
  const status = h("div", { class: "editor-status", "aria-live": "polite", dataset: { role: "editor-status" } });

  function showError(e) {
    code.mark(e.line);
    clear(status).append(h("div", { class: "alert alert-error", role: "alert", dataset: { role: "editor-error" } }, icon("alert"),
      h("div", { class: "alert-text" },
        h("p", null, e.line ? t("editor.error_at", { line: e.line, column: e.column || "?" }) : t("editor.error")),
        h("p", { class: "pre" }, e.message),
        e.snippet ? h("code", { class: "mono" }, e.snippet) : null)));
    if (e.line) code.goTo(e.line, e.column);
  }
  function showOk(text) {
    code.mark(null);
    clear(status).append(h("p", { class: "notice notice-ok", dataset: { role: "editor-ok" } }, icon("check"), h("span", null, text)));
  }
  function failed(error) {
    if (!(error instanceof ApiError)) { console.error(error); return; }
    if (error.status === 401) return;
    const e = error.data && error.data.script_error;
    if (e) showError(e);
    else showError({ message: error.message });
  }

  async function run(buttonEl, fn) {
    buttonEl.disabled = true;
    buttonEl.classList.add("busy");
    try { await fn(); } catch (error) { failed(error); } finally {
      buttonEl.disabled = false;
      buttonEl.classList.remove("busy");
    }
  }
  const check = button(t("editor.check"), { icon: "check", kind: "btn-secondary", attrs: { "data-action": "check-source" } });
  check.addEventListener("click", () => run(check, async () => {
    await api.post("/wechat/plugins/check", { name, source: code.area.value });
    showOk(t("editor.compiles"));
  }));
  const save = button(t("editor.save"), { icon: "upload", kind: "btn-primary", attrs: { "data-action": "save-source" } });
  save.addEventListener("click", () => run(save, async () => {
    const source = code.area.value;
    const r = await api.put("/wechat/plugins/source", { name, source });
    saved = source;
    showOk(t("editor.saved", { status: r.plugin ? t(`plugins.status.${r.plugin.status}`) : "—" }));
    toast(t("editor.saved_toast", { name }), "success");
    if (onSaved) await onSaved(r);
  }));
  const tests = h("div", { class: "editor-tests", "aria-live": "polite", dataset: { role: "test-results" } });
  const runTests = button(t("editor.run_tests"), { icon: "play", kind: "btn-secondary", attrs: { "data-action": "run-tests" } });
  runTests.addEventListener("click", () => run(runTests, async () => {
    // The tests run against the file as saved: unsaved text would not be what they test.
    if (dirty()) {
      clear(tests).append(h("p", { class: "notice notice-warn", dataset: { role: "tests-unsaved" } }, icon("alert"), h("span", null, t("editor.tests_save_first"))));
      return;
    }
    clear(tests).append(testResults(await api.post("/wechat/plugins/run_tests", { name })));
  }));
  const tryIt = button(t("plugins.dry_run"), { icon: "play", kind: "btn-ghost", attrs: { "data-action": "editor-dry-run" }, onClick: () => dryRun && dryRun(name) });
  // A folder plugin is removed on the server (its folder holds other modules).
  const folder = data.file.endsWith("/main.rhai");
  const remove = folder ? null : button(t("editor.delete"), { icon: "trash", kind: "btn-danger-ghost", attrs: { "data-action": "delete-plugin" } });
  if (remove) {
    remove.addEventListener("click", async () => {
      const sure = await confirmDialog({ title: t("editor.delete_title", { name }), message: t("editor.delete_message", { file: data.file }) });
      if (!sure) return;
      await run(remove, async () => {
        await api.post("/wechat/plugins/delete", { name });
        toast(t("editor.deleted_toast", { name }), "success");
        saved = code.area.value;
        close();
        if (onDeleted) await onDeleted();
      });
    });
  }
  const closeButton = button(t("common.close"), { icon: "close", kind: "btn-ghost", attrs: { "data-action": "close-editor" } });
  closeButton.addEventListener("click", async () => {
    if (dirty() && !(await askDiscard())) return;
    close();
  });
  code.area.addEventListener("input", () => code.mark(null));

  const panel = h("section", { class: "panel plugin-editor", dataset: { role: "plugin-editor", plugin: name }, "aria-labelledby": "editor-title" },
    h("div", { class: "panel-head" },
      h("div", { class: "cell-stack" }, h("h2", { id: "editor-title" }, t("editor.title", { name })), h("span", { class: "cell-sub mono" }, data.file)),
      h("div", { class: "editor-actions" }, tryIt, runTests, check, save, remove, closeButton)),
    h("div", { class: "panel-body" },
      h("p", { class: "hint" }, t("editor.hint", { kb: Math.round(data.max_bytes / 1024) })),
      code.el, status, tests,
      h("h3", null, t("editor.settings")),
      await settingsPanel(name, accountId)));
  function close() {
    unguard();
    panel.remove();
    if (onClose) onClose();
  }
  clear(host).append(panel);
  panel.scrollIntoView({ block: "start" });
  code.area.focus({ preventScroll: true });
  return { dirty, close };
}
