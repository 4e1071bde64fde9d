// WeChat Pay: orders (detail, new Native order with its QR code, query,
// close, refund), refunds (status query) and the notifications journal.
// Amounts are integer fen on the wire and yuan on screen; conversions are
// done on strings, never with floating point.

import { t } from "../i18n/index.js";
import { h, icon, badge, button, timeEl, money, truncate, toast, copyText, openModal, confirmDialog, alertDialog } from "../dom.js";
import { api, blobUrl, ApiError } from "../api.js";
import { pageHeader, tabs, loadingState, errorState } from "../states.js";
import { listView } from "../list.js";
import { formDialog } from "../form.js";
import { scope, noAccounts, accountColumn, accountField, busy, actionButton } from "./common.js";

const TRADE_STATES = [
  ["SUCCESS", "green"], ["NOTPAY", "amber"], ["USERPAYING", "blue"], ["REFUND", "purple"], ["CLOSED", ""], ["REVOKED", ""], ["PAYERROR", "red"],
].map(([v, tone]) => [v, t(`pay.trade.${v}`), tone]);
const TRADE_TYPES = ["JSAPI", "NATIVE", "APP", "MWEB"].map((v) => [v, t(`pay.channel.${v}`)]);
const REFUND_STATES = [
  ["SUCCESS", "green"], ["PROCESSING", "blue"], ["SUBMITTING", "blue"], ["CLOSED", ""], ["ABNORMAL", "red"], ["FAILED", "red"],
].map(([v, tone]) => [v, t(`pay.refund.${v}`), tone]);
const NOTIFY_RESULTS = [
  ["paid", "green"], ["refund_updated", "green"], ["unchanged", ""], ["unknown_order", "amber"], ["amount_mismatch", "red"],
  ["illegal_transition", "red"], ["ignored", ""],
].map(([v, tone]) => [v, t(`pay.notify.${v}`), tone]);
const EXPIRY = ["", "15", "30", "120", "1440", "10080"].map((v) => [v, t(`pay.expiry.${v || "default"}`)]);

const OPEN = ["NOTPAY", "USERPAYING", "PAYERROR"];
const PAID = ["SUCCESS", "REFUND"];

function stateBadge(list, value) {
  const found = list.find(([v]) => v === value);
  return found ? badge(found[1], found[2]) : badge(value || "—");
}

/** "12.34" / "¥12.3" / "12" → 1234 / 1230 / 1200 fen; null when it is not an amount. */
export function parseYuan(text) {
  const raw = String(text ?? "").trim().replace(/^[¥￥]\s*/, "").replace(/,/g, "");
  const m = /^(\d{0,10})(?:\.(\d{0,2}))?$/.exec(raw);
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
    await alertDialog({ title: t("pay.no_account"), message: t("pay.no_account_hint") });
    return null;
  }
  const picked = usable.find((a) => a.id === ctx.account);
  const accountChoice = picked ? [] : [{ ...accountField(ctx), options: usable.map((a) => [a.id, `${a.account_name || a.app_id} · ${t("accounts.merchant", { mch_id: a.mch_id })}`]) }];
  const created = await formDialog({
    title: t("pay.new_order"),
    intro: t("pay.new_order_intro"),
    fields: [
      ...accountChoice,
      { name: "description", label: t("rules.description"), required: true, full: true, placeholder: t("pay.description_placeholder"), hint: t("pay.description_hint") },
      { name: "total_yuan", label: t("pay.amount_yuan"), required: true, inputmode: "decimal", placeholder: "0.00", hint: t("pay.amount_hint") },
      { name: "expire_minutes", label: t("pay.expires_after"), type: "select", options: EXPIRY },
    ],
    values: { account_id: picked ? picked.id : usable[0].id, expire_minutes: "" },
    submitLabel: t("pay.create_order"),
    submit: async (v) => {
      const fen = parseYuan(v.total_yuan);
      const errors = {};
      if (!String(v.description || "").trim()) errors.description = t("reason.required");
      if (fen === null || fen < 1) errors.total_yuan = t("pay.bad_amount");
      if (Object.keys(errors).length) throw new ApiError(422, t("mat.check_fields"), errors);
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
    title: t("pay.scan_to_pay", { amount: money(order.total_fee) }),
    className: "qr-dialog",
    body: () => {
      const slot = h("div", { class: "qr-slot", dataset: { role: "qr-slot" } }, loadingState(t("pay.drawing_qr")));
      const status = h("p", { class: "qr-status", role: "status", "aria-live": "polite" }, t("pay.waiting"));
      blobUrl("/wechat/wxpay/qrcode", { order_id: order.id }).then((url) => {
        objectUrl = url;
        slot.replaceChildren(h("img", { src: url, class: "qr-code", alt: t("pay.qr_alt", { amount: money(order.total_fee), description: order.description }), dataset: { role: "qr-code" }, width: 240, height: 240 }));
      }).catch((error) => {
        if (!(error instanceof ApiError)) console.error(error);
        slot.replaceChildren(errorState(error.message));
      });
      const code = h("code", { class: "mono", id: `code-url-${order.id}`, dataset: { role: "code-url" } }, codeUrl || order.code_url || "—");
      const check = actionButton(t("pay.check_payment"), { icon: "refresh", action: "check-payment", failTitle: t("pay.ask_failed") }, async () => {
        const r = await api.post("/wechat/wxpay/query_order", { order_id: order.id });
        const found = TRADE_STATES.find(([v]) => v === r.trade_state);
        status.replaceChildren(stateBadge(TRADE_STATES, r.trade_state), " ", r.trade_state === "SUCCESS" ? t("pay.paid_amount", { amount: money(r.order.total_fee) }) : t("pay.not_paid_yet"));
        toast(t("pay.says", { state: found ? found[1] : r.trade_state }));
      });
      return [
        slot,
        h("dl", { class: "kv kv-compact" },
          h("dt", null, t("pay.order")), h("dd", { class: "mono" }, order.out_trade_no),
          h("dt", null, t("rules.description")), h("dd", null, order.description),
          h("dt", null, t("pay.amount")), h("dd", null, h("strong", null, money(order.total_fee))),
          order.expire_at ? [h("dt", null, t("pay.expires")), h("dd", null, timeEl(order.expire_at))] : null),
        h("div", { class: "field" },
          h("span", { class: "label", id: `code-url-label-${order.id}` }, t("pay.code_url")),
          h("div", { class: "copy-box" }, code, button(t("accounts.copy"), { icon: "copy", kind: "btn-secondary", attrs: { "aria-describedby": code.id }, onClick: async () => {
            const ok = await copyText(code.textContent);
            toast(ok ? t("pay.code_url_copied") : t("accounts.copy_refused"), ok ? "success" : "error");
          } }))),
        h("div", { class: "qr-foot" }, status, check),
      ];
    },
    footer: (close) => [button(t("pay.done"), { kind: "btn-primary", onClick: () => close(true) })],
  });
  if (objectUrl) URL.revokeObjectURL(objectUrl);
}

// ---- refund --------------------------------------------------------------------

async function refundDialog(order) {
  let current = order;
  const summary = () => t("pay.refund_summary", { paid: money(current.total_fee), refunded: money(current.refunded_total), left: money(refundable(current)) });
  const intro = h("p", { class: "modal-intro", dataset: { role: "refundable" } }, summary());
  const result = await formDialog({
    title: t("pay.refund_title", { order: current.out_trade_no }),
    intro: null,
    fields: [
      { type: "custom", render: () => h("div", { class: "field field-full refund-summary" }, h("p", null, h("strong", null, current.description || t("pay.no_description"))), intro) },
      { name: "refund_yuan", label: t("pay.refund_amount"), required: true, inputmode: "decimal", placeholder: yuanText(refundable(current)), hint: t("pay.refund_amount_hint") },
      { name: "reason", label: t("pay.reason"), placeholder: t("pay.reason_placeholder"), hint: t("pay.reason_hint") },
    ],
    values: { refund_yuan: yuanText(refundable(current)) },
    submitLabel: t("pay.refund"),
    submit: async (v) => {
      const fen = parseYuan(v.refund_yuan);
      if (fen === null || fen < 1) throw new ApiError(422, t("pay.check_amount"), { refund_yuan: t("pay.bad_amount") });
      if (fen > refundable(current)) throw new ApiError(409, t("pay.too_much"), { refund_yuan: t("pay.more_than_left", { left: money(refundable(current)) }) });
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
            : t("pay.more_than_left_detail", { left: money(left), refunded: money(current.refunded_total), total: money(current.total_fee) });
          throw new ApiError(409, error.message, { refund_yuan: reason });
        }
        throw renameFields(error, { refund_fee: "refund_yuan" });
      }
    },
  });
  if (result && result.refund) {
    const r = result.refund;
    toast(r.status === "SUCCESS" ? t("pay.refunded_toast", { amount: money(r.refund_fee) }) : t("pay.refund_requested", { amount: money(r.refund_fee), status: REFUND_STATES.find(([v]) => v === r.status)?.[1] || r.status }));
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
    row(t("pay.state"), [stateBadge(TRADE_STATES, o.trade_state), o.trade_type ? h("span", { class: "muted" }, ` ${o.trade_type}`) : null]),
    row(t("pay.amount"), h("strong", { dataset: { role: "total" } }, money(o.total_fee))),
    row(t("pay.refunded"), h("span", { dataset: { role: "refunded-total" } }, money(o.refunded_total), PAID.includes(o.trade_state) ? h("span", { class: "muted" }, ` · ${t("pay.refundable", { amount: money(refundable(o)) })}`) : null)),
    row(t("rules.description"), o.description || "—"),
    row(t("pay.order_number"), h("span", { class: "mono" }, o.out_trade_no)),
    row(t("pay.transaction_id"), o.transaction_id ? h("span", { class: "mono", dataset: { role: "transaction-id" } }, o.transaction_id) : h("span", { class: "muted" }, t("pay.not_paid_dash"))),
    row(t("pay.paid_at"), timeEl(o.paid_at)),
    o.openid ? row(t("pay.payer_openid"), h("span", { class: "mono" }, o.openid)) : null,
    o.attach ? row(t("pay.attach"), o.attach) : null,
    row(t("list.created"), timeEl(o.created_at)),
    o.expire_at ? row(t("pay.expires"), timeEl(o.expire_at)) : null,
    o.note && o.flagged !== 1 ? row(t("pay.note"), h("span", { class: "muted" }, o.note)) : null);
}

function flagWarning(o) {
  if (o.flagged !== 1) return null;
  return h("div", { class: "alert alert-warn", role: "alert", dataset: { role: "flagged" } }, icon("alert"),
    h("div", null, h("strong", null, `${t("pay.flagged_lead")} `), o.note || t("pay.no_note"), h("br"),
      h("span", { class: "muted" }, t("pay.flagged_hint"))));
}

async function orderDialog(ctx, order) {
  let current = order;
  let changed = false;
  const body = h("div", { class: "order-detail" });
  const refundsSlot = h("div", { class: "order-refunds" });

  const loadRefunds = async () => {
    refundsSlot.replaceChildren(loadingState(t("pay.loading_refunds")));
    try {
      const data = await api.get("/wechat/wxpay/refunds", { account_id: current.account_id, out_trade_no: current.out_trade_no, page: 1, page_size: 50 });
      refundsSlot.replaceChildren(h("h3", null, t("pay.tab.refunds")), data.list.length
        ? h("ul", { class: "refund-list" }, data.list.map((r) => h("li", null,
          h("span", { class: "mono" }, r.out_refund_no), h("strong", null, money(r.refund_fee)), stateBadge(REFUND_STATES, r.status),
          r.reason ? h("span", { class: "muted clip" }, r.reason) : null)))
        : h("p", { class: "muted" }, t("pay.none")));
    } catch (error) {
      if (!(error instanceof ApiError)) console.error(error);
      refundsSlot.replaceChildren(errorState(error.message, loadRefunds));
    }
  };

  const draw = () => {
    const actions = [
      actionButton(t("pay.query"), { icon: "refresh", action: "query-order", failTitle: t("pay.query_failed") }, async () => {
        const r = await api.post("/wechat/wxpay/query_order", { order_id: current.id });
        current = r.order;
        changed = true;
        toast(r.result === "unchanged" ? t("pay.unchanged") : t("pay.updated", { state: TRADE_STATES.find(([v]) => v === r.trade_state)?.[1] || r.trade_state }));
        draw();
      }),
      canClose(current) && current.code_url ? button(t("pay.show_qr"), { icon: "external", kind: "btn-secondary", attrs: { "data-action": "show-qr" }, onClick: () => qrDialog(current, current.code_url) }) : null,
      canRefund(current) ? button(t("pay.refund"), { icon: "refresh", kind: "btn-secondary", attrs: { "data-action": "refund" }, onClick: async () => {
        if (await refundDialog(current)) {
          changed = true;
          current = (await findOrder(current)) || current;
          draw();
        }
      } }) : null,
      canClose(current) ? button(t("pay.close_order"), { icon: "close", kind: "btn-danger-ghost", attrs: { "data-action": "close-order" }, onClick: async (e) => {
        const el = e.currentTarget;
        const ok = await confirmDialog({
          title: t("pay.close_title"),
          message: t("pay.close_message", { order: current.out_trade_no, amount: money(current.total_fee) }),
          confirmText: t("pay.close_order"),
        });
        if (!ok) return;
        const r = await busy(el, () => api.post("/wechat/wxpay/close_order", { order_id: current.id }), t("pay.close_failed"));
        if (r) {
          current = r.order;
          changed = true;
          toast(t("pay.closed_toast"));
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
    footer: (close) => [button(t("pay.done"), { kind: "btn-primary", onClick: () => close(true) })],
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
    caption: t("pay.orders_caption"),
    load: (q) => api.get("/wechat/wxpay/orders", q),
    baseQuery: () => scope(ctx),
    filters: [
      { name: "keyword", label: t("common.search"), type: "search", placeholder: t("pay.search_placeholder") },
      { name: "trade_state", label: t("pay.state"), type: "select", options: TRADE_STATES.map(([v, l]) => [v, l]) },
      { name: "trade_type", label: t("pay.channel"), type: "select", options: TRADE_TYPES },
      { name: "openid", label: t("pay.payer_openid"), type: "text", placeholder: "o…" },
      { type: "daterange", label: t("list.created") },
    ],
    columns: [
      { label: t("pay.order"), render: (o) => h("div", { class: "cell-stack" },
        h("button", { type: "button", class: "link-button cell-main", dataset: { action: "order-details" }, onclick: () => details(o) }, o.description || t("pay.no_description")),
        h("span", { class: "cell-sub mono" }, o.out_trade_no)) },
      ...accountColumn(ctx),
      { label: t("pay.amount"), class: "num", render: (o) => h("div", { class: "cell-stack" }, h("strong", null, money(o.total_fee)), o.refunded_total ? h("span", { class: "cell-sub", dataset: { role: "refunded" } }, t("pay.refunded_amount", { amount: money(o.refunded_total) })) : null) },
      { label: t("pay.state"), render: (o) => h("div", { class: "cell-stack" }, h("span", null, stateBadge(TRADE_STATES, o.trade_state), o.flagged === 1 ? [" ", h("span", { title: o.note, dataset: { serverText: "" } }, badge(t("pay.flagged"), "red"))] : null), o.trade_type ? h("span", { class: "cell-sub" }, o.trade_type) : null) },
      { label: t("pay.payer"), render: (o) => h("span", { class: "mono", title: o.openid }, truncate(o.openid, 16) || "—") },
      { label: t("pay.paid"), class: "nowrap", render: (o) => (o.paid_at ? timeEl(o.paid_at) : h("span", { class: "cell-sub" }, t("pay.created_prefix"), timeEl(o.created_at))) },
    ],
    rowClass: (o) => (o.flagged === 1 ? "row-flagged" : null),
    rowActions: (o) => [
      canRefund(o) ? button(t("pay.refund"), { icon: "refresh", iconOnly: true, kind: "btn-ghost btn-sm", attrs: { "data-action": "refund" }, onClick: async () => {
        if (await refundDialog(o)) view.reload();
      } }) : null,
      button(t("pay.order_details"), { icon: "right", iconOnly: true, kind: "btn-ghost btn-sm", attrs: { "data-action": "details" }, onClick: () => details(o) }),
    ],
    empty: { icon: "pay", title: t("pay.orders_empty"), hint: t("pay.orders_empty_hint") },
  });
  return view;
}

function refunds(ctx) {
  let view;
  view = listView({
    caption: t("pay.tab.refunds"),
    load: (q) => api.get("/wechat/wxpay/refunds", q),
    baseQuery: () => scope(ctx),
    filters: [
      { name: "status", label: t("common.status"), type: "select", options: REFUND_STATES.map(([v, l]) => [v, l]) },
      { name: "out_trade_no", label: t("pay.order_number"), type: "text" },
      { name: "out_refund_no", label: t("pay.refund_number"), type: "text" },
      { type: "daterange", label: t("list.created") },
    ],
    columns: [
      { label: t("pay.refund"), render: (r) => h("div", { class: "cell-stack" }, h("span", { class: "cell-main mono" }, r.out_refund_no), h("span", { class: "cell-sub mono" }, t("pay.order_no", { order: r.out_trade_no }))) },
      ...accountColumn(ctx),
      { label: t("pay.amount"), class: "num", render: (r) => h("div", { class: "cell-stack" }, h("strong", null, money(r.refund_fee)), h("span", { class: "cell-sub" }, t("pay.of_total", { total: money(r.total_fee) }))) },
      { label: t("common.status"), render: (r) => h("div", { class: "cell-stack" }, h("span", null, stateBadge(REFUND_STATES, r.status)), r.note ? h("span", { class: "cell-sub clip", title: r.note }, r.note) : null) },
      { label: t("pay.reason"), render: (r) => h("span", { class: "clip", title: r.reason }, r.reason || "—") },
      { label: t("pay.completed"), class: "nowrap", render: (r) => timeEl(r.success_time) },
      { label: t("list.created"), class: "nowrap", render: (r) => timeEl(r.created_at) },
    ],
    rowActions: (r) => [
      actionButton(t("pay.query_refund"), { icon: "refresh", iconOnly: true, kind: "btn-ghost btn-sm", action: "query-refund", failTitle: t("pay.query_refund_failed") }, async () => {
        const answer = await api.post("/wechat/wxpay/query_refund", { id: r.id });
        const found = REFUND_STATES.find(([v]) => v === answer.refund.status);
        toast(t(answer.result === "unchanged" ? "pay.refund_state_unchanged" : "pay.refund_state", { refund: answer.refund.out_refund_no, state: found ? found[1] : answer.refund.status }));
        view.reload();
      }),
    ],
    empty: { icon: "pay", title: t("pay.refunds_empty"), hint: t("pay.refunds_empty_hint") },
  });
  return view;
}

function notifications(ctx) {
  return listView({
    caption: t("pay.notifications_caption"),
    load: (q) => api.get("/wechat/wxpay/notifications", q),
    baseQuery: () => scope(ctx),
    filters: [
      { name: "out_trade_no", label: t("pay.order_number"), type: "search", placeholder: t("pay.order_number_placeholder") },
      { name: "event_type", label: t("msgtype.event"), type: "select", options: [["TRANSACTION.SUCCESS", "TRANSACTION.SUCCESS"], ["REFUND.SUCCESS", "REFUND.SUCCESS"], ["REFUND.ABNORMAL", "REFUND.ABNORMAL"], ["REFUND.CLOSED", "REFUND.CLOSED"]] },
      { name: "result", label: t("tpl.result"), type: "select", options: NOTIFY_RESULTS.map(([v, l]) => [v, l]) },
      { type: "daterange", label: t("pay.received") },
    ],
    columns: [
      { label: t("msgtype.event"), render: (n) => h("div", { class: "cell-stack" }, h("span", { class: "cell-main mono" }, n.event_type), h("span", { class: "cell-sub mono", title: n.event_id }, truncate(n.event_id, 24))) },
      ...accountColumn(ctx),
      { label: t("pay.about"), render: (n) => h("div", { class: "cell-stack" }, h("span", { class: "mono" }, n.out_trade_no || "—"), n.out_refund_no ? h("span", { class: "cell-sub mono" }, t("pay.refund_no", { refund: n.out_refund_no })) : null) },
      { label: t("tpl.result"), render: (n) => stateBadge(NOTIFY_RESULTS, n.result) },
      { label: t("pay.detail"), render: (n) => h("span", { class: "clip", title: n.detail }, n.detail || "—") },
      { label: t("pay.received"), class: "nowrap", render: (n) => timeEl(n.created_at) },
    ],
    rowClass: (n) => (["amount_mismatch", "illegal_transition"].includes(n.result) ? "row-flagged" : null),
    empty: { icon: "inbox", title: t("pay.notifications_empty"), hint: t("pay.notifications_empty_hint") },
  });
}

const TABS = ["orders", "refunds", "notifications"].map((v) => [v, t(`pay.tab.${v}`)]);

export async function render(ctx) {
  const wanted = ctx.params.get("tab");
  const tab = TABS.some(([v]) => v === wanted) ? wanted : "orders";
  let view = null;
  const create = button(t("pay.new_order"), { icon: "plus", kind: "btn-primary", disabled: !ctx.accounts.length, attrs: { "data-action": "new-order" }, onClick: async () => {
    const order = await newOrder(ctx);
    if (order) {
      if (tab === "orders" && view) view.reload();
      else ctx.navigate("/wechat/wxpay");
    }
  } });
  ctx.main.append(pageHeader(t("nav.pay"), t("pay.subtitle"), [create]));
  const missing = noAccounts(ctx, t("pay.what"));
  if (missing) return ctx.main.append(missing);
  ctx.main.append(tabs(TABS, tab, (value) => ctx.navigate(value === "orders" ? "/wechat/wxpay" : `/wechat/wxpay?tab=${value}`), t("pay.sections")));
  view = tab === "refunds" ? refunds(ctx) : tab === "notifications" ? notifications(ctx) : orders(ctx);
  ctx.main.append(view.root);
  return undefined;
}
