// Forms built from field descriptions, in a dialog or in a page, with the
// field errors of a 422 next to their fields; and `attempt` for one-off actions.

import { t } from "./i18n/index.js";
import { h, button, openModal, byteLength, nextId } from "./dom.js";
import { ApiError } from "./api.js";
import { guardUnsaved, askDiscard } from "./guard.js";

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
    // An error the server gave for this field no longer holds once it is edited.
    clearFieldError(name);
    for (const fn of listeners) fn(values, name);
  };

  function clearFieldError(name) {
    const c = controls.get(name);
    if (!c || !c.wrap.classList.contains("has-error")) return;
    c.wrap.classList.remove("has-error");
    const err = c.wrap.querySelector(":scope > .field-error");
    if (err) { err.hidden = true; err.textContent = ""; }
    const input = c.wrap.querySelector("input, select, textarea");
    if (input) input.removeAttribute("aria-invalid");
  }

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
      case "custom": {
        // A named custom field takes part in values and shows its own errors;
        // one made of parts gets the errors named `<name>.<part>` through
        // `onErrors` (e.g. `more_replies.0.content`).
        const entry = { field, wrap, control: null, nested: null };
        wrap.append(field.render({ values: () => values, onChange: (fn) => listeners.push(fn), set: changed, id, onErrors: (fn) => { entry.nested = fn; } }));
        if (!field.name) return wrap;
        wrap.append(h("p", { class: "field-error", id: errorId, hidden: true }));
        controls.set(field.name, entry);
        return wrap;
      }
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
          }) : h("p", { class: "muted" }, field.emptyText || t("form.nothing_to_choose")));
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
        counter.textContent = t("form.bytes_counter", { used, limit });
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
    /** Sets a value as an edit would (custom fields follow it). */
    set: changed,
    onChange: (fn) => listeners.push(fn),
    clearErrors() {
      formAlert.hidden = true;
      for (const [name, c] of controls) {
        clearFieldError(name);
        if (c.nested) c.nested({});
      }
    },
    /** Shows field errors; those of fields not on the form go to the top. */
    setErrors(fields, message) {
      const shown = visibleNames();
      const loose = [];
      let first = null;
      const nested = new Map();
      for (const [name, reason] of Object.entries(fields || {})) {
        const [head, ...rest] = name.split(".");
        const owner = rest.length && controls.get(head);
        if (owner && owner.nested && shown.includes(head)) {
          if (!nested.has(owner)) nested.set(owner, {});
          nested.get(owner)[rest.join(".")] = reason;
          continue;
        }
        const c = controls.get(name);
        if (!c || !shown.includes(name)) {
          loose.push(t("form.field_error", { label: name, reason }));
          continue;
        }
        c.wrap.classList.add("has-error");
        const err = c.wrap.querySelector(":scope > .field-error");
        err.textContent = t("form.field_error", { label: c.field.label, reason });
        err.hidden = false;
        const input = c.wrap.querySelector("input, select, textarea");
        if (input) input.setAttribute("aria-invalid", "true");
        if (!first) first = input;
      }
      for (const [owner, parts] of nested) {
        const input = owner.nested(parts);
        if (!first && input) first = input;
      }
      if (loose.length || (message && !first)) {
        formAlert.textContent = loose.length ? loose.join(t("form.sep")) : message;
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
export function formDialog({ title, fields, values, submit, submitLabel = t("common.save"), wide = false, intro }) {
  const form = buildForm(fields, values);
  // Edited and not saved: leaving the page (back/forward, reload) or
  // dismissing the dialog with Escape or × asks first.
  const untouched = JSON.stringify(form.values());
  const dirty = () => JSON.stringify(form.values()) !== untouched;
  let unguard = () => {};
  return openModal({
    title,
    wide,
    beforeDismiss: async () => !dirty() || (await askDiscard()),
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
            form.showError(t("common.page_bug"));
          }
        } finally {
          save.disabled = false;
          save.classList.remove("busy");
        }
      };
      form.el.addEventListener("submit", run);
      return [button(t("common.cancel"), { kind: "btn-secondary", onClick: () => close(undefined) }), save];
    },
    onOpen: (dialog, close) => {
      unguard = guardUnsaved(dirty, () => close(undefined));
      const first = dialog.querySelector(".modal-body input:not([type=hidden]):not([disabled]), .modal-body select, .modal-body textarea");
      if (first) first.focus();
    },
  }).finally(() => unguard());
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
