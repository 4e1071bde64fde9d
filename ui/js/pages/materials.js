// Materials: images, voice, video, thumbnails and news, as a grid. Files are
// uploaded to WeChat (temporary or permanent) and kept on this server too,
// which is where the previews come from.

import { t } from "../i18n/index.js";
import { h, icon, badge, button, toast, formatBytes, formatTime, timeEl, relativeTime, clear, confirmDialog, openModal } from "../dom.js";
import { api, resource, ApiError } from "../api.js";
import { pageHeader, tabs } from "../states.js";
import { listView } from "../list.js";
import { formDialog } from "../form.js";
import { newsEditor } from "./newseditor.js";
import { scope, noAccounts, accountField, defaultAccount, deleteButton, editButton, chooseAccount, actionButton, busy, filePreview, mediaPlayer } from "./common.js";

const MEDIA_TYPES = ["image", "voice", "video", "thumb", "news"].map((type) => [type, t(`mat.type.${type}`)]);
const MEDIA_ICON = { image: "materials", thumb: "materials", voice: "voice", video: "video", news: "news" };
const SYNC = { 0: [t("mat.sync.0"), ""], 1: [t("mat.sync.1"), "green"], 2: [t("mat.sync.2"), "red"] };

/** What WeChat accepts per type (as the server checks it): extensions, bytes. */
const LIMITS = {
  image: [["jpg", "jpeg", "png", "gif", "bmp"], 10 * 1024 * 1024],
  voice: [["mp3", "wma", "wav", "amr"], 2 * 1024 * 1024],
  video: [["mp4"], 10 * 1024 * 1024],
  thumb: [["jpg", "jpeg"], 64 * 1024],
};
const UPLOAD_TYPES = MEDIA_TYPES.filter(([v]) => v in LIMITS);

function fields(ctx, editing) {
  return [
    ...(editing ? [] : [accountField(ctx)]),
    { name: "media_type", label: t("accounts.type"), type: "segmented", options: MEDIA_TYPES },
    { name: "name", label: t("accounts.name"), placeholder: t("mat.name_placeholder") },
    { name: "media_id", label: "Media ID", mono: true, hint: t("mat.media_id_hint") },
    { name: "url", label: "URL", type: "url", full: true, placeholder: "https://mmbiz.qpic.cn/…", hint: t("mat.url_hint") },
    { name: "title", label: t("rules.title"), show: (v) => ["video", "news"].includes(v.media_type) },
    { name: "introduction", label: t("mat.introduction"), type: "textarea", rows: 3, show: (v) => ["video", "news"].includes(v.media_type) },
    { name: "is_permanent", label: t("mat.permanent_switch"), type: "switch", full: true },
  ];
}

function typeLabel(type) {
  return MEDIA_TYPES.find(([v]) => v === type)?.[1] || type;
}

function preview(m) {
  const tag = badge(typeLabel(m.media_type), "blue");
  const fallback = () => icon(MEDIA_ICON[m.media_type] || "materials");
  const picture = m.media_type === "image" || m.media_type === "thumb";
  if (picture && (m.local_path || m.url)) {
    return h("div", { class: "material-preview" }, filePreview({ localPath: m.local_path, url: m.url, alt: m.name || t("mat.preview_alt") }, fallback), tag);
  }
  const playable = (m.media_type === "voice" || m.media_type === "video") && m.local_path;
  return h("div", { class: ["material-preview", playable && "material-playable"], title: m.local_path ? t("mat.stored_at", { path: m.local_path }) : "" },
    fallback(), tag,
    playable ? mediaPlayer({ localPath: m.local_path, kind: m.media_type, label: m.name || m.title || typeLabel(m.media_type) }) : null,
    m.local_path ? h("span", { class: "visually-hidden" }, t("mat.stored_at", { path: m.local_path })) : null);
}

/** "Expires in 2 d" / "Expired" for temporary media. */
function lifetimeBadge(m) {
  if (m.is_permanent === 1) return badge(t("mat.permanent"));
  if (!m.expires_at) return badge(t("mat.temporary"), "amber");
  const left = new Date(m.expires_at).getTime() - Date.now();
  if (left <= 0) return h("span", { title: t("mat.expired_when", { when: relativeTime(m.expires_at) }) }, badge(t("mat.expired"), "red"));
  const hours = Math.floor(left / 3600000);
  const text = hours >= 24 ? t("mat.left_dh", { d: Math.floor(hours / 24), h: hours % 24 }) : hours >= 1 ? t("mat.left_h", { h: hours }) : t("mat.left_min", { min: Math.max(1, Math.floor(left / 60000)) });
  return h("span", { title: t("mat.deletes_at", { when: formatTime(m.expires_at) }) }, badge(t("mat.expires_in", { left: text }), "amber"));
}

function extensionOf(name) {
  const dot = name.lastIndexOf(".");
  return dot < 0 ? "" : name.slice(dot + 1).toLowerCase();
}

/** Why `file` cannot be a `type` material, or null. */
function fileProblem(file, type) {
  const [extensions, max] = LIMITS[type];
  if (!extensions.includes(extensionOf(file.name))) return t("mat.bad_extension", { extensions: extensions.join("/"), type: typeLabel(type).toLowerCase() });
  if (file.size === 0) return t("reason.file_empty");
  if (file.size > max) return t("mat.too_big", { size: formatBytes(file.size), type: typeLabel(type).toLowerCase(), max: formatBytes(max) });
  return null;
}

/** The drop zone of the upload form: drag a file in, or pick one. */
function dropZone({ values, onChange, set }) {
  let objectUrl = null;
  const input = h("input", { type: "file", id: "upload-file", class: "visually-hidden", "aria-describedby": "upload-file-error" });
  const shown = h("div", { class: "drop-file" });
  const error = h("p", { class: "field-error", id: "upload-file-error", hidden: true });
  const zone = h("div", { class: "drop-zone", dataset: { role: "drop-zone" } },
    icon("upload", "drop-icon"),
    h("p", null, h("strong", null, t("mat.drop_here")), t("mat.or"),
      h("label", { for: "upload-file", class: "link-button" }, t("mat.choose_one"))),
    h("p", { class: "hint drop-rules" }),
    input, shown);

  const rules = () => {
    const [extensions, max] = LIMITS[values().media_type] || LIMITS.image;
    zone.querySelector(".drop-rules").textContent = t("mat.rules", { extensions: extensions.join(", "), max: formatBytes(max) });
    input.accept = extensions.map((e) => `.${e}`).join(",");
  };

  const showFile = () => {
    const file = values().file;
    if (objectUrl) URL.revokeObjectURL(objectUrl);
    objectUrl = null;
    clear(shown);
    const problem = file ? fileProblem(file, values().media_type) : null;
    error.hidden = !problem;
    error.textContent = problem ? t("form.field_error", { label: file.name, reason: problem }) : "";
    zone.classList.toggle("has-file", Boolean(file));
    zone.classList.toggle("has-error", Boolean(problem));
    if (!file) return;
    objectUrl = URL.createObjectURL(file);
    const type = file.type || "";
    const media = type.startsWith("image/")
      ? h("img", { src: objectUrl, alt: t("mat.preview_of", { name: file.name }), class: "drop-preview" })
      : type.startsWith("audio/") ? h("audio", { src: objectUrl, controls: true, class: "drop-preview" })
        : type.startsWith("video/") ? h("video", { src: objectUrl, controls: true, muted: true, class: "drop-preview" })
          : icon(MEDIA_ICON[values().media_type] || "materials", "drop-icon");
    shown.append(media, h("div", { class: "drop-meta" },
      h("span", { class: "drop-name" }, file.name), h("span", { class: "muted" }, formatBytes(file.size)),
      button(t("mat.remove_file"), { icon: "close", iconOnly: true, kind: "btn-ghost btn-sm", onClick: () => set("file", null) })));
  };

  const take = (file) => {
    if (!file) return;
    // The type follows the file when it obviously belongs to another one.
    const ext = extensionOf(file.name);
    const current = values().media_type;
    if (!LIMITS[current][0].includes(ext)) {
      const fitting = UPLOAD_TYPES.map(([v]) => v).find((kind) => LIMITS[kind][0].includes(ext) && (kind !== "thumb" || file.size <= LIMITS.thumb[1]));
      if (fitting) {
        set("media_type", fitting);
        const radio = zone.closest("form")?.querySelector(`.field-segmented[data-field=media_type] input[value="${fitting}"]`);
        if (radio) radio.checked = true;
      }
    }
    set("file", file);
  };

  input.addEventListener("change", () => take(input.files[0]));
  for (const name of ["dragenter", "dragover"]) {
    zone.addEventListener(name, (event) => {
      event.preventDefault();
      zone.classList.add("dragging");
    });
  }
  zone.addEventListener("dragleave", (event) => {
    if (!zone.contains(event.relatedTarget)) zone.classList.remove("dragging");
  });
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("dragging");
    take(event.dataTransfer && event.dataTransfer.files[0]);
  });
  onChange((_, name) => {
    if (name === "media_type") rules();
    if (name === "file" || name === "media_type") showFile();
  });
  rules();
  return h("div", { class: "field field-full" }, h("span", { class: "label" }, t("mat.file"), h("span", { class: "req", "aria-hidden": "true" }, " *")), zone, error);
}

async function uploadDialog(ctx, type) {
  const start = LIMITS[type] ? type : "image";
  return formDialog({
    title: t("mat.upload_title"),
    wide: true,
    intro: t("mat.upload_intro"),
    fields: [
      ...(ctx.accounts.length > 1 ? [accountField(ctx)] : []),
      { name: "lifetime", label: t("mat.lifetime"), type: "segmented", options: [["permanent", t("mat.permanent")], ["temporary", t("mat.temporary_3d")]], full: true },
      { name: "media_type", label: t("accounts.type"), type: "segmented", options: UPLOAD_TYPES, full: true },
      { type: "custom", render: dropZone },
      { name: "title", label: t("mat.video_title"), required: true, show: (v) => v.media_type === "video" && v.lifetime === "permanent" },
      { name: "introduction", label: t("mat.video_intro"), type: "textarea", rows: 2, show: (v) => v.media_type === "video" && v.lifetime === "permanent" },
    ],
    values: { account_id: defaultAccount(ctx), lifetime: "permanent", media_type: start },
    submitLabel: t("mat.upload"),
    submit: async (v, form) => {
      const all = form.allValues();
      const file = all.file;
      if (!file) throw new ApiError(422, t("mat.choose_file"));
      const problem = fileProblem(file, v.media_type);
      if (problem) throw new ApiError(422, t("form.field_error", { label: file.name, reason: problem }));
      const body = new FormData();
      body.append("account_id", v.account_id || defaultAccount(ctx));
      body.append("media_type", v.media_type);
      if (v.title) body.append("title", v.title);
      if (v.introduction) body.append("introduction", v.introduction);
      body.append("file", file, file.name);
      const path = v.lifetime === "temporary" ? "/wechat/wxmaterials/upload_temp_media" : "/wechat/wxmaterials/upload_permanent_media";
      return api.upload(path, body);
    },
  });
}

/** The counts WeChat has of an account's permanent materials, in a dialog. */
async function countsDialog(ctx, accountId) {
  const counts = await api.post("/wechat/wxmaterials/material_count", { account_id: accountId });
  const rows = [["image_count", t("mat.count.images"), "materials"], ["voice_count", t("mat.count.voice"), "voice"], ["video_count", t("mat.count.videos"), "video"], ["news_count", t("mat.count.news"), "news"]];
  await openModal({
    title: t("mat.counts_title", { account: ctx.accountLabel(accountId) }),
    body: [
      h("p", { class: "modal-intro" }, t("mat.counts_intro")),
      h("div", { class: "count-grid", dataset: { role: "material-counts" } }, rows.map(([key, label, iconName]) => h("div", { class: "count-tile" },
        icon(iconName), h("span", { class: "stat-value" }, String(counts[key] ?? 0)), h("span", { class: "stat-label" }, label)))),
    ],
    footer: (close) => [button(t("common.close"), { kind: "btn-primary", onClick: () => close(true) })],
  });
}

export async function render(ctx) {
  const type = ctx.params.get("media_type") || "";
  let list;
  const openForm = async (row) => {
    const editing = Boolean(row);
    const saved = await formDialog({
      title: editing ? t("mat.edit_title") : t("mat.record_title"),
      intro: editing ? null : t("mat.record_intro"),
      fields: fields(ctx, editing),
      values: editing ? { ...row } : { account_id: defaultAccount(ctx), media_type: type || "image", is_permanent: 1 },
      submit: (v) => (editing ? resource("wxmaterials").edit({ id: row.id, ...v }) : resource("wxmaterials").add(v)),
    });
    if (saved) {
      toast(editing ? t("mat.saved") : t("mat.recorded"));
      list.reload();
    }
  };

  const upload = async () => {
    const saved = await uploadDialog(ctx, type);
    if (saved && saved.id) {
      toast(t(saved.is_permanent === 1 ? "mat.uploaded_permanent" : "mat.uploaded_temporary", { name: saved.name }));
      list.reload();
    }
  };

  const deleteRemote = async (m, el) => {
    const ok = await confirmDialog({
      title: t("mat.delete_remote_title"),
      message: t("mat.delete_remote_message", { name: m.name || m.title || m.media_id }),
      confirmText: t("mat.delete_remote"),
    });
    if (!ok) return;
    const done = await busy(el, () => api.post("/wechat/wxmaterials/delete_remote_media", { account_id: m.account_id, media_id: m.media_id }), t("mat.delete_remote_failed"));
    if (done) {
      toast(t("mat.deleted_remote"));
      list.reload();
    }
  };

  const newNews = async () => {
    const saved = await newsEditor(ctx);
    if (saved && saved.id) {
      toast(t("mat.draft_created", { name: saved.title || saved.name }));
      if (type && type !== "news") ctx.navigate("/wechat/wxmaterials?media_type=news");
      else list.reload();
    }
  };

  const sync = actionButton(t("tpl.sync"), { icon: "download", action: "sync-materials", failTitle: t("mat.sync_failed") }, async () => {
    const accountId = await chooseAccount(ctx, t("mat.syncing"));
    if (!accountId) return;
    const r = await api.post("/wechat/wxmaterials/sync_materials", { account_id: accountId });
    toast(t(r.remote === 1 ? "mat.synced_one" : "mat.synced", { remote: r.remote, added: r.added, updated: r.updated, gone: r.deleted_on_wechat }));
    list.reload();
  });
  const counts = actionButton(t("mat.counts"), { icon: "cloud", action: "material-counts", failTitle: t("mat.counts_failed") }, async () => {
    const accountId = await chooseAccount(ctx, t("mat.counting"));
    if (accountId) await countsDialog(ctx, accountId);
  });

  ctx.main.append(pageHeader(t("nav.materials"), t("mat.subtitle"), [
    counts,
    sync,
    button(t("mat.news_title"), { icon: "news", kind: "btn-secondary", onClick: newNews, disabled: !ctx.accounts.length, attrs: { "data-action": "new-news" } }),
    button(t("mat.record"), { icon: "plus", kind: "btn-secondary", onClick: () => openForm(null), disabled: !ctx.accounts.length, attrs: { "data-action": "add" } }),
    button(t("mat.upload"), { icon: "upload", kind: "btn-primary", onClick: upload, disabled: !ctx.accounts.length, attrs: { "data-action": "upload" } }),
  ]));
  const missing = noAccounts(ctx, t("mat.what"));
  if (missing) return ctx.main.append(missing);

  ctx.main.append(tabs([["", t("list.all")], ...MEDIA_TYPES], type, (value) => ctx.navigate(`/wechat/wxmaterials${value ? `?media_type=${value}` : ""}`), t("mat.types")));

  list = listView({
    caption: t("mat.caption"),
    load: (q) => resource("wxmaterials").list(q),
    baseQuery: () => ({ ...scope(ctx), ...(type ? { media_type: type } : {}) }),
    pageSize: 20,
    pageSizes: [20, 40, 100],
    filters: [
      { name: "keyword", label: t("common.search"), type: "search", placeholder: t("mat.search_placeholder") },
      { name: "is_permanent", label: t("mat.lifetime"), type: "select", options: [["1", t("mat.permanent")], ["0", t("mat.temporary")]] },
      { name: "sync_status", label: t("mat.sync_label"), type: "select", options: Object.entries(SYNC).map(([v, [l]]) => [v, l]) },
    ],
    cards: (m) => {
      const [syncLabel, syncTone] = SYNC[m.sync_status] || [String(m.sync_status), ""];
      const remoteDelete = m.is_permanent === 1 && m.media_id && m.sync_status !== 2
        ? button(t("mat.delete_remote"), { icon: "cloud", iconOnly: true, kind: "btn-ghost btn-sm", attrs: { "data-action": "delete-remote" }, onClick: (e) => deleteRemote(m, e.currentTarget) })
        : null;
      return h("article", { class: ["material", m.sync_status === 2 && "material-gone"], dataset: { id: m.id } },
        preview(m),
        h("div", { class: "material-body" },
          h("p", { class: "material-name", title: m.name || m.title }, m.name || m.title || t("tpl.untitled")),
          h("div", { class: "material-meta" }, lifetimeBadge(m), badge(syncLabel, syncTone)),
          h("div", { class: "material-meta" },
            m.file_size ? h("span", null, formatBytes(m.file_size)) : null,
            m.width && m.height ? h("span", null, `${m.width}×${m.height}`) : null,
            timeEl(m.created_at))),
        h("div", { class: "material-foot" },
          h("span", { class: "clip mono", title: m.media_id || t("mat.no_media_id_title") }, m.media_id || t("mat.no_media_id")),
          h("div", { class: "row-actions" },
            editButton(t("mat.noun"), () => openForm(m)),
            remoteDelete,
            deleteButton({ name: "wxmaterials", noun: t("mat.noun"), describe: (x) => t("mat.describe", { name: x.name || x.title || x.media_id || t("tpl.untitled") }), row: m, onDone: () => list.reload() }))));
    },
    empty: { icon: "materials", title: t("mat.empty"), hint: t("mat.empty_hint"), action: button(t("mat.upload_file"), { icon: "upload", kind: "btn-primary", onClick: upload }) },
  });
  ctx.main.append(list.root);
}
