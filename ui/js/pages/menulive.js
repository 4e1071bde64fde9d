// What is live on WeChat for the account's menu, as wxmp last published,
// read back or deleted it (GET /wechat/wxmenus/live), and how the saved
// draft differs from it, button by button. "Check WeChat" reads the live
// menu again without touching the draft.

import { t } from "../i18n/index.js";
import { h, icon, button, formatTime } from "../dom.js";
import { api, ApiError } from "../api.js";
import { busy } from "./common.js";

const TARGET = ["key", "url", "media_id", "article_id", "appid", "pagepath"];

/** One line per button: "Top › Sub · type · target" (a group: "Top ›"). */
function lines(menu) {
  const out = [];
  const leaf = (path, b) => [path, b.type || "", ...TARGET.filter((k) => b[k]).map((k) => b[k])].filter(Boolean).join(" · ");
  for (const top of (menu && menu.button) || []) {
    if (top.sub_button && top.sub_button.length) {
      out.push(`${top.name} ›`);
      for (const sub of top.sub_button) out.push(leaf(`${top.name} › ${sub.name}`, sub));
    } else {
      out.push(leaf(top.name, top));
    }
  }
  return out;
}

/** Lines of `a` not in `b`, counting repeats. */
function minus(a, b) {
  const left = [...b];
  return a.filter((line) => {
    const at = left.indexOf(line);
    if (at < 0) return true;
    left.splice(at, 1);
    return false;
  });
}

export function livePanel({ accountId, dirty }) {
  const el = h("div", { class: "menu-live", "aria-live": "polite", dataset: { role: "menu-live" } });

  function show(data) {
    const live = data.live;
    const check = button(t("menus.live_check"), { kind: "btn-secondary btn-sm", icon: "refresh", attrs: { "data-action": "check-menu" }, onClick: (e) => checkNow(e.currentTarget) });
    if (!live) {
      el.replaceChildren(h("p", { class: "hint", dataset: { live: "unknown" } }, t("menus.live_unknown")), check);
      return;
    }
    const when = formatTime(live.seen_at);
    const who = live.admin_name || "—";
    const said = t(`menus.live_${live.source}`, { when, who });
    const added = minus(lines(data.draft), lines(live.menu));
    const removed = minus(lines(live.menu), lines(data.draft));
    const same = added.length === 0 && removed.length === 0;
    const empty = !((live.menu && live.menu.button) || []).length;
    el.replaceChildren(
      h("p", { class: ["remote-note", same ? null : "differs"], role: "status", dataset: { live: same ? "same" : "differs" } },
        icon(same ? "check" : "alert"),
        h("span", null, t("menus.live_line", { said, state: empty ? t("menus.live_no_menu") : same ? t("menus.live_same") : t("menus.live_differs") }))),
      same ? null : h("ul", { class: "menu-diff", dataset: { role: "menu-diff" } },
        ...added.map((line) => h("li", { class: "diff-add", dataset: { diff: "draft" } }, h("strong", null, t("menus.diff_draft_only")), " ", h("span", { class: "mono" }, line))),
        ...removed.map((line) => h("li", { class: "diff-remove", dataset: { diff: "live" } }, h("strong", null, t("menus.diff_live_only")), " ", h("span", { class: "mono" }, line)))),
      dirty() ? h("p", { class: "hint" }, t("menus.live_unsaved")) : null,
      check);
  }

  async function refresh() {
    try {
      show(await api.get("/wechat/wxmenus/live", { account_id: accountId }));
    } catch (error) {
      if (!(error instanceof ApiError)) console.error(error);
      else if (error.status !== 401) el.replaceChildren(h("p", { class: "hint" }, error.message));
    }
  }

  async function checkNow(target) {
    const data = await busy(target, () => api.post("/wechat/wxmenus/check_menu", { account_id: accountId }), t("menus.live_check_failed"));
    if (data) show(data);
  }

  return { el, refresh };
}
