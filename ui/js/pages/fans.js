// Fans (wx_users): who follows the accounts.

import { h, icon, imageOr, toast, timeEl, truncate, button } from "../dom.js";
import { api, resource, ApiError } from "../api.js";
import { pageHeader } from "../states.js";
import { listView } from "../list.js";
import { formDialog } from "../form.js";
import { scope, noAccounts, accountColumn, editButton, statusBadge, chooseAccount, actionButton } from "./common.js";

const JOB_KEY = "wxmp.fan-sync-job";
const POLL_MS = 800;

/**
 * The progress of a fan sync job, polled until it ends. Survives a reload
 * (the job id is kept in sessionStorage) since the job runs on the server.
 */
function syncProgress(ctx, onDone) {
  const bar = h("div", { class: "progress-fill" });
  const track = h("div", { class: "progress", role: "progressbar", "aria-label": "Fan sync progress", "aria-valuemin": "0", "aria-valuemax": "100" }, bar);
  const label = h("p", { class: "progress-label" });
  const detail = h("p", { class: "hint progress-detail" });
  const close = button("Dismiss", { icon: "close", iconOnly: true, kind: "btn-ghost btn-sm", onClick: () => hide() });
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
        label.textContent = job.last_error ? `Retrying the fan sync of ${account}…` : `Fan sync of ${account} is queued…`;
        break;
      case "running":
        label.textContent = total === null ? `Syncing the fans of ${account}: asking WeChat for the list…` : `Syncing the fans of ${account}: ${percent}%`;
        break;
      case "done":
        label.textContent = `Fan sync of ${account} finished: ${stored} fan${stored === 1 ? "" : "s"} stored.`;
        break;
      case "failed":
        label.textContent = `Fan sync of ${account} failed.`;
        break;
      default:
        label.textContent = `Fan sync of ${account}: ${job.status}`;
    }
    const parts = [];
    if (total !== null) parts.push(`${fetched} of ${total} openids fetched`, `${stored} stored`);
    if (job.last_error) parts.push(`${job.status === "failed" ? "Error" : "Last error"}: ${job.last_error}`);
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
        { name: "remark", label: "Remark", full: true, hint: "Up to 30 characters; only admins see it." },
      ],
      values: { remark: u.remark },
      submit: (v) => resource("wxusers").edit({ id: u.id, remark: v.remark }),
    });
    if (saved) {
      toast("Remark saved.");
      list.reload();
    }
  };

  const progress = syncProgress(ctx, (job) => {
    if (job.status === "done") {
      toast(`Fans synced: ${job.payload?.stored ?? 0} stored.`);
      list?.reload();
    }
  });
  const sync = actionButton("Sync fans from WeChat", { icon: "refresh", action: "sync-fans", failTitle: "Could not start the fan sync" }, async () => {
    if (progress.running) {
      toast("A fan sync is already running.", "error");
      return;
    }
    const accountId = await chooseAccount(ctx, "Syncing fans");
    if (!accountId) return;
    const job = await api.post("/wechat/wxusers/sync", { account_id: accountId });
    progress.follow(job);
  });
  ctx.main.append(pageHeader("Fans", "People who follow the accounts (粉丝).", [sync]));
  const missing = noAccounts(ctx, "Fans");
  if (missing) return ctx.main.append(missing);
  ctx.main.append(progress.el);
  progress.resume();

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
    empty: { icon: "fans", title: "No fans yet", hint: "Fans are recorded as they follow the account or write to it. “Sync fans from WeChat” fetches everyone who follows it now." },
  });
  ctx.main.append(list.root);
  return () => progress.stop();
}
