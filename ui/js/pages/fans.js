// Fans (wx_users): who follows the accounts.

import { h, icon, imageOr, toast, timeEl, comingSoon, truncate } from "../dom.js";
import { resource } from "../api.js";
import { listView, pageHeader, formDialog } from "../components.js";
import { scope, noAccounts, accountColumn, editButton, statusBadge } from "./common.js";

const SCENES = [
  ["ADD_SCENE_SEARCH", "Search"], ["ADD_SCENE_ACCOUNT_MIGRATION", "Account migration"], ["ADD_SCENE_PROFILE_CARD", "Profile card"],
  ["ADD_SCENE_QR_CODE", "QR code"], ["ADD_SCENE_PROFILE_LINK", "Article name link"], ["ADD_SCENE_PROFILE_ITEM", "Profile menu"],
  ["ADD_SCENE_PAID", "Paid"], ["ADD_SCENE_WECHAT_ADVERTISEMENT", "Advertisement"], ["ADD_SCENE_REPRINT", "Reprint"],
  ["ADD_SCENE_LIVESTREAM", "Live stream"], ["ADD_SCENE_CHANNELS", "Channels"], ["ADD_SCENE_OTHERS", "Other"],
];

const initial = (u) => document.createTextNode(Array.from(u.nickname || "粉")[0]);

function person(u) {
  const avatar = h("span", { class: "avatar avatar-sm", "aria-hidden": "true" },
    u.headimgurl ? imageOr({ src: u.headimgurl, alt: "" }, () => initial(u)) : initial(u));
  return h("div", { class: "cell-person" }, avatar,
    h("div", { class: "cell-stack" },
      h("span", { class: "cell-main" }, u.nickname || "(no nickname)", u.remark ? h("span", { class: "muted" }, ` · ${u.remark}`) : null),
      h("span", { class: "cell-sub mono", title: u.openid }, truncate(u.openid, 22))));
}

export async function render(ctx) {
  let list;
  const editRemark = async (u) => {
    const saved = await formDialog({
      title: `Remark for ${u.nickname || u.openid}`,
      fields: [
        { name: "remark", label: "Remark", full: true, hint: "Up to 30 characters; only you see it. Syncing it to WeChat comes with the WeChat API client." },
      ],
      values: { remark: u.remark },
      submit: (v) => resource("wxusers").edit({ id: u.id, remark: v.remark }),
    });
    if (saved) {
      toast("Remark saved.");
      list.reload();
    }
  };

  ctx.main.append(pageHeader("Fans", "People who follow the accounts (粉丝).", [comingSoon("Sync fans", "refresh")]));
  const missing = noAccounts(ctx, "Fans");
  if (missing) return ctx.main.append(missing);

  list = listView({
    caption: "Fans",
    load: (q) => resource("wxusers").list(q),
    baseQuery: () => scope(ctx),
    filters: [
      { name: "keyword", label: "Search", type: "search", placeholder: "Nickname, remark or openid…" },
      { name: "subscribe_status", label: "Status", type: "select", options: [["1", "Subscribed"], ["0", "Unsubscribed"]] },
      { name: "subscribe_scene", label: "Came from", type: "select", options: SCENES },
      { type: "daterange", label: "First seen" },
    ],
    columns: [
      { label: "Fan", render: person },
      ...accountColumn(ctx),
      { label: "Status", render: (u) => statusBadge(u.subscribe_status === 1, ["Subscribed", "Unsubscribed"]) },
      { label: "Subscribed", class: "nowrap", render: (u) => timeEl(u.subscribe_time) },
      { label: "Last active", class: "nowrap", render: (u) => timeEl(u.last_interact_time, { relative: true }) },
      { label: "Messages", class: "num", render: (u) => String(u.message_count) },
      { label: "Tags", render: (u) => (Array.isArray(u.tags) && u.tags.length ? u.tags.join(", ") : h("span", { class: "muted" }, "—")) },
    ],
    rowActions: (u) => [
      h("a", { class: "btn btn-ghost btn-sm btn-icon", href: `/wechat/wxmessages?openid=${encodeURIComponent(u.openid)}&account_id=${encodeURIComponent(u.account_id)}`, title: "Conversation", "aria-label": `Conversation with ${u.nickname || u.openid}` }, icon("messages")),
      editButton("remark", () => editRemark(u)),
    ],
    empty: { icon: "fans", title: "No fans yet", hint: "Fans are recorded as they follow the account or write to it. Syncing the full list comes with the WeChat API client." },
  });
  ctx.main.append(list.root);
}
