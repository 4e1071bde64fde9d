// The news draft editor (图文, up to 8 articles): the list of articles on
// the left (the first is the main, 封面 article; add, remove, move up and
// down), the chosen article's form on the right with its body in the rich
// text editor. Saving posts every article to /wechat/wxmaterials/upload_news;
// the server's field errors ("articles.<i>.<field>") show at the article's
// field and mark the article in the list. Unsaved edits are guarded.

import { t } from "../i18n/index.js";
import { h, button, openModal, clear, nextId } from "../dom.js";
import { api, ApiError } from "../api.js";
import { buildForm } from "../form.js";
import { guardUnsaved, askDiscard } from "../guard.js";
import { richText, sanitizeHtml } from "../richtext.js";
import { accountField, defaultAccount, mediaPicker } from "./common.js";

const MAX_ARTICLES = 8;

/** Radio tiles of the account's permanent images, to pick a cover from. */
const coverPicker = mediaPicker({ name: "thumb_media_id", label: t("news.cover"), hint: t("mat.cover_hint"), types: () => ["image", "thumb"] });

function bodyField(accountId) {
  return ({ values, set }) => {
    const editor = richText({
      value: values().content || "",
      label: t("news.body"),
      onInput: (html) => set("content", html),
      uploadImage: async (file) => {
        const form = new FormData();
        form.append("account_id", accountId());
        form.append("file", file, file.name);
        return (await api.upload("/wechat/wxmaterials/upload_article_image", form)).url;
      },
    });
    return h("div", { class: "field field-full" }, h("span", { class: "label" }, t("news.body"), h("span", { class: "req", "aria-hidden": "true" }, " *")), editor.el);
  };
}

function articleFields(accountId) {
  return [
    { name: "title", label: t("news.title"), required: true, full: true, placeholder: t("mat.news_title_placeholder") },
    { name: "author", label: t("news.author"), placeholder: t("accounts.optional") },
    { name: "content_source_url", label: t("news.source_url"), type: "url", placeholder: t("mat.source_url_placeholder") },
    { name: "digest", label: t("news.digest"), type: "textarea", rows: 2, full: true, hint: t("news.digest_hint") },
    { name: "thumb_media_id", type: "custom", full: true, render: coverPicker, label: t("news.cover") },
    { name: "content", type: "custom", full: true, render: bodyField(accountId), label: t("news.body") },
    { name: "need_open_comment", label: t("news.open_comment"), type: "switch" },
    { name: "only_fans_can_comment", label: t("news.fans_only"), type: "switch", show: (v) => Number(v.need_open_comment) === 1 },
  ];
}

/** One article as WeChat's draft/add takes it. */
function articleOf(values) {
  const article = { title: String(values.title || "").trim(), thumb_media_id: values.thumb_media_id || "", content: sanitizeHtml(values.content || "") };
  for (const key of ["author", "digest", "content_source_url"]) if (String(values[key] || "").trim()) article[key] = values[key].trim();
  article.need_open_comment = Number(values.need_open_comment) === 1 ? 1 : 0;
  article.only_fans_can_comment = article.need_open_comment && Number(values.only_fans_can_comment) === 1 ? 1 : 0;
  return article;
}

/** Opens the editor; resolves with the saved draft, or undefined. */
export function newsEditor(ctx) {
  let accountId = defaultAccount(ctx);
  const top = ctx.accounts.length > 1 ? buildForm([accountField(ctx)], { account_id: accountId }) : null;
  const articles = [];
  let selected = 0;
  const listEl = h("ol", { class: "news-list", dataset: { role: "news-list" }, "aria-label": t("news.articles") });
  const formHost = h("div", { class: "news-form", dataset: { role: "news-form" } });
  const alert = h("div", { class: "alert alert-error", role: "alert", hidden: true, dataset: { role: "news-error" } });
  const addButton = button(t("news.add"), { icon: "plus", kind: "btn-secondary btn-sm", attrs: { "data-action": "add-article" } });

  const newArticle = () => {
    const form = buildForm(articleFields(() => accountId), { account_id: accountId, thumb_media_id: "", content: "", need_open_comment: 0, only_fans_can_comment: 0 });
    const entry = { key: nextId("article"), form };
    form.onChange(() => {
      // An edit clears that field's error; the article stays marked while
      // any other error of it is shown or still to be shown.
      if (!entry.pending) entry.error = Boolean(form.el.querySelector(".has-error"));
      render();
    });
    return entry;
  };
  const hasError = (entry) => Boolean(entry.form.el.querySelector(".has-error")) || entry.error;

  function render() {
    clear(listEl);
    articles.forEach((entry, i) => {
      const title = String(entry.form.allValues().title || "").trim();
      const pick = h("button", { type: "button", class: "news-pick", "aria-current": i === selected ? "true" : undefined },
        h("span", { class: "news-no" }, t("news.article_n", { n: i + 1 })),
        i === 0 ? h("span", { class: "badge badge-green" }, t("news.main")) : null,
        h("span", { class: "news-name" }, title || t("news.untitled")),
        hasError(entry) ? h("span", { class: "news-fault", title: t("news.has_errors") }, "!", h("span", { class: "visually-hidden" }, t("news.has_errors"))) : null);
      pick.addEventListener("click", () => select(i));
      const move = (to) => {
        const [moved] = articles.splice(i, 1);
        articles.splice(to, 0, moved);
        if (selected === i) selected = to;
        else if (selected === to) selected = i;
        render();
      };
      const small = (label, iconName, action, disabled, role) => button(label, { icon: iconName, iconOnly: true, kind: "btn-ghost btn-sm", disabled, onClick: action, attrs: { "data-action": role } });
      listEl.append(h("li", { class: ["news-item", i === selected && "is-selected", hasError(entry) && "has-error"], dataset: { article: String(i) } },
        pick,
        h("span", { class: "news-tools" },
          small(t("news.move_up"), "up", () => move(i - 1), i === 0, "move-up"),
          small(t("news.move_down"), "down", () => move(i + 1), i === articles.length - 1, "move-down"),
          small(t("news.remove"), "close", () => remove(i), articles.length === 1, "remove-article"))));
    });
    addButton.disabled = articles.length >= MAX_ARTICLES;
    addButton.title = addButton.disabled ? t("news.max") : "";
    const shown = articles[selected].form.el;
    if (formHost.firstChild !== shown) clear(formHost).append(shown);
  }
  function select(i) {
    selected = i;
    render();
    const entry = articles[i];
    if (entry.pending) {
      entry.form.setErrors(entry.pending, null);
      entry.pending = null;
    }
  }
  function remove(i) {
    articles.splice(i, 1);
    selected = Math.min(selected > i ? selected - 1 : selected, articles.length - 1);
    render();
  }
  addButton.addEventListener("click", () => {
    if (articles.length >= MAX_ARTICLES) return;
    articles.push(newArticle());
    select(articles.length - 1);
  });
  articles.push(newArticle());
  if (top) {
    top.onChange((v) => {
      accountId = v.account_id;
      for (const entry of articles) entry.form.set("account_id", accountId);
    });
  }

  const collect = () => articles.map((entry) => articleOf(entry.form.allValues()));
  const untouched = JSON.stringify(collect());
  const dirty = () => JSON.stringify(collect()) !== untouched;

  function showErrors(error) {
    const byArticle = new Map();
    const loose = [];
    for (const [name, reason] of Object.entries(error.fields || {})) {
      const m = /^articles\.(\d+)\.(.+)$/.exec(name);
      if (m && articles[Number(m[1])]) {
        const fields = byArticle.get(Number(m[1])) || {};
        fields[m[2]] = reason;
        byArticle.set(Number(m[1]), fields);
      } else loose.push(name === "articles" ? reason : t("form.field_error", { label: name, reason }));
    }
    articles.forEach((entry, i) => {
      entry.form.clearErrors();
      entry.pending = byArticle.get(i) || null;
      entry.error = Boolean(entry.pending);
    });
    alert.textContent = loose.length ? loose.join(t("form.sep")) : byArticle.size ? t("news.fix_marked", { n: byArticle.size }) : error.message;
    alert.hidden = false;
    const first = byArticle.has(selected) ? selected : [...byArticle.keys()].sort((a, b) => a - b)[0];
    if (first !== undefined) select(first);
    else render();
  }

  let unguard = () => {};
  return openModal({
    title: t("news.editor_title"),
    wide: true,
    className: "modal-news",
    beforeDismiss: async () => !dirty() || (await askDiscard()),
    body: [
      h("p", { class: "modal-intro" }, t("news.editor_intro")),
      top ? top.el : null,
      alert,
      h("div", { class: "news-editor", dataset: { role: "news-editor" } },
        h("div", { class: "news-side" }, h("h3", null, t("news.articles")), listEl, addButton),
        formHost),
    ],
    footer: (close) => {
      const save = button(t("news.save"), { kind: "btn-primary", attrs: { "data-action": "save-news" } });
      save.addEventListener("click", async () => {
        alert.hidden = true;
        save.disabled = true;
        save.classList.add("busy");
        try {
          const draft = await api.post("/wechat/wxmaterials/upload_news", { account_id: accountId, articles: collect() });
          close(draft);
        } catch (error) {
          if (!(error instanceof ApiError)) { console.error(error); alert.textContent = t("common.page_bug"); alert.hidden = false; return; }
          if (error.status === 401) { close(undefined); return; }
          if (error.fields) showErrors(error);
          else { alert.textContent = error.message; alert.hidden = false; }
        } finally {
          save.disabled = false;
          save.classList.remove("busy");
        }
      });
      const cancel = button(t("common.cancel"), { kind: "btn-secondary", onClick: async () => { if (!dirty() || (await askDiscard())) close(undefined); } });
      return [cancel, save];
    },
    onOpen: (dialog, close) => {
      unguard = guardUnsaved(dirty, () => close(undefined));
      render();
      const first = dialog.querySelector(".news-form input");
      if (first) first.focus();
    },
  }).finally(() => unguard());
}
