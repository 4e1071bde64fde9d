import { h, icon } from "../dom.js";
import { api, session, ApiError } from "../api.js";

export function render({ root, onSignedIn }) {
  const error = h("div", { class: "alert alert-error", role: "alert", hidden: true });
  const username = h("input", { id: "login-username", name: "username", autocomplete: "username", required: true, autocapitalize: "none", spellcheck: "false" });
  const password = h("input", { id: "login-password", name: "password", type: "password", autocomplete: "current-password", required: true });
  const submit = h("button", { type: "submit", class: "btn btn-primary btn-block" }, h("span", null, "Sign in"));

  const form = h("form", { class: "login-form", novalidate: true, onsubmit: async (event) => {
    event.preventDefault();
    error.hidden = true;
    if (!username.value.trim() || !password.value) {
      error.textContent = "Enter your user name and password.";
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
      error.textContent = e instanceof ApiError && e.status === 401 ? "Wrong user name or password." : e.message;
      error.hidden = false;
      password.select();
      password.focus();
    } finally {
      submit.disabled = false;
      submit.classList.remove("busy");
    }
  } },
    error,
    h("div", { class: "field" }, h("label", { class: "label", for: "login-username" }, "User name"), username),
    h("div", { class: "field" }, h("label", { class: "label", for: "login-password" }, "Password"), password),
    submit);

  root.append(h("div", { class: "login-page" },
    h("main", { class: "login-card" },
      h("div", { class: "login-brand" },
        h("span", { class: "brand-mark brand-mark-lg", "aria-hidden": "true" }, icon("messages")),
        h("div", null, h("h1", null, "wxmp"), h("p", { class: "muted" }, "Official Accounts console"), h("p", { class: "muted" }, "公众号管理后台"))),
      form),
    h("p", { class: "login-foot muted" }, "Sessions last until the token expires or this tab closes.")));
  username.focus();
}
