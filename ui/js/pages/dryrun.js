// What a dry run (`POST /wechat/plugins/test`) answered, drawn the way a fan
// would see the reply. Shared by the plugins page (one plugin or the whole
// chain) and the auto replies page ("Try it").

import { t } from "../i18n/index.js";
import { h, icon, badge } from "../dom.js";
import { api } from "../api.js";
import { filePreview } from "./common.js";

export const OUTCOME = { reply: [t("dry.replied"), "green"], continue: [t("dry.no_handler"), "amber"], no_reply: [t("try.answered_nothing"), "blue"], error: [t("try.error"), "red"] };

/** 1234.5 → "1,234.50" with `digits` decimals. */
export function number(n, digits = 0) {
  return Number(n || 0).toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

/**
 * The account's permanent materials of one type, looked up by media_id, so
 * an image reply can show the picture. One request per type and account.
 */
export function materialLookup(accountId) {
  const byType = new Map();
  return async (mediaType, mediaId) => {
    if (!accountId || !mediaId) return null;
    if (!byType.has(mediaType)) {
      byType.set(mediaType, api.get("/wechat/wxmaterials/list", { account_id: accountId, media_type: mediaType, is_permanent: 1, page: 1, page_size: 100 })
        .then((data) => data.list)
        .catch(() => []));
    }
    return (await byType.get(mediaType)).find((m) => m.media_id === mediaId) || null;
  };
}

/** An outgoing bubble (the account's side of the chat). */
function bubble(content, extraClass) {
  return h("div", { class: "msg out" }, h("div", { class: "msg-col" }, h("div", { class: ["bubble", extraClass], dataset: { role: "dry-reply" } }, content)));
}

/** An image reply: the picture when the material has a stored copy. */
function imageBubble(reply, lookup) {
  const slot = h("span", { class: "bubble-kind" }, icon("materials"), h("span", null, t("msgtype.image")));
  const el = bubble([slot, h("span", { class: "cell-sub mono reply-media-id" }, reply.media_id)], "bubble-media");
  if (lookup) {
    lookup("image", reply.media_id).then((m) => {
      if (!m || !(m.local_path || m.url)) return;
      slot.replaceWith(filePreview({ localPath: m.local_path, url: m.url, alt: m.name || t("dry.image_alt") }, () => slot));
    });
  }
  return el;
}

/** A reply as the fan would see it. `lookup` (see materialLookup) finds media. */
export function replyView(reply, lookup) {
  if (!reply) return null;
  switch (reply.type) {
    case "text":
      return bubble(reply.content);
    case "news":
      return h("div", { class: "news-cards", dataset: { role: "dry-reply" } }, (reply.articles || []).map((a) => h("div", { class: "news-card" },
        h("strong", null, a.title || t("dry.no_title")), a.description ? h("span", { class: "muted" }, a.description) : null,
        a.url ? h("span", { class: "mono clip" }, a.url) : null)));
    case "image":
      return imageBubble(reply, lookup);
    case "voice":
      return bubble([h("span", { class: "bubble-kind" }, icon("voice"), h("span", null, t("messages.voice"))), h("span", { class: "cell-sub mono reply-media-id" }, reply.media_id)], "bubble-media");
    case "video":
      return bubble([h("span", { class: "bubble-kind" }, icon("video"), h("strong", null, reply.title || t("msgtype.video"))),
        reply.description ? h("span", { class: "muted" }, reply.description) : null,
        h("span", { class: "cell-sub mono reply-media-id" }, reply.media_id)], "bubble-media");
    case "music":
      return bubble([h("span", { class: "bubble-kind" }, icon("music"), h("strong", null, reply.title || t("msgtype.music"))),
        reply.description ? h("span", { class: "muted" }, reply.description) : null,
        reply.music_url ? h("span", { class: "cell-sub mono clip" }, reply.music_url) : null], "bubble-media");
    case "transfer_customer_service":
      return h("div", { class: "bubble-kind", dataset: { role: "dry-reply" } }, icon("messages"), t("dry.transfer"));
    default:
      return h("pre", { class: "code-block", dataset: { role: "dry-reply" } }, JSON.stringify(reply, null, 2));
  }
}

/**
 * A dry run's result: outcome, who answered, the reply, its XML, the logs.
 * Options: `outcomes` (labels per outcome), `handler(name)` → words for the
 * handler, `lookup` for media, `quietLogs` to leave out an empty log.
 */
export function resultView(r, { outcomes = OUTCOME, handler, lookup, quietLogs = false } = {}) {
  const [label, tone] = outcomes[r.outcome] || [r.outcome, ""];
  const hasLogs = r.logs && r.logs.length;
  return h("div", { class: "dry-result", dataset: { outcome: r.outcome } },
    h("div", { class: "dry-summary" },
      badge(label, tone),
      r.handler
        ? h("span", { dataset: { role: "dry-handler" } }, t("dry.by"), handler ? [h("strong", null, handler(r.handler)), " ", h("code", { class: "muted" }, r.handler)] : h("code", null, r.handler))
        : null,
      typeof r.micros === "number" && r.micros > 0 ? h("span", { class: "muted" }, `${number(r.micros / 1000, 2)} ms`) : null),
    r.error ? h("div", { class: "alert alert-error", role: "alert" }, icon("alert"), h("span", { class: "pre" }, r.error)) : null,
    r.reply ? h("div", { class: "dry-section" }, h("h3", null, t("messages.reply")), replyView(r.reply, lookup)) : null,
    r.reply_xml ? h("details", { class: "dry-section" }, h("summary", null, t("dry.reply_xml")), h("pre", { class: "code-block" }, r.reply_xml)) : null,
    r.state_writes && r.state_writes.length ? h("div", { class: "dry-section" }, h("h3", null, t("dry.state_writes")),
      h("ul", { class: "log-lines", dataset: { role: "dry-state-writes" } }, r.state_writes.map((w) => h("li", null,
        h("code", null, w.scope === "fan" ? `${w.plugin} · ${w.openid} · ${w.key}` : `${w.plugin} · ${w.key}`), " ",
        h("span", { class: "pre" }, `${w.old === null ? t("dry.state_missing") : JSON.stringify(w.old)} → ${w.new === null ? t("dry.state_removed") : JSON.stringify(w.new)}`))))) : null,
    quietLogs && !hasLogs ? null : h("div", { class: "dry-section" }, h("h3", null, t("dry.logs")),
      hasLogs
        ? h("ul", { class: "log-lines", dataset: { role: "dry-logs" } }, r.logs.map((l) => h("li", { class: `log-${l.level}` }, h("span", { class: "log-level" }, l.level), h("span", { class: "pre" }, l.message))))
        : h("p", { class: "muted" }, t("dry.nothing_logged"))));
}
