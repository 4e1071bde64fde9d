// Fans (wx_users): who follows the accounts.

import { t } from "../i18n/index.js";
import { h, icon, imageOr, toast, timeEl, truncate, button } from "../dom.js";
import { api, resource, ApiError } from "../api.js";
import { pageHeader } from "../states.js";
import { listView } from "../list.js";
import { formDialog } from "../form.js";
import { scope, noAccounts, accountColumn, editButton, statusBadge, chooseAccount, actionButton, nickname, fanLabel } from "./common.js";

const JOB_KEY = "wxmp.fan-sync-job";
const POLL_MS = 800;

/**
 * The progress of a fan sync job, polled until it ends. Survives a reload
 * (the job id is kept in sessionStorage) since the job runs on the server.
 */
function syncProgress(ctx, onDone) {
  const bar = h("div", { class: "progress-fill" });
  const track = h("div", { class: "progress", role: "progressbar", "aria-label": t("fans.sync_progress"), "aria-valuemin": "0", "aria-valuemax": "100" }, bar);
  const label = h("p", { class: "progress-label" });
  const detail = h("p", { class: "hint progress-detail" });
  const close = button(t("fans.dismiss"), { icon: "close", iconOnly: true, kind: "btn-ghost btn-sm", onClick: () => hide() });
  const panel = h("section", { class: "panel sync-panel", hidden: true, "aria-live": "polite", dataset: { role: "fan-sync" } },
    h("div", { class: "sync-head" }, icon("refresh"), label, close), track, detail);
  let timer = null;
  let stopped = false;

  const hide = () => {
    panel.hidden = true;
    sessionStorage.removeItem(JOB_KEY);
  };

  const show = (job) => {
    const p = job.payload || {};
    const total = typeof p.total === "number" ? p.total : null;
    const fetched = p.fetched || 0;
    const stored = p.stored || 0;
    // Two phases: openids (first half), then details stored (second half).
    let percent = 0;
    if (total) percent = total === 0 ? 100 : Math.round(((fetched / total) * 0.5 + (stored / total) * 0.5) * 100);
    if (job.status === "done") percent = 100;
    percent = Math.max(0, Math.min(100, percent));
    panel.hidden = false;
    panel.dataset.status = job.status;
    const mark = panel.querySelector(".sync-head > .icon");
    const wanted = job.status === "done" ? "check" : job.status === "failed" ? "alert" : "refresh";
    if (mark.dataset.name !== wanted) {
      const next = icon(wanted);
      next.dataset.name = wanted;
      mark.replaceWith(next);
    }
    track.classList.toggle("indeterminate", (job.status === "pending" || job.status === "running") && total === null);
    track.classList.toggle("failed", job.status === "failed");
    bar.style.width = `${percent}%`;
    track.setAttribute("aria-valuenow", String(percent));
    const account = ctx.accountLabel(p.account_id);
    switch (job.status) {
      case "pending":
        label.textContent = job.last_error ? t("fans.sync_retrying", { account }) : t("fans.sync_queued", { account });
        break;
      case "running":
        label.textContent = total === null ? t("fans.sync_listing", { account }) : t("fans.sync_running", { account, percent });
        break;
      case "done":
        label.textContent = t(stored === 1 ? "fans.sync_done_one" : "fans.sync_done", { account, stored });
        break;
      case "failed":
        label.textContent = t("fans.sync_failed", { account });
        break;
      default:
        label.textContent = t("fans.sync_status", { account, status: job.status });
    }
    const parts = [];
    if (total !== null) parts.push(t("fans.sync_fetched", { fetched, total }), t("fans.sync_stored", { stored }));
    if (job.last_error) parts.push(t(job.status === "failed" ? "fans.sync_error" : "fans.sync_last_error", { error: job.last_error }));
    detail.textContent = parts.join(" · ");
    close.hidden = job.status === "pending" || job.status === "running";
  };

  const poll = async (id) => {
    if (stopped) return;
    try {
      const job = await api.get("/wechat/jobs/get", { id });
      if (stopped) return;
      show(job);
      if (job.status === "done" || job.status === "failed") {
        sessionStorage.removeItem(JOB_KEY);
        onDone(job);
        return;
      }
    } catch (error) {
      if (!(error instanceof ApiError)) console.error(error);
      if (error instanceof ApiError && (error.status === 404 || error.status === 401 || error.status === 403)) {
        hide();
        return;
      }
    }
    timer = setTimeout(() => poll(id), POLL_MS);
  };

  return {
    el: panel,
    follow(job) {
      clearTimeout(timer);
      sessionStorage.setItem(JOB_KEY, job.id);
      show(job);
      timer = setTimeout(() => poll(job.id), POLL_MS / 2);
    },
    resume() {
      const id = sessionStorage.getItem(JOB_KEY);
      if (id) poll(id);
    },
    get running() {
      return !panel.hidden && (panel.dataset.status === "pending" || panel.dataset.status === "running");
    },
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}

const SCENES = ["SEARCH", "ACCOUNT_MIGRATION", "PROFILE_CARD", "QR_CODE", "PROFILE_LINK", "PROFILE_ITEM", "PAID",
  "WECHAT_ADVERTISEMENT", "REPRINT", "LIVESTREAM", "CHANNELS", "OTHERS"].map((s) => [`ADD_SCENE_${s}`, t(`fans.scene.${s}`)]);

const initial = (u) => document.createTextNode(Array.from(u.nickname || "粉")[0]);

function person(u) {
  const avatar = h("span", { class: "avatar avatar-sm", "aria-hidden": "true" },
    u.headimgurl ? imageOr({ src: u.headimgurl, alt: "" }, () => initial(u)) : initial(u));
  return h("div", { class: "cell-person" }, avatar,
    h("div", { class: "cell-stack" },
      h("span", { class: "cell-main" }, nickname(u), u.remark ? h("span", { class: "muted" }, ` · ${u.remark}`) : null,
        u.is_staff === 1 ? h("span", { class: "badge badge-green", "data-staff": "" }, t("fans.staff")) : null),
      h("span", { class: "cell-sub mono", title: u.openid }, truncate(u.openid, 22))));
}

export async function render(ctx) {
  let list;
  const editRemark = async (u) => {
    const saved = await formDialog({
      title: t("fans.remark_title", { name: fanLabel(u) }),
      fields: [
        { name: "remark", label: t("fans.remark"), full: true, hint: t("fans.remark_hint") },
      ],
      values: { remark: u.remark },
      submit: (v) => resource("wxusers").edit({ id: u.id, remark: v.remark }),
    });
    if (saved) {
      toast(t("fans.remark_saved"));
      list.reload();
    }
  };

  // Staff: plugins see ctx.fan.staff and keep staff commands to them.
  const toggleStaff = async (u) => {
    const staff = u.is_staff === 1 ? 0 : 1;
    await resource("wxusers").edit({ id: u.id, is_staff: staff });
    toast(t(staff ? "fans.staff_marked" : "fans.staff_unmarked", { name: fanLabel(u) }));
    list.reload();
  };

  const progress = syncProgress(ctx, (job) => {
    if (job.status === "done") {
      toast(t("fans.synced", { stored: job.payload?.stored ?? 0 }));
      list?.reload();
    }
  });
  const sync = actionButton(t("fans.sync"), { icon: "refresh", action: "sync-fans", failTitle: t("fans.sync_start_failed") }, async () => {
    if (progress.running) {
      toast(t("fans.sync_already"), "error");
      return;
    }
    const accountId = await chooseAccount(ctx, t("fans.syncing"));
    if (!accountId) return;
    const job = await api.post("/wechat/wxusers/sync", { account_id: accountId });
    progress.follow(job);
  });
  ctx.main.append(pageHeader(t("nav.fans"), t("fans.subtitle"), [sync]));
  const missing = noAccounts(ctx, t("fans.what"));
  if (missing) return ctx.main.append(missing);
  ctx.main.append(progress.el);
  progress.resume();

  list = listView({
    caption: t("fans.caption"),
    load: (q) => resource("wxusers").list(q),
    baseQuery: () => scope(ctx),
    filters: [
      { name: "keyword", label: t("common.search"), type: "search", placeholder: t("fans.search_placeholder") },
      { name: "subscribe_status", label: t("common.status"), type: "select", options: [["1", t("fans.subscribed")], ["0", t("fans.unsubscribed")]] },
      { name: "subscribe_scene", label: t("fans.came_from"), type: "select", options: SCENES },
      { name: "is_staff", label: t("fans.staff"), type: "select", options: [["1", t("fans.staff_only")], ["0", t("fans.not_staff")]] },
      { type: "daterange", label: t("fans.first_seen") },
    ],
    columns: [
      { label: t("fans.fan"), render: person },
      ...accountColumn(ctx),
      { label: t("common.status"), render: (u) => statusBadge(u.subscribe_status === 1, [t("fans.subscribed"), t("fans.unsubscribed")]) },
      { label: t("fans.subscribe_time"), class: "nowrap", render: (u) => timeEl(u.subscribe_time) },
      { label: t("fans.last_active"), class: "nowrap", render: (u) => timeEl(u.last_interact_time, { relative: true }) },
      { label: t("nav.messages"), class: "num", render: (u) => String(u.message_count) },
      { label: t("fans.tags"), render: (u) => (Array.isArray(u.tags) && u.tags.length ? u.tags.join(", ") : h("span", { class: "muted" }, "—")) },
    ],
    rowActions: (u) => [
      h("a", { class: "btn btn-ghost btn-sm btn-icon", href: `/wechat/wxmessages?openid=${encodeURIComponent(u.openid)}&account_id=${encodeURIComponent(u.account_id)}`, title: t("fans.conversation"), "aria-label": t("fans.conversation_with", { name: fanLabel(u) }) }, icon("messages")),
      editButton(t("fans.remark_noun"), () => editRemark(u)),
      button(t(u.is_staff === 1 ? "fans.unmark_staff" : "fans.mark_staff"), {
        icon: "admins", iconOnly: true, kind: "btn-ghost btn-sm", onClick: () => toggleStaff(u), attrs: { "data-action": "staff" },
      }),
    ],
    empty: { icon: "fans", title: t("fans.empty"), hint: t("fans.empty_hint") },
  });
  ctx.main.append(list.root);
  return () => progress.stop();
}
