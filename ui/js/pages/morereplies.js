// The replies of a rule: the first (fields of the rule form) and up to four
// more, each its own small form, sent all (回复全部) or one at random
// (随机回复一条). The server names their errors `more_replies.<i>.<field>`.

import { t } from "../i18n/index.js";
import { h, button } from "../dom.js";
import { buildForm } from "../form.js";
import { mediaPicker } from "./common.js";

export const REPLY_TYPES = ["text", "image", "voice", "video", "news", "music"].map((type) => [type, t(`msgtype.${type}`)]);
/** A rule has at most this many replies, as on WeChat's own console. */
const MAX_REPLIES = 5;

const is = (...types) => (v) => types.includes(v.message_type);

/** The media of image, voice and video replies: picked from the account's
 * permanent materials of that type, or typed. */
const mediaField = mediaPicker({
  name: "media_id",
  label: t("rules.media"),
  manual: true,
  hint: t("rules.media_hint"),
  types: (v) => (["image", "voice", "video"].includes(v.message_type) ? [v.message_type] : []),
});
const thumbField = mediaPicker({
  name: "thumb_media_id",
  label: t("rules.thumbnail"),
  manual: true,
  hint: t("rules.thumbnail_hint"),
  types: (v) => (v.message_type === "music" ? ["thumb"] : []),
});

/** The fields of one reply, as the rule's columns name them. */
export function replyFields() {
  return [
    { name: "message_type", label: t("rules.reply_with"), type: "segmented", options: REPLY_TYPES },
    { name: "content", label: t("msgtype.text"), type: "textarea", rows: 5, required: true, show: is("text"), maxBytes: 2048, placeholder: t("rules.text_placeholder") },
    { name: "media_id", label: t("rules.media"), type: "custom", full: true, show: is("image", "voice", "video"), render: mediaField },
    { name: "title", label: t("rules.title"), show: is("video", "news", "music"), full: true, hint: (v) => (v.message_type === "news" ? t("rules.title_news") : t("accounts.optional")) },
    { name: "description", label: t("rules.description"), type: "textarea", rows: 3, show: is("video", "news", "music") },
    { name: "pic_url", label: t("rules.pic_url"), type: "url", show: is("news"), full: true, placeholder: "https://…" },
    { name: "url", label: t("rules.article_url"), type: "url", required: true, show: is("news"), full: true, placeholder: "https://…" },
    { name: "music_url", label: t("rules.music_url"), type: "url", required: true, show: is("music"), full: true },
    { name: "hq_music_url", label: t("rules.hq_music_url"), type: "url", show: is("music"), full: true },
    { name: "thumb_media_id", label: t("rules.thumbnail"), type: "custom", full: true, show: is("music"), render: thumbField },
  ];
}

const REPLY_MODES = [[0, t("rules.mode.all")], [1, t("rules.mode.random")]];

/** How a rule with several replies sends them. */
export const replyModeField = {
  name: "reply_mode",
  label: t("rules.mode"),
  type: "segmented",
  numeric: true,
  options: REPLY_MODES,
  show: (v) => (v.more_replies || []).length > 0,
  hint: (v) => t(Number(v.reply_mode) === 1 ? "rules.mode_hint.random" : "rules.mode_hint.all"),
};

/** The custom field `more_replies`: a card per reply after the first. */
export function moreRepliesField() {
  return {
    name: "more_replies",
    label: t("rules.more_replies"),
    type: "custom",
    full: true,
    render: ({ values, set, onChange, onErrors }) => {
      const cards = [];
      const list = h("ol", { class: "reply-cards", dataset: { role: "more-replies" } });
      const add = button(t("rules.add_reply"), { icon: "plus", kind: "btn-secondary", attrs: { "data-action": "add-reply" } });
      const publish = () => {
        set("more_replies", cards.map((card) => ({ message_type: "text", ...card.form.values() })));
        add.disabled = cards.length + 1 >= MAX_REPLIES;
        cards.forEach((card, i) => { card.title.textContent = t("rules.reply_n", { n: i + 2 }); });
      };
      const addCard = (reply) => {
        const form = buildForm(replyFields(), { account_id: values().account_id, message_type: "text", ...reply });
        // A nested <form> cannot submit the rule's dialog: its fields only.
        const body = h("div", { class: "reply-card-body" }, ...form.el.childNodes);
        const title = h("h4", { class: "reply-card-title" });
        const remove = button(t("rules.remove_reply"), { icon: "trash", kind: "btn-ghost btn-sm", attrs: { "data-action": "remove-reply" } });
        const item = h("li", { class: "reply-card", dataset: { role: "reply-card" } }, h("div", { class: "reply-card-head" }, title, remove), body);
        const card = { form, title, item };
        remove.addEventListener("click", () => {
          cards.splice(cards.indexOf(card), 1);
          item.remove();
          publish();
        });
        form.onChange(publish);
        cards.push(card);
        list.append(item);
      };
      for (const reply of values().more_replies || []) addCard(reply);
      add.addEventListener("click", () => {
        addCard({});
        publish();
        cards[cards.length - 1].item.querySelector("textarea, input")?.focus();
      });
      onChange((v, name) => {
        // The pickers list the materials of the rule's account.
        if (name === "account_id") for (const card of cards) card.form.allValues().account_id = v.account_id;
      });
      onErrors((errors) => {
        let first = null;
        cards.forEach((card, i) => {
          const mine = {};
          for (const [key, reason] of Object.entries(errors)) {
            const [index, field] = key.split(".");
            if (Number(index) === i && field) mine[field] = reason;
          }
          card.form.clearErrors();
          if (Object.keys(mine).length) {
            card.form.setErrors(mine);
            first = first || card.item.querySelector("[aria-invalid=true]");
          }
        });
        return first;
      });
      publish();
      return h("div", { class: "more-replies" }, h("span", { class: "label" }, t("rules.more_replies")), h("p", { class: "hint" }, t("rules.more_replies_hint")), list, add);
    },
  };
}
