// Materials: images, voice, video, thumbnails and news, as a grid.

import { h, icon, badge, button, toast, formatBytes, comingSoon, timeEl, imageOr } from "../dom.js";
import { resource } from "../api.js";
import { listView, pageHeader, formDialog, tabs } from "../components.js";
import { scope, noAccounts, accountField, defaultAccount, deleteButton, editButton } from "./common.js";

const MEDIA_TYPES = [["image", "Image"], ["voice", "Voice"], ["video", "Video"], ["thumb", "Thumbnail"], ["news", "News"]];
const MEDIA_ICON = { image: "materials", thumb: "materials", voice: "voice", video: "video", news: "news" };
const SYNC = { 0: ["Local only", ""], 1: ["On WeChat", "green"], 2: ["Sync failed", "red"] };

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

function preview(m) {
  const canShow = (m.media_type === "image" || m.media_type === "thumb") && m.url;
  const tag = badge(MEDIA_TYPES.find(([v]) => v === m.media_type)?.[1] || m.media_type, "blue");
  if (canShow) {
    return h("div", { class: "material-preview" },
      imageOr({ src: m.url, alt: m.name || "Material preview" }, () => icon(MEDIA_ICON[m.media_type])), tag);
  }
  return h("div", { class: "material-preview", title: m.local_path ? `Stored on the server: ${m.local_path}` : "" },
    icon(MEDIA_ICON[m.media_type] || "materials"), tag,
    m.local_path ? h("span", { class: "visually-hidden" }, `Stored on the server at ${m.local_path}`) : null);
}

export async function render(ctx) {
  const type = ctx.params.get("media_type") || "";
  let list;
  const openForm = async (row) => {
    const editing = Boolean(row);
    const saved = await formDialog({
      title: editing ? "Edit material" : "Record a material",
      intro: editing ? null : "Records a material that already exists on WeChat (by its media_id) or on the web (by URL).",
      fields: fields(ctx, editing),
      values: editing ? { ...row } : { account_id: defaultAccount(ctx), media_type: type || "image", is_permanent: 1 },
      submit: (v) => (editing ? resource("wxmaterials").edit({ id: row.id, ...v }) : resource("wxmaterials").add(v)),
    });
    if (saved) {
      toast(editing ? "Material saved." : "Material recorded.");
      list.reload();
    }
  };

  ctx.main.append(pageHeader("Materials", "Media the accounts reply and publish with.", [
    comingSoon("Upload to WeChat", "upload"),
    comingSoon("Sync from WeChat", "refresh"),
    button("Record material", { icon: "plus", kind: "btn-primary", onClick: () => openForm(null), disabled: !ctx.accounts.length, attrs: { "data-action": "add" } }),
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
      return h("article", { class: "material", dataset: { id: m.id } },
        preview(m),
        h("div", { class: "material-body" },
          h("p", { class: "material-name", title: m.name || m.title }, m.name || m.title || "Untitled"),
          h("div", { class: "material-meta" },
            badge(m.is_permanent === 1 ? "Permanent" : "Temporary", m.is_permanent === 1 ? "" : "amber"),
            badge(syncLabel, syncTone)),
          h("div", { class: "material-meta" },
            m.file_size ? h("span", null, formatBytes(m.file_size)) : null,
            m.width && m.height ? h("span", null, `${m.width}×${m.height}`) : null,
            timeEl(m.created_at))),
        h("div", { class: "material-foot" },
          h("span", { class: "clip mono", title: m.media_id || "No media_id yet" }, m.media_id || "no media_id"),
          h("div", { class: "row-actions" },
            editButton("material", () => openForm(m)),
            deleteButton({ name: "wxmaterials", noun: "material", describe: (x) => `“${x.name || x.title || x.media_id || "Untitled"}”`, row: m, onDone: () => list.reload() }))));
    },
    empty: { icon: "materials", title: "No materials yet", hint: "Record materials by media_id or URL; uploading to WeChat comes with the WeChat API client." },
  });
  ctx.main.append(list.root);
}
