// What the conversation view adds for operators: canned replies to insert,
// the assignee, internal notes (never sent to the fan), the 48-hour
// window's countdown and the template fallback once it has closed.

import { t } from "../i18n/index.js";
import { h, icon, button, openModal, toast, formatTime, clear } from "../dom.js";
import { api, resource, ApiError } from "../api.js";
import { sendTemplate } from "./templates.js";
import { emptyState, loadingState, errorState } from "../states.js";
import { showActionError } from "./common.js";

/** A button that opens the account's canned replies; a pick goes into `textarea`. */
export function cannedButton(accountId, textarea) {
  return button(t("convo.canned"), {
    icon: "reply",
    iconOnly: true,
    kind: "btn-secondary",
    attrs: { "data-action": "canned" },
    onClick: async () => {
      const picked = await openModal({ title: t("convo.canned_title"), wide: true, className: "canned-picker", body: (close) => cannedBody(accountId, close) });
      if (typeof picked === "string") {
        textarea.value = textarea.value.trim() ? `${textarea.value.trim()} ${picked}` : picked;
        textarea.dispatchEvent(new Event("input"));
        textarea.focus();
      }
    },
  });
}

function cannedBody(accountId, close) {
  const list = h("div", { class: "canned-list" }, loadingState());
  const title = h("input", { id: "canned-title", maxlength: 64, required: true });
  const content = h("textarea", { id: "canned-content", rows: 3, maxlength: 2000, required: true });
  const problem = h("p", { class: "field-error", role: "alert", hidden: true });
  const load = async () => {
    try {
      const rows = await api.get("/wechat/inbox/canned", { account_id: accountId });
      clear(list);
      if (!rows.length) {
        list.append(emptyState({ icon: "reply", title: t("convo.canned_empty"), hint: t("convo.canned_empty_hint") }));
        return;
      }
      for (const row of rows) {
        list.append(h("div", { class: "canned-item", dataset: { id: row.id } },
          h("button", { type: "button", class: "canned-use", dataset: { action: "use-canned" }, onclick: () => close(row.content) },
            h("strong", null, row.title), h("span", { class: "muted" }, row.content)),
          button(t("convo.canned_delete", { title: row.title }), { icon: "trash", iconOnly: true, kind: "btn-ghost btn-sm", attrs: { "data-action": "delete-canned" }, onClick: async () => {
            try {
              await api.del("/wechat/inbox/canned/del", { id: row.id });
              load();
            } catch (error) {
              await showActionError(t("convo.canned_failed"), error);
            }
          } })));
      }
    } catch (error) {
      if (!(error instanceof ApiError)) console.error(error);
      clear(list).append(errorState(error.message, load));
    }
  };
  const form = h("form", { class: "canned-form", onsubmit: async (event) => {
    event.preventDefault();
    problem.hidden = true;
    try {
      await api.post("/wechat/inbox/canned/add", { account_id: accountId, title: title.value, content: content.value });
      title.value = "";
      content.value = "";
      toast(t("convo.canned_saved"));
      load();
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      problem.textContent = error.fields ? Object.values(error.fields).join(" ") : error.message;
      problem.hidden = false;
    }
  } },
  h("h3", null, t("convo.canned_new")),
  h("label", { for: "canned-title" }, t("convo.canned_name")), title,
  h("label", { for: "canned-content" }, t("convo.canned_text")), content, problem,
  button(t("convo.canned_add"), { icon: "plus", kind: "btn-secondary", type: "submit", attrs: { "data-action": "add-canned" } }));
  load();
  return [h("p", { class: "modal-intro" }, t("convo.canned_intro")), list, form];
}

/** The side panel: assignee and notes of one conversation. */
export function conversationSide(ctx, accountId, openid) {
  const select = h("select", { id: "convo-assignee", disabled: true });
  const notes = h("ol", { class: "notes", "aria-live": "polite" });
  const text = h("textarea", { id: "note-text", rows: 2, maxlength: 1000, placeholder: t("convo.note_placeholder") });
  const root = h("aside", { class: "panel convo-side", "aria-label": t("convo.side") },
    h("div", { class: "field" }, h("label", { for: "convo-assignee" }, t("convo.assignee")), select),
    h("h3", null, t("convo.notes")),
    h("p", { class: "muted small" }, t("convo.notes_hint")),
    notes,
    h("form", { class: "note-form", onsubmit: (event) => { event.preventDefault(); addNote(); } },
      h("label", { class: "visually-hidden", for: "note-text" }, t("convo.note_new")), text,
      button(t("convo.note_add"), { icon: "plus", kind: "btn-secondary btn-sm", type: "submit", attrs: { "data-action": "add-note" } })));

  let assignedId = "";
  const loadAssignees = async (current) => {
    assignedId = current || "";
    try {
      const people = await api.get("/wechat/inbox/assignees", { account_id: accountId });
      clear(select).append(h("option", { value: "" }, t("inbox.nobody")),
        ...people.map((p) => h("option", { value: p.id, selected: p.id === assignedId, dataset: { username: p.username } }, p.id === ctx.admin.id ? t("convo.me", { name: p.username }) : p.username)));
      select.disabled = false;
    } catch (error) {
      if (!(error instanceof ApiError)) console.error(error);
    }
  };
  select.addEventListener("change", async () => {
    const chosen = select.value;
    try {
      await api.post("/wechat/inbox/assign", { account_id: accountId, openid, admin_id: chosen || null });
      assignedId = chosen;
      toast(chosen ? t("convo.assigned_to", { name: select.selectedOptions[0].textContent }) : t("convo.unassigned"));
    } catch (error) {
      select.value = assignedId;
      await showActionError(t("convo.assign_failed"), error);
    }
  });

  const loadNotes = async () => {
    try {
      const rows = await api.get("/wechat/inbox/notes", { account_id: accountId, openid });
      clear(notes);
      if (!rows.length) notes.append(h("li", { class: "muted note-none" }, t("convo.notes_none")));
      for (const n of rows) {
        notes.append(h("li", { class: "note-item", dataset: { id: n.id } },
          h("p", null, n.body),
          h("span", { class: "cell-sub" }, `${n.admin_name} · ${formatTime(n.created_at)}`),
          n.admin_id === ctx.admin.id || ctx.isAdmin ? button(t("convo.note_delete"), { icon: "trash", iconOnly: true, kind: "btn-ghost btn-sm", attrs: { "data-action": "delete-note" }, onClick: async () => {
            try {
              await api.del("/wechat/inbox/notes/del", { id: n.id });
              loadNotes();
            } catch (error) {
              await showActionError(t("convo.note_failed"), error);
            }
          } }) : null));
      }
    } catch (error) {
      if (!(error instanceof ApiError)) console.error(error);
      clear(notes).append(h("li", null, errorState(error.message, loadNotes)));
    }
  };
  async function addNote() {
    if (!text.value.trim()) return text.focus();
    try {
      await api.post("/wechat/inbox/notes/add", { account_id: accountId, openid, body: text.value });
      text.value = "";
      toast(t("convo.note_saved"));
      loadNotes();
    } catch (error) {
      await showActionError(t("convo.note_failed"), error);
    }
    return undefined;
  }
  /** Someone else assigned it (an event names the assignee, or nobody). */
  const showAssignee = (username) => {
    const option = [...select.options].find((o) => o.dataset.username === username);
    select.value = option ? option.value : "";
    assignedId = select.value;
  };
  return { root, loadAssignees, loadNotes, showAssignee };
}

/** The 48-hour window in words: time left, or closed. */
export function windowLeft(closesAt) {
  if (!closesAt) return { open: false, text: t("inbox.window_unknown") };
  const left = new Date(closesAt).getTime() - Date.now();
  if (!(left > 0)) return { open: false, text: t("inbox.window_closed") };
  const hours = Math.floor(left / 3600000);
  const minutes = Math.floor((left % 3600000) / 60000);
  return { open: true, urgent: left < 4 * 3600000, text: hours ? t("inbox.window_left_h", { h: hours, m: minutes }) : t("inbox.window_left_m", { m: minutes }) };
}

export function countdown(closesAt) {
  const el = h("span", { class: "window-countdown", dataset: { closesAt: closesAt || "" } });
  const paint = () => {
    const w = windowLeft(closesAt);
    el.textContent = w.text;
    el.classList.toggle("closed", !w.open);
    el.classList.toggle("urgent", Boolean(w.urgent));
    el.title = closesAt ? t("inbox.window_closes_at", { when: formatTime(closesAt) }) : t("inbox.window_unknown");
  };
  paint();
  el.paint = paint;
  return el;
}

/** The fallback once the window has closed: one click opens the send form
 * of the account's template (a pick first when it has several), the fan
 * filled in. Without an enabled template (or before they are known) it is a
 * plain link to the templates page, the fan filled in there too. */
export function templateFallback(accountId, openid) {
  const link = h("a", { class: "btn btn-primary btn-sm", dataset: { action: "template-fallback" }, href: `/wechat/wxtemplates?account_id=${encodeURIComponent(accountId)}&openid=${encodeURIComponent(openid)}` },
    icon("templates"), h("span", null, t("convo.send_template")));
  let templates = [];
  resource("wxtemplates").list({ account_id: accountId, status: 1, page: 1, page_size: 100 })
    .then((data) => {
      templates = data.list || [];
      link.dataset.templates = String(templates.length);
    })
    .catch((error) => {
      if (!(error instanceof ApiError)) console.error(error);
    });
  link.addEventListener("click", async (event) => {
    if (!templates.length || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    const chosen = templates.length === 1 ? templates[0] : await pickTemplate(templates);
    if (chosen) await sendTemplate(chosen, openid);
  });
  return link;
}

/** Which of several templates to send. */
function pickTemplate(templates) {
  return openModal({
    title: t("convo.pick_template"),
    className: "template-picker",
    body: (close) => [
      h("p", { class: "modal-intro" }, t("convo.pick_template_intro")),
      h("div", { class: "canned-list" }, ...templates.map((tpl) =>
        h("button", { type: "button", class: "canned-use", dataset: { action: "pick-template", templateId: tpl.template_id }, onclick: () => close(tpl) },
          h("strong", null, tpl.title || tpl.template_id),
          h("span", { class: "muted" }, (tpl.content || "").replace(/\s+/g, " ").slice(0, 80))))),
    ],
  });
}
