// WeChat Pay: orders and refunds, read-only (written by the pay service).

import { h, badge, timeEl, money, truncate, comingSoon } from "../dom.js";
import { api } from "../api.js";
import { listView, pageHeader, tabs } from "../components.js";
import { scope, noAccounts, accountColumn } from "./common.js";

const TRADE_STATES = [
  ["SUCCESS", "Paid", "green"], ["NOTPAY", "Not paid", "amber"], ["USERPAYING", "Paying", "blue"], ["REFUND", "Refunded", "purple"],
  ["CLOSED", "Closed", ""], ["REVOKED", "Revoked", ""], ["PAYERROR", "Failed", "red"],
];
const TRADE_TYPES = [["JSAPI", "JSAPI (in WeChat)"], ["NATIVE", "Native (QR code)"], ["APP", "App"], ["MWEB", "H5"]];
const REFUND_STATES = [["SUCCESS", "Refunded", "green"], ["PROCESSING", "Processing", "blue"], ["CLOSED", "Closed", ""], ["ABNORMAL", "Abnormal", "red"]];

function stateBadge(list, value) {
  const found = list.find(([v]) => v === value);
  return found ? badge(found[1], found[2]) : badge(value || "—");
}

function orders(ctx) {
  return listView({
    caption: "Pay orders",
    load: (q) => api.get("/wechat/wxpay/orders", q),
    baseQuery: () => scope(ctx),
    filters: [
      { name: "keyword", label: "Search", type: "search", placeholder: "Description or order number…" },
      { name: "trade_state", label: "State", type: "select", options: TRADE_STATES.map(([v, l]) => [v, l]) },
      { name: "trade_type", label: "Channel", type: "select", options: TRADE_TYPES },
      { name: "openid", label: "Payer openid", type: "text", placeholder: "o…" },
      { type: "daterange", label: "Created" },
    ],
    columns: [
      { label: "Order", render: (o) => h("div", { class: "cell-stack" }, h("span", { class: "cell-main" }, o.description || "(no description)"), h("span", { class: "cell-sub mono" }, o.out_trade_no)) },
      ...accountColumn(ctx),
      { label: "Amount", class: "num", render: (o) => h("div", { class: "cell-stack" }, h("strong", null, money(o.total_fee)), o.refunded_total ? h("span", { class: "cell-sub" }, `refunded ${money(o.refunded_total)}`) : null) },
      { label: "State", render: (o) => h("div", { class: "cell-stack" }, h("span", null, stateBadge(TRADE_STATES, o.trade_state)), o.trade_type ? h("span", { class: "cell-sub" }, o.trade_type) : null) },
      { label: "Payer", render: (o) => h("span", { class: "mono", title: o.openid }, truncate(o.openid, 16) || "—") },
      { label: "Paid", class: "nowrap", render: (o) => (o.paid_at ? timeEl(o.paid_at) : h("span", { class: "cell-sub" }, "created ", timeEl(o.created_at))) },
    ],
    rowActions: () => [comingSoon("Refund", "refresh", { iconOnly: true })],
    empty: { icon: "pay", title: "No orders yet", hint: "Orders appear here once the account takes payments through wxmp." },
  });
}

function refunds(ctx) {
  return listView({
    caption: "Refunds",
    load: (q) => api.get("/wechat/wxpay/refunds", q),
    baseQuery: () => scope(ctx),
    filters: [
      { name: "status", label: "Status", type: "select", options: REFUND_STATES.map(([v, l]) => [v, l]) },
      { name: "out_trade_no", label: "Order number", type: "text" },
      { name: "out_refund_no", label: "Refund number", type: "text" },
      { type: "daterange", label: "Created" },
    ],
    columns: [
      { label: "Refund", render: (r) => h("div", { class: "cell-stack" }, h("span", { class: "cell-main mono" }, r.out_refund_no), h("span", { class: "cell-sub mono" }, `order ${r.out_trade_no}`)) },
      ...accountColumn(ctx),
      { label: "Amount", class: "num", render: (r) => h("div", { class: "cell-stack" }, h("strong", null, money(r.refund_fee)), h("span", { class: "cell-sub" }, `of ${money(r.total_fee)}`)) },
      { label: "Status", render: (r) => stateBadge(REFUND_STATES, r.status) },
      { label: "Reason", render: (r) => h("span", { class: "clip", title: r.reason }, r.reason || "—") },
      { label: "Completed", class: "nowrap", render: (r) => timeEl(r.success_time) },
      { label: "Created", class: "nowrap", render: (r) => timeEl(r.created_at) },
    ],
    empty: { icon: "pay", title: "No refunds", hint: "Refunds of orders are listed here with their status." },
  });
}

export async function render(ctx) {
  const tab = ctx.params.get("tab") === "refunds" ? "refunds" : "orders";
  ctx.main.append(pageHeader("Pay", "WeChat Pay (微信支付) orders and refunds. Amounts are in yuan."));
  const missing = noAccounts(ctx, "Payments");
  if (missing) return ctx.main.append(missing);
  ctx.main.append(tabs([["orders", "Orders"], ["refunds", "Refunds"]], tab, (value) => ctx.navigate(value === "refunds" ? "/wechat/wxpay?tab=refunds" : "/wechat/wxpay"), "Pay sections"));
  ctx.main.append((tab === "refunds" ? refunds(ctx) : orders(ctx)).root);
}
