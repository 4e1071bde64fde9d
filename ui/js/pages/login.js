import { t } from "../i18n/index.js";
import { h, icon } from "../dom.js";
import { api, session, ApiError } from "../api.js";

export function render({ root, onSignedIn, languagePicker }) {
  const error = h("div", { class: "alert alert-error", role: "alert", hidden: true });
  const username = h("input", { id: "login-username", name: "username", autocomplete: "username", required: true, autocapitalize: "none", spellcheck: "false" });
  const password = h("input", { id: "login-password", name: "password", type: "password", autocomplete: "current-password", required: true });
  const submit = h("button", { type: "submit", class: "btn btn-primary btn-block" }, h("span", null, t("login.title")));

  const form = h("form", { class: "login-form", novalidate: true, onsubmit: async (event) => {
    event.preventDefault();
    error.hidden = true;
    if (!username.value.trim() || !password.value) {
      error.textContent = t("login.enter_both");
      error.hidden = false;
      (username.value.trim() ? password : username).focus();
      return;
    }
    submit.disabled = true;
    submit.classList.add("busy");
    try {
      const data = await api.post("/auth/login", { username: username.value.trim(), password: password.value });
      session.set(data);
      onSignedIn(data.admin);
    } catch (e) {
      if (!(e instanceof ApiError)) console.error(e);
      error.textContent = e instanceof ApiError && e.status === 401 ? t("err.wrong_password") : e.message;
      error.hidden = false;
      password.select();
      password.focus();
    } finally {
      submit.disabled = false;
      submit.classList.remove("busy");
    }
  } },
    error,
    h("div", { class: "field" }, h("label", { class: "label", for: "login-username" }, t("login.username")), username),
    h("div", { class: "field" }, h("label", { class: "label", for: "login-password" }, t("login.password")), password),
    submit);

  root.append(h("div", { class: "login-page" },
    h("div", { class: "login-lang" }, languagePicker()),
    h("main", { class: "login-card" },
      h("div", { class: "login-brand" },
        h("span", { class: "brand-mark brand-mark-lg", "aria-hidden": "true" }, icon("messages")),
        h("div", null, h("h1", null, "wxmp"), h("p", { class: "muted" }, t("login.console")))),
      form),
    h("p", { class: "login-foot muted" }, t("login.foot"))));
  username.focus();
}
