// The app: sign-in gate, shell (navigation, account picker, user menu) and a
// small history router. Pages are ES modules with `render(ctx)`.

import { t, tOr, lang, setLang, LANGUAGES } from "./i18n/index.js";
import { h, clear, icon, button, toast, alertDialog, throttle } from "./dom.js";
import { api, session, ApiError } from "./api.js";
import { errorState, loadingState } from "./states.js";
import { formDialog } from "./form.js";
import { confirmLeave, hasUnsaved } from "./guard.js";
import { startLive, stopLive, onInbox } from "./live.js";

// Titles are i18n keys (looked up at render time): a new page adds
// "nav.<name>" to both language files. A plain English title still shows
// (tOr), untranslated, until its key exists.
const NAV = [
  { group: "nav.group.overview", items: [{ path: "/dashboard", title: "nav.dashboard", icon: "dashboard", page: "dashboard" }] },
  { group: "nav.group.accounts", items: [{ path: "/wechat/wxaccounts", title: "nav.accounts", icon: "accounts", page: "accounts" }] },
  {
    group: "nav.group.engage",
    items: [
      { path: "/wechat/wxautoreplies", title: "nav.autoreplies", icon: "reply", page: "autoreplies" },
      { path: "/wechat/wxmenus", title: "nav.menus", icon: "menu", page: "menus" },
      { path: "/wechat/wxmaterials", title: "nav.materials", icon: "materials", page: "materials" },
      { path: "/wechat/wxtemplates", title: "nav.templates", icon: "templates", page: "templates" },
    ],
  },
  {
    group: "nav.group.audience",
    items: [
      { path: "/wechat/inbox", title: "nav.inbox", icon: "inbox", page: "inbox" },
      { path: "/wechat/wxmessages", title: "nav.messages", icon: "messages", page: "messages" },
      { path: "/wechat/wxusers", title: "nav.fans", icon: "fans", page: "fans" },
    ],
  },
  { group: "nav.group.commerce", items: [{ path: "/wechat/wxpay", title: "nav.pay", icon: "pay", page: "pay" }] },
  {
    group: "nav.group.system",
    items: [
      { path: "/wechat/plugins", title: "nav.plugins", icon: "plugin", page: "plugins" },
      { path: "/wechat/admins", title: "nav.admins", icon: "admins", page: "admins", adminOnly: true },
      { path: "/wechat/audit", title: "nav.audit", icon: "audit", page: "audit", adminOnly: true },
    ],
  },
];
const ROUTES = NAV.flatMap((g) => g.items);
const ACCOUNT_KEY = "wxmp.account";

const app = {
  admin: null,
  /** Accounts the pickers offer: archived ones left out. */
  accounts: [],
  /** Every account, archived too: to name the account of a row. */
  allAccounts: [],
  account: localStorage.getItem(ACCOUNT_KEY) || "",
  shell: null,
  main: null,
  picker: null,
  cleanup: null,
  renderSeq: 0,
  /** The address of the page shown, to return to when the user stays. */
  here: "/",
};

function isAdmin() {
  return app.admin && app.admin.role === "admin";
}

export function navigate(path, { replace = false } = {}) {
  if (replace) history.replaceState(null, "", path);
  else history.pushState(null, "", path);
  route();
}

function loginUrl() {
  const here = location.pathname + location.search;
  return here.startsWith("/login") || here === "/" ? "/login" : `/login?next=${encodeURIComponent(here)}`;
}

window.addEventListener("wxmp:unauthorized", () => {
  stopLive();
  app.shell = null;
  app.admin = null;
  navigate(loginUrl(), { replace: true });
});
/** Navigates unless unsaved changes make the user stay. */
async function leaveTo(path) {
  if (await confirmLeave()) navigate(path);
}

window.addEventListener("popstate", async () => {
  const target = location.pathname + location.search;
  if (hasUnsaved()) {
    // Back to where the edits are while the user decides.
    history.pushState(null, "", app.here);
    await leaveTo(target);
  } else {
    route();
  }
});
document.addEventListener("click", (event) => {
  const link = event.target.closest("a[href]");
  if (!link || event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  if (link.target || link.hasAttribute("download")) return;
  const url = new URL(link.href, location.href);
  if (url.origin !== location.origin || url.pathname.startsWith("/ui/") || url.pathname.startsWith("/api-docs")) return;
  event.preventDefault();
  document.body.classList.remove("nav-open");
  leaveTo(url.pathname + url.search);
});

/** Switches the picked account unless unsaved changes make the user stay. */
async function switchAccount(id) {
  if (id === app.account) return;
  if (!(await confirmLeave())) {
    renderPicker();
    return;
  }
  setAccount(id);
  renderPicker();
  route();
}

async function loadAccounts() {
  try {
    const data = await api.get("/wechat/wxaccounts/list", { page: 1, page_size: 100 });
    app.allAccounts = data.list;
  } catch (error) {
    if (!(error instanceof ApiError)) console.error(error);
    app.allAccounts = [];
  }
  app.accounts = app.allAccounts.filter((a) => !a.archived_at);
  if (app.account && !app.accounts.some((a) => a.id === app.account)) setAccount("");
  renderPicker();
}

function setAccount(id) {
  app.account = id;
  if (id) localStorage.setItem(ACCOUNT_KEY, id);
  else localStorage.removeItem(ACCOUNT_KEY);
}

function renderPicker() {
  if (!app.picker) return;
  clear(app.picker);
  app.picker.append(h("option", { value: "" }, app.accounts.length ? t("shell.all_accounts") : t("shell.no_accounts")));
  for (const a of app.accounts) {
    app.picker.append(h("option", { value: a.id, selected: a.id === app.account }, a.status === 1 ? a.account_name || a.app_id : t("shell.account_disabled", { name: a.account_name || a.app_id })));
  }
}

function userMenu() {
  const menu = h("details", { class: "user-menu" },
    h("summary", { "aria-label": t("shell.signed_in_as", { name: app.admin.username }) },
      h("span", { class: "avatar", "aria-hidden": "true" }, app.admin.username.slice(0, 1).toUpperCase()),
      h("span", { class: "user-name" }, app.admin.username),
      h("span", { class: ["badge", isAdmin() ? "badge-green" : "badge-blue", "user-role"] }, t(`role.${app.admin.role === "admin" ? "admin" : "operator"}`))),
    h("div", { class: "menu-pop", role: "menu" },
      h("button", { type: "button", role: "menuitem", class: "menu-item", onclick: () => { menu.open = false; changePassword(); } }, icon("key"), t("shell.change_password")),
      h("a", { role: "menuitem", class: "menu-item", href: "/api-docs/openapi.json", target: "_blank", rel: "noopener" }, icon("external"), t("shell.api_document")),
      h("button", { type: "button", role: "menuitem", class: "menu-item", "data-action": "sign-out", onclick: signOut }, icon("logout"), t("shell.sign_out"))));
  document.addEventListener("click", (event) => {
    if (menu.open && !menu.contains(event.target)) menu.open = false;
  });
  menu.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && menu.open) {
      menu.open = false;
      menu.querySelector("summary").focus();
    }
  });
  return menu;
}

/** The language picker of the top bar (and of the sign-in page). */
export function languagePicker() {
  const id = "lang-picker";
  const select = h("select", { id, class: "lang-select", onchange: (event) => setLang(event.target.value) },
    LANGUAGES.map(([code, name]) => h("option", { value: code, lang: code, selected: code === lang() }, name)));
  return h("div", { class: "lang-picker" },
    h("label", { for: id, class: "visually-hidden" }, t("shell.language")), select);
}

async function signOut() {
  if (!(await confirmLeave())) return;
  stopLive();
  session.clear();
  app.shell = null;
  app.admin = null;
  navigate("/login", { replace: true });
}

async function changePassword() {
  const done = await formDialog({
    title: t("password.title"),
    fields: [
      { name: "old_password", label: t("password.current"), type: "password", required: true, autocomplete: "current-password", full: true },
      { name: "new_password", label: t("password.new"), type: "password", required: true, autocomplete: "new-password", full: true, hint: t("password.hint") },
      { name: "confirm", label: t("password.again"), type: "password", required: true, autocomplete: "new-password", full: true },
    ],
    submitLabel: t("shell.change_password"),
    submit: async (values) => {
      if (values.new_password !== values.confirm) {
        throw new ApiError(422, t("password.differ"), { confirm: t("reason.passwords_differ") });
      }
      return api.post("/auth/password", { old_password: values.old_password, new_password: values.new_password });
    },
  });
  if (done) {
    await alertDialog({ title: t("password.changed"), message: t("password.changed_hint") });
    signOut();
  }
}

function buildShell() {
  const nav = h("nav", { class: "sidebar", id: "sidebar", "aria-label": t("shell.main_nav") },
    h("a", { class: "brand", href: "/dashboard" },
      h("span", { class: "brand-mark", "aria-hidden": "true" }, icon("messages")),
      h("span", { class: "brand-text" }, h("strong", null, "wxmp"), h("small", null, t("shell.brand_sub")))),
    NAV.map((group) => {
      const items = group.items.filter((item) => !item.adminOnly || isAdmin());
      if (!items.length) return null;
      return h("div", { class: "nav-group" },
        h("p", { class: "nav-heading" }, tOr(group.group)),
        h("ul", null, items.map((item) => h("li", null,
          h("a", { class: "nav-link", href: item.path, dataset: { path: item.path } }, icon(item.icon), h("span", null, tOr(item.title)))))));
    }),
    h("p", { class: "sidebar-foot" }, t("shell.foot")));
  app.picker = h("select", {
    id: "account-picker",
    class: "account-select",
    onchange: (event) => switchAccount(event.target.value),
  });
  const top = h("header", { class: "topbar" },
    button(t("shell.open_nav"), { icon: "burger", iconOnly: true, kind: "btn-ghost nav-toggle", attrs: { "aria-controls": "sidebar", "aria-expanded": "false" }, onClick: (event) => {
      const open = document.body.classList.toggle("nav-open");
      event.currentTarget.setAttribute("aria-expanded", String(open));
    } }),
    h("div", { class: "picker" },
      h("label", { for: "account-picker", class: "picker-label" }, icon("accounts"), h("span", { class: "visually-hidden" }, t("shell.account"))),
      app.picker),
    h("div", { class: "topbar-spacer" }),
    languagePicker(),
    userMenu());
  app.main = h("main", { id: "main", class: "content", tabindex: "-1" });
  const backdrop = h("button", { type: "button", class: "nav-backdrop", tabindex: "-1", "aria-hidden": "true", onclick: () => document.body.classList.remove("nav-open") });
  app.shell = h("div", { class: "shell" },
    h("a", { class: "skip-link", href: "#main", onclick: (e) => { e.preventDefault(); app.main.focus(); } }, t("shell.skip")),
    nav, backdrop, h("div", { class: "main-col" }, top, app.main));
  const root = document.getElementById("app");
  clear(root).append(app.shell);
  renderPicker();
}

/** The sidebar's badge: unread conversations across the admin's accounts,
 * fetched again when an inbox event arrives (never on a timer). */
let badgeSeq = 0;
async function refreshBadge() {
  const mine = ++badgeSeq;
  const link = document.querySelector('.nav-link[data-path="/wechat/inbox"]');
  if (!link) return;
  try {
    const summary = await api.get("/wechat/inbox/summary");
    if (mine !== badgeSeq) return;
    let badge = link.querySelector(".nav-badge");
    if (!summary.unread) {
      if (badge) badge.remove();
      return;
    }
    if (!badge) {
      badge = h("span", { class: "nav-badge", role: "status" });
      link.append(badge);
    }
    badge.textContent = summary.unread > 99 ? "99+" : String(summary.unread);
    badge.setAttribute("aria-label", t("inbox.badge", { n: summary.unread }));
    badge.title = t("inbox.badge", { n: summary.unread });
  } catch (error) {
    if (!(error instanceof ApiError)) console.error(error);
  }
}
// Each refresh counts every conversation: at most one every 2 s, however
// many messages arrive.
const badgeSoon = throttle(refreshBadge);
onInbox((event) => {
  if (["ready", "message", "read", "lagged"].includes(event.kind)) badgeSoon();
});

function markNav(path) {
  for (const link of document.querySelectorAll(".nav-link")) {
    const active = link.dataset.path === path;
    link.classList.toggle("active", active);
    if (active) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
}

async function renderLogin() {
  app.shell = null;
  const mod = await import("./pages/login.js");
  const root = document.getElementById("app");
  clear(root);
  document.title = `${t("login.title")} · wxmp`;
  mod.render({ root, languagePicker, onSignedIn: (admin) => {
    app.admin = admin;
    const next = new URLSearchParams(location.search).get("next");
    navigate(next && next.startsWith("/") && !next.startsWith("//") ? next : "/dashboard", { replace: true });
  } });
}

export async function route() {
  const path = location.pathname.replace(/\/+$/, "") || "/";
  if (path === "/login") return renderLogin();
  if (!session.token) return navigate(loginUrl(), { replace: true });
  if (path === "/") return navigate("/dashboard", { replace: true });

  const seq = ++app.renderSeq;
  app.here = location.pathname + location.search;
  if (!app.shell) {
    const root = document.getElementById("app");
    clear(root).append(h("div", { class: "boot-loading", role: "status" }, t("shell.loading")));
    try {
      app.admin = await api.get("/auth/me");
      session.setAdmin(app.admin);
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) return;
      clear(root).append(h("div", { class: "boot-error" }, errorState(error.message, () => route())));
      return;
    }
    if (seq !== app.renderSeq) return;
    buildShell();
    startLive();
    refreshBadge();
    await loadAccounts();
    if (seq !== app.renderSeq) return;
  }

  if (app.cleanup) {
    try { app.cleanup(); } catch (error) { console.error(error); }
    app.cleanup = null;
  }
  const entry = ROUTES.find((r) => r.path === path);
  markNav(entry ? entry.path : "");
  const main = clear(app.main);
  if (!entry) {
    document.title = `${t("shell.not_found")} · wxmp`;
    main.append(h("div", { class: "state state-empty" }, icon("search", "state-icon"),
      h("p", { class: "state-title" }, t("shell.no_page")),
      h("a", { class: "btn btn-primary", href: "/dashboard" }, t("shell.go_dashboard"))));
    return;
  }
  document.title = `${tOr(entry.title)} · wxmp`;
  if (entry.adminOnly && !isAdmin()) {
    main.append(h("div", { class: "state state-empty" }, icon("admins", "state-icon"),
      h("p", { class: "state-title" }, t("shell.admins_only")),
      h("p", { class: "state-hint" }, t("shell.admins_only_hint"))));
    return;
  }
  main.append(loadingState());
  try {
    const mod = await import(`./pages/${entry.page}.js`);
    if (seq !== app.renderSeq) return;
    clear(main);
    const ctx = {
      main,
      params: new URLSearchParams(location.search),
      account: app.account,
      accounts: app.accounts,
      accountById: (id) => app.allAccounts.find((a) => a.id === String(id)),
      accountLabel: (id) => {
        const a = app.allAccounts.find((x) => x.id === String(id));
        return a ? a.account_name || a.app_id : String(id);
      },
      admin: app.admin,
      isAdmin: isAdmin(),
      navigate: (path, options) => confirmLeave().then((leave) => leave && navigate(path, options)),
      selectAccount: switchAccount,
      refreshAccounts: loadAccounts,
      toast,
    };
    const cleanup = await mod.render(ctx);
    if (typeof cleanup === "function") app.cleanup = cleanup;
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return;
    if (!(error instanceof ApiError)) console.error(error);
    clear(main).append(errorState(error instanceof ApiError ? error.message : t("shell.page_failed"), () => route()));
  }
}

route();
