// Picks a fan of an account from a search (remark, nickname or openid) for a
// form field holding the openid; an openid can still be typed or pasted.

import { t } from "../i18n/index.js";
import { h } from "../dom.js";
import { resource, ApiError } from "../api.js";
import { nickname } from "./common.js";

/** A custom form field `name` (the openid) with search results under it. */
export function fanPicker({ name, label, accountId, hint }) {
  return {
    type: "custom",
    name,
    full: true,
    render: ({ values, set, id }) => {
      const input = h("input", { id, type: "search", class: "mono", autocomplete: "off", spellcheck: "false", placeholder: t("tpl.fan_search_placeholder"), value: values()[name] || "", "aria-describedby": `${id}-hint` });
      const results = h("ul", { class: "fan-results", role: "listbox", "aria-label": t("tpl.fan_results"), dataset: { role: "fan-results" } });
      const chosen = h("p", { class: "hint", dataset: { role: "fan-chosen" } });
      let timer = null;
      let asked = 0;
      const choose = (fan) => {
        input.value = fan.openid;
        set(name, fan.openid);
        results.replaceChildren();
        chosen.replaceChildren(t("tpl.fan_chosen"), " ", nickname(fan), fan.remark ? ` (${fan.remark})` : "", " · ", h("span", { class: "mono" }, fan.openid));
      };
      const search = async (text) => {
        const mine = ++asked;
        try {
          const found = await resource("wxusers").list({ account_id: accountId, keyword: text, page: 1, page_size: 8 });
          if (mine !== asked) return;
          results.replaceChildren(...(found.list.length
            ? found.list.map((fan) => h("li", { role: "option" },
              h("button", { type: "button", class: "fan-result", dataset: { openid: fan.openid }, onclick: () => choose(fan) },
                nickname(fan), fan.remark ? h("span", { class: "muted" }, ` ${fan.remark}`) : null, h("span", { class: "cell-sub mono" }, fan.openid))))
            : [h("li", { class: "muted" }, t("tpl.fan_none"))]));
        } catch (error) {
          if (!(error instanceof ApiError)) console.error(error);
        }
      };
      input.addEventListener("input", () => {
        set(name, input.value.trim());
        chosen.replaceChildren();
        clearTimeout(timer);
        const text = input.value.trim();
        if (!text) {
          results.replaceChildren();
          return;
        }
        timer = setTimeout(() => search(text), 200);
      });
      return h("div", { class: "fan-picker" },
        h("label", { class: "label", for: id }, label),
        input,
        h("p", { class: "hint", id: `${id}-hint` }, hint),
        chosen,
        results);
    },
  };
}
