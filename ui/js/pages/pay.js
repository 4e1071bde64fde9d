// WeChat Pay: orders (detail, new Native order with its QR code, query,
// close, refund), refunds (status query) and the notifications journal.
// Amounts are integer fen on the wire and yuan on screen; conversions are
// done on strings, never with floating point.

import { h, icon, badge, button, timeEl, money, truncate, toast, copyText, openModal, confirmDialog, alertDialog } from "../dom.js";
import { api, blobUrl, ApiError } from "../api.js";
import { pageHeader, tabs, loadingState, errorState } from "../states.js";
import { listView } from "../list.js";
import { formDialog } from "../form.js";
import { scope, noAccounts, accountColumn, accountField, busy, actionButton } from "./common.js";

const TRADE_STATES = [
  ["SUCCESS", "Paid", "green"], ["NOTPAY", "Not paid", "amber"], ["USERPAYING", "Paying", "blue"], ["REFUND", "Refunded", "purple"],
  ["CLOSED", "Closed", ""], ["REVOKED", "Revoked", ""], ["PAYERROR", "Failed", "red"],
];
const TRADE_TYPES = [["JSAPI", "JSAPI (in WeChat)"], ["NATIVE", "Native (QR code)"], ["APP", "App"], ["MWEB", "H5"]];
const REFUND_STATES = [
  ["SUCCESS", "Refunded", "green"], ["PROCESSING", "Processing", "blue"], ["SUBMITTING", "Submitting", "blue"], ["CLOSED", "Closed", ""],
  ["ABNORMAL", "Abnormal", "red"], ["FAILED", "Failed", "red"],
];
const NOTIFY_RESULTS = [
  ["paid", "Paid", "green"], ["refund_updated", "Refund updated", "green"], ["unchanged", "Replay, unchanged", ""],
  ["unknown_order", "Unknown order", "amber"], ["amount_mismatch", "Amount mismatch", "red"], ["illegal_transition", "Refused transition", "red"],
  ["ignored", "Ignored", ""],
];
const EXPIRY = [["", "WeChat Pay's default (2 hours)"], ["15", "15 minutes"], ["30", "30 minutes"], ["120", "2 hours"], ["1440", "1 day"], ["10080", "7 days"]];

const OPEN = ["NOTPAY", "USERPAYING", "PAYERROR"];
const PAID = ["SUCCESS", "REFUND"];

function stateBadge(list, value) {
  const found = list.find(([v]) => v === value);
  return found ? badge(found[1], found[2]) : badge(value || "—");
}

/** "12.34" / "¥12.3" / "12" → 1234 / 1230 / 1200 fen; null when it is not an amount. */
export function parseYuan(text) {
  const t = String(text ?? "").trim().replace(/^[¥￥]\s*/, "").replace(/,/g, "");
  const m = /^(\d{0,10})(?:\.(\d{0,2}))?$/.exec(t);
  if (!m || (!m[1] && !m[2])) return null;
  return Number(m[1] || "0") * 100 + Number((m[2] || "").padEnd(2, "0"));
}

/** 1234 fen → "12.34" (for inputs; `money` is for display). */
function yuanText(fen) {
  const n = Math.max(0, Math.trunc(Number(fen || 0)));
  return `${Math.floor(n / 100)}.${String(n % 100).padStart(2, "0")}`;
}

const refundable = (o) => Math.max(0, Number(o.total_fee || 0) - Number(o.refunded_total || 0));
const canRefund = (o) => PAID.includes(o.trade_state) && o.flagged !== 1 && refundable(o) > 0;
const canClose = (o) => OPEN.includes(o.trade_state);

/** Renames field errors of the API (fen) to the form's fields (yuan). */
function renameFields(error, names) {
  if (!(error instanceof ApiError) || !error.fields) return error;
  const fields = {};
  for (const [name, reason] of Object.entries(error.fields)) fields[names[name] || name] = reason;
  return new ApiError(error.status, error.message, fields, error.data);
}

/** The accounts that can take payments (the pay settings are filled in). */
function payAccounts(ctx) {
  return ctx.accounts.filter((a) => a.mch_id);
}

// ---- new Native order --------------------------------------------------------

async function newOrder(ctx) {
  const usable = payAccounts(ctx);
  if (!usable.length) {
    await alertDialog({ title: "No account takes payments yet", message: "Fill in the WeChat Pay settings (merchant ID, API v3 key, certificate serial, private key, WeChat Pay public key) of an account on the Accounts page first." });
    return null;
  }
  const picked = usable.find((a) => a.id === ctx.account);
  const accountChoice = picked ? [] : [{ ...accountField(ctx), options: usable.map((a) => [a.id, `${a.account_name || a.app_id} · 商户 ${a.mch_id}`]) }];
  const created = await formDialog({
    title: "New Native order",
    intro: "A QR code the payer scans with WeChat. The order is created at WeChat Pay now; it shows as paid once WeChat Pay tells wxmp.",
    fields: [
      ...accountChoice,
      { name: "description", label: "Description", required: true, full: true, placeholder: "e.g. 大杯拿铁 ×1", hint: "What the payer sees in WeChat; up to 127 characters." },
      { name: "total_yuan", label: "Amount (yuan)", required: true, inputmode: "decimal", placeholder: "0.00", hint: "In yuan, up to 2 decimals (¥0.01 at least)." },
      { name: "expire_minutes", label: "Expires after", type: "select", options: EXPIRY },
    ],
    values: { account_id: picked ? picked.id : usable[0].id, expire_minutes: "" },
    submitLabel: "Create order",
    submit: async (v) => {
      const fen = parseYuan(v.total_yuan);
      const errors = {};
      if (!String(v.description || "").trim()) errors.description = "is required.";
      if (fen === null || fen < 1) errors.total_yuan = "must be an amount in yuan such as 12.34 (at least 0.01).";
      if (Object.keys(errors).length) throw new ApiError(422, "Check the highlighted fields.", errors);
      const body = { account_id: picked ? picked.id : v.account_id, trade_type: "NATIVE", total_fee: fen, description: v.description.trim() };
      if (v.expire_minutes) body.expire_minutes = Number(v.expire_minutes);
      try {
        return await api.post("/wechat/wxpay/create_order", body);
      } catch (error) {
        throw renameFields(error, { total_fee: "total_yuan" });
      }
    },
  });
  if (!created || !created.order) return null;
  await qrDialog(created.order, created.code_url);
  return created.order;
}

/** The QR code of an unpaid Native order, with its code_url and a payment check. */
async function qrDialog(order, codeUrl) {
  let objectUrl = null;
  await openModal({
    title: `Scan to pay ${money(order.total_fee)}`,
    className: "qr-dialog",
    body: () => {
      const slot = h("div", { class: "qr-slot", dataset: { role: "qr-slot" } }, loadingState("Drawing the QR code…"));
      const status = h("p", { class: "qr-status", role: "status", "aria-live": "polite" }, "Waiting for the payment.");
      blobUrl("/wechat/wxpay/qrcode", { order_id: order.id }).then((url) => {
        objectUrl = url;
        slot.replaceChildren(h("img", { src: url, class: "qr-code", alt: `QR code to pay ${money(order.total_fee)} for “${order.description}”`, dataset: { role: "qr-code" }, width: 240, height: 240 }));
      }).catch((error) => {
        if (!(error instanceof ApiError)) console.error(error);
        slot.replaceChildren(errorState(error.message));
      });
      const code = h("code", { class: "mono", id: `code-url-${order.id}`, dataset: { role: "code-url" } }, codeUrl || order.code_url || "—");
      const check = actionButton("Check payment", { icon: "refresh", action: "check-payment", failTitle: "Could not ask WeChat Pay" }, async () => {
        const r = await api.post("/wechat/wxpay/query_order", { order_id: order.id });
        const found = TRADE_STATES.find(([v]) => v === r.trade_state);
        status.replaceChildren(stateBadge(TRADE_STATES, r.trade_state), " ", r.trade_state === "SUCCESS" ? `Paid ${money(r.order.total_fee)}.` : "Not paid yet.");
        toast(`WeChat Pay says: ${found ? found[1] : r.trade_state}.`);
      });
      return [
        slot,
        h("dl", { class: "kv kv-compact" },
          h("dt", null, "Order"), h("dd", { class: "mono" }, order.out_trade_no),
          h("dt", null, "Description"), h("dd", null, order.description),
          h("dt", null, "Amount"), h("dd", null, h("strong", null, money(order.total_fee))),
          order.expire_at ? [h("dt", null, "Expires"), h("dd", null, timeEl(order.expire_at))] : null),
        h("div", { class: "field" },
          h("span", { class: "label", id: `code-url-label-${order.id}` }, "code_url (what the QR code holds)"),
          h("div", { class: "copy-box" }, code, button("Copy", { icon: "copy", kind: "btn-secondary", attrs: { "aria-describedby": code.id }, onClick: async () => {
            const ok = await copyText(code.textContent);
            toast(ok ? "code_url copied." : "Copying was refused; select it and copy by hand.", ok ? "success" : "error");
          } }))),
        h("div", { class: "qr-foot" }, status, check),
      ];
    },
    footer: (close) => [button("Done", { kind: "btn-primary", onClick: () => close(true) })],
  });
  if (objectUrl) URL.revokeObjectURL(objectUrl);
}

// ---- refund --------------------------------------------------------------------

async function refundDialog(order) {
  let current = order;
  const summary = () => `Paid ${money(current.total_fee)}; ${money(current.refunded_total)} refunded or being refunded; up to ${money(refundable(current))} can still be refunded.`;
  const intro = h("p", { class: "modal-intro", dataset: { role: "refundable" } }, summary());
  const result = await formDialog({
    title: `Refund ${current.out_trade_no}`,
    intro: null,
    fields: [
      { type: "custom", render: () => h("div", { class: "field field-full refund-summary" }, h("p", null, h("strong", null, current.description || "(no description)")), intro) },
      { name: "refund_yuan", label: "Amount to refund (yuan)", required: true, inputmode: "decimal", placeholder: yuanText(refundable(current)), hint: "Partial refunds are fine; the rest can be refunded later." },
      { name: "reason", label: "Reason", placeholder: "Optional; the payer sees it", hint: "Up to 80 characters." },
    ],
    values: { refund_yuan: yuanText(refundable(current)) },
    submitLabel: "Refund",
    submit: async (v) => {
      const fen = parseYuan(v.refund_yuan);
      if (fen === null || fen < 1) throw new ApiError(422, "Check the amount.", { refund_yuan: "must be an amount in yuan such as 12.34 (at least 0.01)." });
      if (fen > refundable(current)) throw new ApiError(409, "Too much.", { refund_yuan: `is more than can still be refunded: at most ${money(refundable(current))}.` });
      try {
        return await api.post("/wechat/wxpay/refund", { order_id: current.id, refund_fee: fen, reason: (v.reason || "").trim() });
      } catch (error) {
        if (error instanceof ApiError && error.status === 409) {
          // Someone refunded meanwhile (or the order changed): say what is left now.
          try {
            const fresh = await findOrder(current);
            if (fresh) {
              current = fresh;
              intro.textContent = summary();
            }
          } catch {
            // Keep the old figures; the server's message still says why.
          }
          const left = refundable(current);
          const reason = !PAID.includes(current.trade_state) || current.flagged === 1
            ? error.message
            : `is more than can still be refunded: at most ${money(left)} (${money(current.refunded_total)} of ${money(current.total_fee)} is already refunded or being refunded).`;
          throw new ApiError(409, error.message, { refund_yuan: reason });
        }
        throw renameFields(error, { refund_fee: "refund_yuan" });
      }
    },
  });
  if (result && result.refund) {
    const r = result.refund;
    toast(r.status === "SUCCESS" ? `Refunded ${money(r.refund_fee)}.` : `Refund of ${money(r.refund_fee)} requested (${r.status.toLowerCase()}).`);
  }
  return result;
}

/** The order as stored now (lists are the only read route). */
async function findOrder(order) {
  const data = await api.get("/wechat/wxpay/orders", { account_id: order.account_id, keyword: order.out_trade_no, page: 1, page_size: 20 });
  return data.list.find((o) => o.id === order.id) || null;
}

// ---- order detail ----------------------------------------------------------------

function detailList(o) {
  const row = (label, value) => [h("dt", null, label), h("dd", null, value)];
  return h("dl", { class: "kv", dataset: { role: "order-detail" } },
    row("State", [stateBadge(TRADE_STATES, o.trade_state), o.trade_type ? h("span", { class: "muted" }, ` ${o.trade_type}`) : null]),
    row("Amount", h("strong", { dataset: { role: "total" } }, money(o.total_fee))),
    row("Refunded", h("span", { dataset: { role: "refunded-total" } }, money(o.refunded_total), PAID.includes(o.trade_state) ? h("span", { class: "muted" }, ` · ${money(refundable(o))} refundable`) : null)),
    row("Description", o.description || "—"),
    row("Order number", h("span", { class: "mono" }, o.out_trade_no)),
    row("Transaction ID", o.transaction_id ? h("span", { class: "mono", dataset: { role: "transaction-id" } }, o.transaction_id) : h("span", { class: "muted" }, "— (not paid)")),
    row("Paid at", timeEl(o.paid_at)),
    o.openid ? row("Payer openid", h("span", { class: "mono" }, o.openid)) : null,
    o.attach ? row("Attach", o.attach) : null,
    row("Created", timeEl(o.created_at)),
    o.expire_at ? row("Expires", timeEl(o.expire_at)) : null,
    o.note && o.flagged !== 1 ? row("Note", h("span", { class: "muted" }, o.note)) : null);
}

function flagWarning(o) {
  if (o.flagged !== 1) return null;
  return h("div", { class: "alert alert-warn", role: "alert", dataset: { role: "flagged" } }, icon("alert"),
    h("div", null, h("strong", null, "Flagged: the money does not add up. "), o.note || "No note was recorded.", h("br"),
      h("span", { class: "muted" }, "Flagged orders are not treated as paid and cannot be refunded until this is resolved with WeChat Pay.")));
}

async function orderDialog(ctx, order) {
  let current = order;
  let changed = false;
  const body = h("div", { class: "order-detail" });
  const refundsSlot = h("div", { class: "order-refunds" });

  const loadRefunds = async () => {
    refundsSlot.replaceChildren(loadingState("Loading refunds…"));
    try {
      const data = await api.get("/wechat/wxpay/refunds", { account_id: current.account_id, out_trade_no: current.out_trade_no, page: 1, page_size: 50 });
      refundsSlot.replaceChildren(h("h3", null, "Refunds"), data.list.length
        ? h("ul", { class: "refund-list" }, data.list.map((r) => h("li", null,
          h("span", { class: "mono" }, r.out_refund_no), h("strong", null, money(r.refund_fee)), stateBadge(REFUND_STATES, r.status),
          r.reason ? h("span", { class: "muted clip" }, r.reason) : null)))
        : h("p", { class: "muted" }, "None."));
    } catch (error) {
      if (!(error instanceof ApiError)) console.error(error);
      refundsSlot.replaceChildren(errorState(error.message, loadRefunds));
    }
  };

  const draw = () => {
    const actions = [
      actionButton("Query WeChat Pay", { icon: "refresh", action: "query-order", failTitle: "Could not query the order" }, async () => {
        const r = await api.post("/wechat/wxpay/query_order", { order_id: current.id });
        current = r.order;
        changed = true;
        toast(r.result === "unchanged" ? "WeChat Pay agrees: nothing changed." : `Updated: ${r.trade_state}.`);
        draw();
      }),
      canClose(current) && current.code_url ? button("Show QR code", { icon: "external", kind: "btn-secondary", attrs: { "data-action": "show-qr" }, onClick: () => qrDialog(current, current.code_url) }) : null,
      canRefund(current) ? button("Refund", { icon: "refresh", kind: "btn-secondary", attrs: { "data-action": "refund" }, onClick: async () => {
        if (await refundDialog(current)) {
          changed = true;
          current = (await findOrder(current)) || current;
          draw();
        }
      } }) : null,
      canClose(current) ? button("Close order", { icon: "close", kind: "btn-danger-ghost", attrs: { "data-action": "close-order" }, onClick: async (e) => {
        const el = e.currentTarget;
        const ok = await confirmDialog({
          title: "Close this order?",
          message: `Order ${current.out_trade_no} (${money(current.total_fee)}) is closed at WeChat Pay: it can no longer be paid. This cannot be undone.`,
          confirmText: "Close order",
        });
        if (!ok) return;
        const r = await busy(el, () => api.post("/wechat/wxpay/close_order", { order_id: current.id }), "Could not close the order");
        if (r) {
          current = r.order;
          changed = true;
          toast("Order closed.");
          draw();
        }
      } }) : null,
    ];
    body.replaceChildren(...[flagWarning(current), detailList(current), h("div", { class: "order-actions" }, actions), refundsSlot].filter(Boolean));
  };
  draw();
  loadRefunds();
  await openModal({
    title: current.description || current.out_trade_no,
    wide: true,
    className: "order-dialog",
    body: [body],
    footer: (close) => [button("Done", { kind: "btn-primary", onClick: () => close(true) })],
  });
  return changed;
}

// ---- lists -------------------------------------------------------------------------

function orders(ctx) {
  let view;
  const details = async (o) => {
    if (await orderDialog(ctx, o)) view.reload();
  };
  view = listView({
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
      { label: "Order", render: (o) => h("div", { class: "cell-stack" },
        h("button", { type: "button", class: "link-button cell-main", dataset: { action: "order-details" }, onclick: () => details(o) }, o.description || "(no description)"),
        h("span", { class: "cell-sub mono" }, o.out_trade_no)) },
      ...accountColumn(ctx),
      { label: "Amount", class: "num", render: (o) => h("div", { class: "cell-stack" }, h("strong", null, money(o.total_fee)), o.refunded_total ? h("span", { class: "cell-sub", dataset: { role: "refunded" } }, `refunded ${money(o.refunded_total)}`) : null) },
      { label: "State", render: (o) => h("div", { class: "cell-stack" }, h("span", null, stateBadge(TRADE_STATES, o.trade_state), o.flagged === 1 ? [" ", h("span", { title: o.note }, badge("Flagged", "red"))] : null), o.trade_type ? h("span", { class: "cell-sub" }, o.trade_type) : null) },
      { label: "Payer", render: (o) => h("span", { class: "mono", title: o.openid }, truncate(o.openid, 16) || "—") },
      { label: "Paid", class: "nowrap", render: (o) => (o.paid_at ? timeEl(o.paid_at) : h("span", { class: "cell-sub" }, "created ", timeEl(o.created_at))) },
    ],
    rowClass: (o) => (o.flagged === 1 ? "row-flagged" : null),
    rowActions: (o) => [
      canRefund(o) ? button("Refund", { icon: "refresh", iconOnly: true, kind: "btn-ghost btn-sm", attrs: { "data-action": "refund" }, onClick: async () => {
        if (await refundDialog(o)) view.reload();
      } }) : null,
      button("Order details", { icon: "right", iconOnly: true, kind: "btn-ghost btn-sm", attrs: { "data-action": "details" }, onClick: () => details(o) }),
    ],
    empty: { icon: "pay", title: "No orders yet", hint: "Create a Native order (a QR code to scan), or take payments through wxmp's API." },
  });
  return view;
}

function refunds(ctx) {
  let view;
  view = listView({
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
      { label: "Status", render: (r) => h("div", { class: "cell-stack" }, h("span", null, stateBadge(REFUND_STATES, r.status)), r.note ? h("span", { class: "cell-sub clip", title: r.note }, r.note) : null) },
      { label: "Reason", render: (r) => h("span", { class: "clip", title: r.reason }, r.reason || "—") },
      { label: "Completed", class: "nowrap", render: (r) => timeEl(r.success_time) },
      { label: "Created", class: "nowrap", render: (r) => timeEl(r.created_at) },
    ],
    rowActions: (r) => [
      actionButton("Query refund status", { icon: "refresh", iconOnly: true, kind: "btn-ghost btn-sm", action: "query-refund", failTitle: "Could not query the refund" }, async () => {
        const answer = await api.post("/wechat/wxpay/query_refund", { id: r.id });
        const found = REFUND_STATES.find(([v]) => v === answer.refund.status);
        toast(`Refund ${answer.refund.out_refund_no}: ${found ? found[1].toLowerCase() : answer.refund.status}${answer.result === "unchanged" ? " (unchanged)" : ""}.`);
        view.reload();
      }),
    ],
    empty: { icon: "pay", title: "No refunds", hint: "Refunds of orders are listed here with their status." },
  });
  return view;
}

function notifications(ctx) {
  return listView({
    caption: "WeChat Pay notifications",
    load: (q) => api.get("/wechat/wxpay/notifications", q),
    baseQuery: () => scope(ctx),
    filters: [
      { name: "out_trade_no", label: "Order number", type: "search", placeholder: "Order number…" },
      { name: "event_type", label: "Event", type: "select", options: [["TRANSACTION.SUCCESS", "TRANSACTION.SUCCESS"], ["REFUND.SUCCESS", "REFUND.SUCCESS"], ["REFUND.ABNORMAL", "REFUND.ABNORMAL"], ["REFUND.CLOSED", "REFUND.CLOSED"]] },
      { name: "result", label: "Result", type: "select", options: NOTIFY_RESULTS.map(([v, l]) => [v, l]) },
      { type: "daterange", label: "Received" },
    ],
    columns: [
      { label: "Event", render: (n) => h("div", { class: "cell-stack" }, h("span", { class: "cell-main mono" }, n.event_type), h("span", { class: "cell-sub mono", title: n.event_id }, truncate(n.event_id, 24))) },
      ...accountColumn(ctx),
      { label: "About", render: (n) => h("div", { class: "cell-stack" }, h("span", { class: "mono" }, n.out_trade_no || "—"), n.out_refund_no ? h("span", { class: "cell-sub mono" }, `refund ${n.out_refund_no}`) : null) },
      { label: "Result", render: (n) => stateBadge(NOTIFY_RESULTS, n.result) },
      { label: "Detail", render: (n) => h("span", { class: "clip", title: n.detail }, n.detail || "—") },
      { label: "Received", class: "nowrap", render: (n) => timeEl(n.created_at) },
    ],
    rowClass: (n) => (["amount_mismatch", "illegal_transition"].includes(n.result) ? "row-flagged" : null),
    empty: { icon: "inbox", title: "No notifications yet", hint: "Every verified notification WeChat Pay sends (payments, refunds) is journaled here with what wxmp did about it." },
  });
}

const TABS = [["orders", "Orders"], ["refunds", "Refunds"], ["notifications", "Notifications"]];

export async function render(ctx) {
  const wanted = ctx.params.get("tab");
  const tab = TABS.some(([v]) => v === wanted) ? wanted : "orders";
  let view = null;
  const create = button("New Native order", { icon: "plus", kind: "btn-primary", disabled: !ctx.accounts.length, attrs: { "data-action": "new-order" }, onClick: async () => {
    const order = await newOrder(ctx);
    if (order) {
      if (tab === "orders" && view) view.reload();
      else ctx.navigate("/wechat/wxpay");
    }
  } });
  ctx.main.append(pageHeader("Pay", "WeChat Pay (微信支付) orders, refunds and notifications. Amounts are in yuan.", [create]));
  const missing = noAccounts(ctx, "Payments");
  if (missing) return ctx.main.append(missing);
  ctx.main.append(tabs(TABS, tab, (value) => ctx.navigate(value === "orders" ? "/wechat/wxpay" : `/wechat/wxpay?tab=${value}`), "Pay sections"));
  view = tab === "refunds" ? refunds(ctx) : tab === "notifications" ? notifications(ctx) : orders(ctx);
  ctx.main.append(view.root);
  return undefined;
}
