// Materials: images, voice, video, thumbnails and news, as a grid. Files are
// uploaded to WeChat (temporary or permanent) and kept on this server too,
// which is where the previews come from.

import { h, icon, badge, button, toast, formatBytes, timeEl, relativeTime, clear, confirmDialog, openModal } from "../dom.js";
import { api, resource, ApiError } from "../api.js";
import { pageHeader, tabs } from "../states.js";
import { listView } from "../list.js";
import { formDialog } from "../form.js";
import { scope, noAccounts, accountField, defaultAccount, deleteButton, editButton, chooseAccount, actionButton, busy, filePreview, mediaPicker, mediaPlayer } from "./common.js";

const MEDIA_TYPES = [["image", "Image"], ["voice", "Voice"], ["video", "Video"], ["thumb", "Thumbnail"], ["news", "News"]];
const MEDIA_ICON = { image: "materials", thumb: "materials", voice: "voice", video: "video", news: "news" };
const SYNC = { 0: ["Local only", ""], 1: ["On WeChat", "green"], 2: ["Deleted on WeChat", "red"] };

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
    { name: "media_type", label: "Type", type: "segmented", options: MEDIA_TYPES },
    { name: "name", label: "Name", placeholder: "e.g. 春节海报.png" },
    { name: "media_id", label: "Media ID", mono: true, hint: "The media_id WeChat gave this material, if it is uploaded." },
    { name: "url", label: "URL", type: "url", full: true, placeholder: "https://mmbiz.qpic.cn/…", hint: "Where the file can be seen; used for the preview." },
    { name: "title", label: "Title", show: (v) => ["video", "news"].includes(v.media_type) },
    { name: "introduction", label: "Introduction", type: "textarea", rows: 3, show: (v) => ["video", "news"].includes(v.media_type) },
    { name: "is_permanent", label: "Permanent material (temporary media expire after 3 days)", type: "switch", full: true },
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
    return h("div", { class: "material-preview" }, filePreview({ localPath: m.local_path, url: m.url, alt: m.name || "Material preview" }, fallback), tag);
  }
  const playable = (m.media_type === "voice" || m.media_type === "video") && m.local_path;
  return h("div", { class: ["material-preview", playable && "material-playable"], title: m.local_path ? `Stored on the server: ${m.local_path}` : "" },
    fallback(), tag,
    playable ? mediaPlayer({ localPath: m.local_path, kind: m.media_type, label: m.name || m.title || typeLabel(m.media_type) }) : null,
    m.local_path ? h("span", { class: "visually-hidden" }, `Stored on the server at ${m.local_path}`) : null);
}

/** "Expires in 2 d" / "Expired" for temporary media. */
function lifetimeBadge(m) {
  if (m.is_permanent === 1) return badge("Permanent");
  if (!m.expires_at) return badge("Temporary", "amber");
  const left = new Date(m.expires_at).getTime() - Date.now();
  if (left <= 0) return h("span", { title: `Expired ${relativeTime(m.expires_at)}` }, badge("Expired", "red"));
  const hours = Math.floor(left / 3600000);
  const text = hours >= 24 ? `${Math.floor(hours / 24)} d ${hours % 24} h` : hours >= 1 ? `${hours} h` : `${Math.max(1, Math.floor(left / 60000))} min`;
  return h("span", { title: `Temporary: WeChat deletes it at ${new Date(m.expires_at).toLocaleString()}` }, badge(`Expires in ${text}`, "amber"));
}

function extensionOf(name) {
  const dot = name.lastIndexOf(".");
  return dot < 0 ? "" : name.slice(dot + 1).toLowerCase();
}

/** Why `file` cannot be a `type` material, or null. */
function fileProblem(file, type) {
  const [extensions, max] = LIMITS[type];
  if (!extensions.includes(extensionOf(file.name))) return `must be a ${extensions.join("/")} file for ${typeLabel(type).toLowerCase()} materials`;
  if (file.size === 0) return "is empty";
  if (file.size > max) return `is ${formatBytes(file.size)}; ${typeLabel(type).toLowerCase()} materials are at most ${formatBytes(max)}`;
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
    h("p", null, h("strong", null, "Drop a file here"), " or ",
      h("label", { for: "upload-file", class: "link-button" }, "choose one")),
    h("p", { class: "hint drop-rules" }),
    input, shown);

  const rules = () => {
    const [extensions, max] = LIMITS[values().media_type] || LIMITS.image;
    zone.querySelector(".drop-rules").textContent = `${extensions.join(", ")} · up to ${formatBytes(max)}`;
    input.accept = extensions.map((e) => `.${e}`).join(",");
  };

  const showFile = () => {
    const file = values().file;
    if (objectUrl) URL.revokeObjectURL(objectUrl);
    objectUrl = null;
    clear(shown);
    const problem = file ? fileProblem(file, values().media_type) : null;
    error.hidden = !problem;
    error.textContent = problem ? `${file.name} ${problem}` : "";
    zone.classList.toggle("has-file", Boolean(file));
    zone.classList.toggle("has-error", Boolean(problem));
    if (!file) return;
    objectUrl = URL.createObjectURL(file);
    const type = file.type || "";
    const media = type.startsWith("image/")
      ? h("img", { src: objectUrl, alt: `Preview of ${file.name}`, class: "drop-preview" })
      : type.startsWith("audio/") ? h("audio", { src: objectUrl, controls: true, class: "drop-preview" })
        : type.startsWith("video/") ? h("video", { src: objectUrl, controls: true, muted: true, class: "drop-preview" })
          : icon(MEDIA_ICON[values().media_type] || "materials", "drop-icon");
    shown.append(media, h("div", { class: "drop-meta" },
      h("span", { class: "drop-name" }, file.name), h("span", { class: "muted" }, formatBytes(file.size)),
      button("Remove the file", { icon: "close", iconOnly: true, kind: "btn-ghost btn-sm", onClick: () => set("file", null) })));
  };

  const take = (file) => {
    if (!file) return;
    // The type follows the file when it obviously belongs to another one.
    const ext = extensionOf(file.name);
    const current = values().media_type;
    if (!LIMITS[current][0].includes(ext)) {
      const fitting = UPLOAD_TYPES.map(([v]) => v).find((t) => LIMITS[t][0].includes(ext) && (t !== "thumb" || file.size <= LIMITS.thumb[1]));
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
  return h("div", { class: "field field-full" }, h("span", { class: "label" }, "File", h("span", { class: "req", "aria-hidden": "true" }, " *")), zone, error);
}

async function uploadDialog(ctx, type) {
  const start = LIMITS[type] ? type : "image";
  return formDialog({
    title: "Upload a material to WeChat",
    wide: true,
    intro: "The file goes to WeChat, which gives it a media_id for replies and menus; wxmp keeps a copy for previews.",
    fields: [
      ...(ctx.accounts.length > 1 ? [accountField(ctx)] : []),
      { name: "lifetime", label: "Lifetime", type: "segmented", options: [["permanent", "Permanent"], ["temporary", "Temporary (3 days)"]], full: true },
      { name: "media_type", label: "Type", type: "segmented", options: UPLOAD_TYPES, full: true },
      { type: "custom", render: dropZone },
      { name: "title", label: "Video title", required: true, show: (v) => v.media_type === "video" && v.lifetime === "permanent" },
      { name: "introduction", label: "Video introduction", type: "textarea", rows: 2, show: (v) => v.media_type === "video" && v.lifetime === "permanent" },
    ],
    values: { account_id: defaultAccount(ctx), lifetime: "permanent", media_type: start },
    submitLabel: "Upload",
    submit: async (v, form) => {
      const all = form.allValues();
      const file = all.file;
      if (!file) throw new ApiError(422, "Choose a file to upload (or drop one on the box).");
      const problem = fileProblem(file, v.media_type);
      if (problem) throw new ApiError(422, `${file.name} ${problem}.`);
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

/** Radio tiles of the account's permanent images, to pick a news cover from. */
const coverPicker = mediaPicker({
  name: "thumb_media_id",
  label: "Cover image",
  hint: "A permanent image material of this account: WeChat shows it as the article's cover.",
  types: () => ["image", "thumb"],
});

/** Creates a news draft (one article) on WeChat: /wechat/wxmaterials/upload_news. */
async function newsDialog(ctx) {
  return formDialog({
    title: "New news draft",
    wide: true,
    intro: "The article is saved as a draft (草稿) on WeChat; publish it from the WeChat console. wxmp keeps a record of it here.",
    fields: [
      ...(ctx.accounts.length > 1 ? [accountField(ctx)] : []),
      { name: "title", label: "Title", required: true, full: true, placeholder: "e.g. 春季新品上市" },
      { name: "author", label: "Author", placeholder: "Optional" },
      { name: "content_source_url", label: "Original article URL", type: "url", placeholder: "https://… (阅读原文)" },
      { name: "digest", label: "Digest", type: "textarea", rows: 2, full: true, placeholder: "Optional: the summary shown in the chat list" },
      { name: "content", label: "Content", type: "textarea", rows: 8, required: true, full: true, placeholder: "<p>The article, in HTML…</p>", hint: "HTML; images in it must be on WeChat's servers." },
      { name: "thumb_media_id", label: "Cover image", type: "custom", full: true, render: coverPicker },
    ],
    values: { account_id: defaultAccount(ctx), thumb_media_id: "" },
    submitLabel: "Create draft",
    submit: async (v) => {
      const errors = {};
      if (!String(v.title || "").trim()) errors.title = "is required.";
      if (!String(v.content || "").trim()) errors.content = "is required.";
      if (!v.thumb_media_id) errors.thumb_media_id = "is required: pick one of the images.";
      if (Object.keys(errors).length) throw new ApiError(422, "Check the highlighted fields.", errors);
      const article = { title: v.title.trim(), thumb_media_id: v.thumb_media_id, content: v.content };
      for (const key of ["author", "digest", "content_source_url"]) if (String(v[key] || "").trim()) article[key] = v[key].trim();
      try {
        return await api.post("/wechat/wxmaterials/upload_news", { account_id: v.account_id || defaultAccount(ctx), articles: [article] });
      } catch (error) {
        // The API names article fields "articles[0].title": show them at the fields.
        if (error instanceof ApiError && error.fields) {
          const fields = {};
          for (const [name, reason] of Object.entries(error.fields)) fields[name.replace(/^articles\[0\]\./, "")] = reason;
          throw new ApiError(error.status, error.message, fields, error.data);
        }
        throw error;
      }
    },
  });
}

/** The counts WeChat has of an account's permanent materials, in a dialog. */
async function countsDialog(ctx, accountId) {
  const counts = await api.post("/wechat/wxmaterials/material_count", { account_id: accountId });
  const rows = [["image_count", "Images", "materials"], ["voice_count", "Voice", "voice"], ["video_count", "Videos", "video"], ["news_count", "News", "news"]];
  await openModal({
    title: `On WeChat: ${ctx.accountLabel(accountId)}`,
    body: [
      h("p", { class: "modal-intro" }, "Permanent materials WeChat holds for this account (WeChat allows 100,000 images and 1,000 of each other kind)."),
      h("div", { class: "count-grid", dataset: { role: "material-counts" } }, rows.map(([key, label, iconName]) => h("div", { class: "count-tile" },
        icon(iconName), h("span", { class: "stat-value" }, String(counts[key] ?? 0)), h("span", { class: "stat-label" }, label)))),
    ],
    footer: (close) => [button("Close", { kind: "btn-primary", onClick: () => close(true) })],
  });
}

export async function render(ctx) {
  const type = ctx.params.get("media_type") || "";
  let list;
  const openForm = async (row) => {
    const editing = Boolean(row);
    const saved = await formDialog({
      title: editing ? "Edit material" : "Record a material",
      intro: editing ? null : "Records a material that already exists on WeChat (by its media_id) or on the web (by URL), without uploading anything.",
      fields: fields(ctx, editing),
      values: editing ? { ...row } : { account_id: defaultAccount(ctx), media_type: type || "image", is_permanent: 1 },
      submit: (v) => (editing ? resource("wxmaterials").edit({ id: row.id, ...v }) : resource("wxmaterials").add(v)),
    });
    if (saved) {
      toast(editing ? "Material saved." : "Material recorded.");
      list.reload();
    }
  };

  const upload = async () => {
    const saved = await uploadDialog(ctx, type);
    if (saved && saved.id) {
      toast(saved.is_permanent === 1 ? `Uploaded ${saved.name}: a permanent material now.` : `Uploaded ${saved.name}: WeChat keeps it for 3 days.`);
      list.reload();
    }
  };

  const deleteRemote = async (m, el) => {
    const ok = await confirmDialog({
      title: "Delete on WeChat?",
      message: `“${m.name || m.title || m.media_id}” is deleted from the account’s permanent materials on WeChat. Menus and replies that use its media_id stop working. The record here stays, marked as deleted.`,
      confirmText: "Delete on WeChat",
    });
    if (!ok) return;
    const done = await busy(el, () => api.post("/wechat/wxmaterials/delete_remote_media", { account_id: m.account_id, media_id: m.media_id }), "Could not delete it on WeChat");
    if (done) {
      toast("Deleted on WeChat.");
      list.reload();
    }
  };

  const newNews = async () => {
    const saved = await newsDialog(ctx);
    if (saved && saved.id) {
      toast(`Draft “${saved.title || saved.name}” created on WeChat.`);
      if (type && type !== "news") ctx.navigate("/wechat/wxmaterials?media_type=news");
      else list.reload();
    }
  };

  const sync = actionButton("Sync from WeChat", { icon: "download", action: "sync-materials", failTitle: "Could not sync the materials" }, async () => {
    const accountId = await chooseAccount(ctx, "Syncing materials");
    if (!accountId) return;
    const r = await api.post("/wechat/wxmaterials/sync_materials", { account_id: accountId });
    toast(`Synced ${r.remote} permanent material${r.remote === 1 ? "" : "s"} from WeChat: ${r.added} added, ${r.updated} updated, ${r.deleted_on_wechat} gone on WeChat.`);
    list.reload();
  });
  const counts = actionButton("Counts on WeChat", { icon: "cloud", action: "material-counts", failTitle: "Could not get the counts from WeChat" }, async () => {
    const accountId = await chooseAccount(ctx, "Counting materials");
    if (accountId) await countsDialog(ctx, accountId);
  });

  ctx.main.append(pageHeader("Materials", "Media the accounts reply and publish with.", [
    counts,
    sync,
    button("New news draft", { icon: "news", kind: "btn-secondary", onClick: newNews, disabled: !ctx.accounts.length, attrs: { "data-action": "new-news" } }),
    button("Record material", { icon: "plus", kind: "btn-secondary", onClick: () => openForm(null), disabled: !ctx.accounts.length, attrs: { "data-action": "add" } }),
    button("Upload", { icon: "upload", kind: "btn-primary", onClick: upload, disabled: !ctx.accounts.length, attrs: { "data-action": "upload" } }),
  ]));
  const missing = noAccounts(ctx, "Materials");
  if (missing) return ctx.main.append(missing);

  ctx.main.append(tabs([["", "All"], ...MEDIA_TYPES], type, (value) => ctx.navigate(`/wechat/wxmaterials${value ? `?media_type=${value}` : ""}`), "Material types"));

  list = listView({
    caption: "Materials",
    load: (q) => resource("wxmaterials").list(q),
    baseQuery: () => ({ ...scope(ctx), ...(type ? { media_type: type } : {}) }),
    pageSize: 20,
    pageSizes: [20, 40, 100],
    filters: [
      { name: "keyword", label: "Search", type: "search", placeholder: "Name or title…" },
      { name: "is_permanent", label: "Lifetime", type: "select", options: [["1", "Permanent"], ["0", "Temporary"]] },
      { name: "sync_status", label: "Sync", type: "select", options: Object.entries(SYNC).map(([v, [l]]) => [v, l]) },
    ],
    cards: (m) => {
      const [syncLabel, syncTone] = SYNC[m.sync_status] || [String(m.sync_status), ""];
      const remoteDelete = m.is_permanent === 1 && m.media_id && m.sync_status !== 2
        ? button("Delete on WeChat", { icon: "cloud", iconOnly: true, kind: "btn-ghost btn-sm", attrs: { "data-action": "delete-remote" }, onClick: (e) => deleteRemote(m, e.currentTarget) })
        : null;
      return h("article", { class: ["material", m.sync_status === 2 && "material-gone"], dataset: { id: m.id } },
        preview(m),
        h("div", { class: "material-body" },
          h("p", { class: "material-name", title: m.name || m.title }, m.name || m.title || "Untitled"),
          h("div", { class: "material-meta" }, lifetimeBadge(m), badge(syncLabel, syncTone)),
          h("div", { class: "material-meta" },
            m.file_size ? h("span", null, formatBytes(m.file_size)) : null,
            m.width && m.height ? h("span", null, `${m.width}×${m.height}`) : null,
            timeEl(m.created_at))),
        h("div", { class: "material-foot" },
          h("span", { class: "clip mono", title: m.media_id || "No media_id yet" }, m.media_id || "no media_id"),
          h("div", { class: "row-actions" },
            editButton("material", () => openForm(m)),
            remoteDelete,
            deleteButton({ name: "wxmaterials", noun: "material", describe: (x) => `The record of “${x.name || x.title || x.media_id || "Untitled"}” (not the file on WeChat)`, row: m, onDone: () => list.reload() }))));
    },
    empty: { icon: "materials", title: "No materials yet", hint: "Upload images, voice, video or thumbnails to WeChat, or sync the permanent materials the account already has.", action: button("Upload a file", { icon: "upload", kind: "btn-primary", onClick: upload }) },
  });
  ctx.main.append(list.root);
}
