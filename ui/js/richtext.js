// A rich-text editor without a build step: a contenteditable area with a
// small toolbar (document.execCommand), and the sanitizer that keeps only
// what WeChat article bodies take: p, br, strong, em, u, h2–h4, blockquote,
// ul/ol/li, a[href] and img[src]; no style at all (the
// admin UI's CSP allows no inline style, and WeChat restyles bodies anyway). Pasted content goes
// through the same sanitizer. The server checks the body again.

import { t } from "./i18n/index.js";
import { h } from "./dom.js";

const KEEP = { P: [], BR: [], STRONG: [], EM: [], U: [], H2: [], H3: [], H4: [], BLOCKQUOTE: [], UL: [], OL: [], LI: [], A: ["href"], IMG: ["src"] };
const RENAME = { B: "STRONG", I: "EM", H1: "H2", H5: "H4", H6: "H4", DIV: "P", SECTION: "P" };
const DROP = new Set(["SCRIPT", "STYLE", "IFRAME", "OBJECT", "EMBED", "TEMPLATE", "NOSCRIPT", "HEAD", "TITLE", "META", "LINK", "SVG", "MATH", "FORM", "INPUT", "BUTTON", "SELECT", "TEXTAREA"]);

function safeUrl(tag, url) {
  const plain = String(url || "").trim();
  return tag === "IMG" ? /^https?:\/\//i.test(plain) : /^(https?:\/\/|mailto:)/i.test(plain);
}

const TAG = /<([a-zA-Z][^\s/>]*)([^>]*)>/g;
const ATTR = /([^\s"'>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+)))?/g;

/**
 * Tags with their href and src only, before the HTML is parsed: parsing an
 * on… or style attribute, even in a document of its own, is reported as a
 * violation of the page's CSP. The DOM walk below is what makes it safe.
 */
function keepLinkAttributes(html) {
  return html.replace(TAG, (_, name, rest) => {
    const kept = [];
    for (const m of rest.matchAll(ATTR)) {
      const attr = m[1].toLowerCase();
      if (attr === "href" || attr === "src") kept.push(` ${attr}="${(m[2] ?? m[3] ?? m[4] ?? "").replace(/"/g, "&quot;")}"`);
    }
    return `<${name}${kept.join("")}>`;
  });
}

/** `html` with only the tags and attributes article bodies accept. */
export function sanitizeHtml(html) {
  // A parsed document of its own: nothing in it runs or loads.
  const doc = new DOMParser().parseFromString(`<!doctype html><body>${keepLinkAttributes(String(html || ""))}</body>`, "text/html");
  const source = doc.body;
  const out = doc.createElement("div");
  const copy = (from, to) => {
    for (const node of from.childNodes) {
      if (node.nodeType === Node.TEXT_NODE) { to.append(node.textContent); continue; }
      if (node.nodeType !== Node.ELEMENT_NODE || DROP.has(node.tagName)) continue;
      const tag = RENAME[node.tagName] || node.tagName;
      if (!KEEP[tag]) { copy(node, to); continue; }
      const el = doc.createElement(tag);
      for (const name of KEEP[tag]) {
        const value = node.getAttribute(name);
        if (value && safeUrl(tag, value)) el.setAttribute(name, value.trim());
      }
      if ((tag === "IMG" && !el.hasAttribute("src"))) continue;
      copy(node, el);
      // A link without a safe address keeps its text only; a block inside a
      // paragraph (a pasted <div> in a <p>) is flattened.
      if (tag === "A" && !el.hasAttribute("href")) { to.append(...el.childNodes); continue; }
      if (tag === "P" && to.tagName === "P") { to.append(...el.childNodes); continue; }
      to.append(el);
    }
  };
  copy(source, out);
  return out.innerHTML;
}

function escapeText(text) {
  const div = document.createElement("div");
  div.textContent = text;
  return div.innerHTML.split(/\r?\n\r?\n/).map((p) => `<p>${p.replace(/\r?\n/g, "<br>")}</p>`).join("");
}

/**
 * The editor. `onInput(html)` runs on every change; `uploadImage(file)`
 * resolves with the URL to insert. Returns { el, value(), focus() }.
 */
export function richText({ value = "", label, onInput = () => {}, uploadImage }) {
  const area = h("div", { class: "rt-area", contenteditable: "true", role: "textbox", "aria-multiline": "true", "aria-label": label, dataset: { role: "rich-text" } });
  area.innerHTML = sanitizeHtml(value);
  const changed = () => onInput(area.innerHTML);
  let saved = null;
  const keep = () => {
    const sel = window.getSelection();
    if (sel.rangeCount && area.contains(sel.getRangeAt(0).commonAncestorContainer)) saved = sel.getRangeAt(0).cloneRange();
  };
  const restore = () => {
    area.focus();
    if (!saved) return;
    const sel = window.getSelection();
    sel.removeAllRanges();
    sel.addRange(saved);
  };
  const run = (command, arg) => {
    restore();
    document.execCommand("styleWithCSS", false, false);
    document.execCommand(command, false, arg);
    keep();
    changed();
  };

  const linkUrl = h("input", { type: "url", class: "rt-link-url", placeholder: "https://", "aria-label": t("rt.link_url"), dataset: { role: "rt-link-url" } });
  const linkApply = h("button", { type: "button", class: "btn btn-primary btn-sm", dataset: { role: "rt-link-apply" } }, t("rt.apply"));
  const linkRow = h("div", { class: "rt-link", hidden: true }, linkUrl, linkApply);
  const applyLink = () => {
    const url = linkUrl.value.trim();
    linkRow.hidden = true;
    if (url && safeUrl("A", url)) run("createLink", url);
    else restore();
  };
  linkApply.addEventListener("click", applyLink);
  linkUrl.addEventListener("keydown", (event) => {
    if (event.key === "Enter") { event.preventDefault(); applyLink(); }
    if (event.key === "Escape") { event.preventDefault(); event.stopPropagation(); linkRow.hidden = true; restore(); }
  });

  const file = h("input", { type: "file", accept: ".jpg,.jpeg,.png", class: "visually-hidden", tabindex: "-1", dataset: { role: "rt-image-file" } });
  const status = h("span", { class: "rt-status muted", "aria-live": "polite" });
  file.addEventListener("change", async () => {
    const chosen = file.files[0];
    file.value = "";
    if (!chosen || !uploadImage) return;
    status.textContent = t("rt.uploading");
    try {
      const url = await uploadImage(chosen);
      status.textContent = "";
      run("insertImage", url);
    } catch (error) {
      status.textContent = error.message;
    }
  });

  const tool = (name, text, action) => {
    const b = h("button", { type: "button", class: "rt-tool", title: t(`rt.${name}`), "aria-label": t(`rt.${name}`), dataset: { tool: name } }, text);
    // Clicking a tool keeps the selection in the text.
    b.addEventListener("mousedown", (event) => event.preventDefault());
    b.addEventListener("click", action);
    return b;
  };
  const toolbar = h("div", { class: "rt-toolbar", role: "toolbar", "aria-label": t("rt.toolbar") },
    tool("bold", h("strong", null, "B"), () => run("bold")),
    tool("italic", h("em", null, "I"), () => run("italic")),
    tool("underline", h("u", null, "U"), () => run("underline")),
    tool("heading", "H", () => run("formatBlock", "<h3>")),
    tool("quote", "❝", () => run("formatBlock", "<blockquote>")),
    tool("ul", "•≡", () => run("insertUnorderedList")),
    tool("ol", "1≡", () => run("insertOrderedList")),
    tool("link", "🔗", () => { keep(); linkRow.hidden = false; linkUrl.value = ""; linkUrl.focus(); }),
    tool("image", "🖼", () => { keep(); file.click(); }),
    tool("clear", "⌫", () => { run("removeFormat"); run("unlink"); run("formatBlock", "<p>"); }),
    file, status);

  area.addEventListener("input", changed);
  area.addEventListener("keyup", keep);
  area.addEventListener("mouseup", keep);
  area.addEventListener("paste", (event) => {
    event.preventDefault();
    const data = event.clipboardData;
    const html = data.getData("text/html");
    const clean = html ? sanitizeHtml(html) : escapeText(data.getData("text/plain"));
    // Inserted as nodes: Chrome's insertHTML adds style attributes of its own.
    const sel = window.getSelection();
    if (!sel.rangeCount) return;
    const range = sel.getRangeAt(0);
    range.deleteContents();
    const fragment = range.createContextualFragment(clean);
    const last = fragment.lastChild;
    range.insertNode(fragment);
    if (last) {
      range.setStartAfter(last);
      range.collapse(true);
      sel.removeAllRanges();
      sel.addRange(range);
    }
    changed();
  });
  return {
    el: h("div", { class: "rt-editor" }, toolbar, linkRow, area),
    value: () => sanitizeHtml(area.innerHTML),
    focus: () => area.focus(),
  };
}
