// Small charts drawn as inline SVG, written for wxmp (no chart library).
// Each chart is drawn at its container's width in CSS pixels (redrawn when
// that changes), so its text stays readable on a phone. Every chart has a
// <title> and <desc>, and its figures are also a visually hidden table.

import { t } from "./i18n/index.js";
import { h } from "./dom.js";

const SVG_NS = "http://www.w3.org/2000/svg";
let chartSeq = 0;

function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value !== undefined && value !== null && value !== false) el.setAttribute(key, String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** Sets inline styles through the CSSOM (the CSP refuses style attributes). */
function styled(el, styles) {
  Object.assign(el.style, styles);
  return el;
}

/** A round upper bound for the y axis and its step (whole numbers). */
function niceScale(max, ticks = 4) {
  if (max <= 0) return { top: ticks, step: 1 };
  const rough = max / ticks;
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  const step = Math.max(1, [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((m) => m >= rough));
  const whole = Math.ceil(step);
  return { top: Math.ceil(max / whole) * whole, step: whole };
}

/** "2024-05-07" → "05-07" (month and day, as the full dates read). */
function shortDate(date) {
  const [, m, d] = String(date).split("-");
  return m && d ? `${m}-${d}` : String(date);
}

/**
 * A bar chart per day.
 * series: [{key, label, color}], drawn side by side; `mirror: true` draws the
 * second series downwards from the axis (gains above, losses below).
 */
export function dayChart({ title, description, days, series, mirror = false, role }) {
  const id = `chart-${++chartSeq}`;
  const wrap = h("figure", { class: "chart", dataset: { role: role || "chart" } });
  const canvas = h("div", { class: "chart-canvas" });
  const legend = h("figcaption", { class: "chart-legend" },
    series.map((ser) => h("span", { class: "legend-item" }, styled(h("span", { class: "swatch" }), { background: ser.color }), ser.label)));
  const table = h("table", { class: "visually-hidden" },
    h("caption", null, title),
    h("thead", null, h("tr", null, h("th", { scope: "col" }, t("chart.day")), series.map((ser) => h("th", { scope: "col" }, ser.label)))),
    h("tbody", null, days.map((d) => h("tr", null, h("th", { scope: "row" }, d.date), series.map((ser) => h("td", null, String(d[ser.key] ?? 0)))))));
  wrap.append(canvas, legend, table);

  let drawnWidth = 0;
  const draw = (width) => {
    if (!width || Math.abs(width - drawnWidth) < 2) return;
    drawnWidth = width;
    const height = 200;
    const pad = { top: 12, right: 8, bottom: 24, left: 34 };
    const plotW = Math.max(40, width - pad.left - pad.right);
    const plotH = height - pad.top - pad.bottom;
    const up = mirror ? [series[0]] : series;
    const down = mirror ? series.slice(1) : [];
    const maxUp = Math.max(0, ...days.flatMap((d) => up.map((ser) => Number(d[ser.key] || 0))));
    const maxDown = Math.max(0, ...days.flatMap((d) => down.map((ser) => Number(d[ser.key] || 0))));
    const scale = niceScale(Math.max(maxUp, maxDown, 1), mirror ? 2 : 4);
    // Mirrored: the axis in the middle; else at the bottom.
    const zeroY = mirror ? pad.top + plotH / 2 : pad.top + plotH;
    const unit = (mirror ? plotH / 2 : plotH) / scale.top;
    const slot = plotW / Math.max(1, days.length);
    const groupW = Math.min(slot * 0.8, 36);
    const barW = Math.max(2, groupW / up.length);

    const svg = s("svg", {
      viewBox: `0 0 ${width} ${height}`, width, height, role: "img", "aria-labelledby": `${id}-title ${id}-desc`, class: "chart-svg",
    });
    svg.append(s("title", { id: `${id}-title` }, title), s("desc", { id: `${id}-desc` }, description));

    const grid = s("g", { class: "chart-grid", "aria-hidden": "true" });
    for (let v = 0; v <= scale.top; v += scale.step) {
      for (const sign of mirror && v > 0 ? [1, -1] : [1]) {
        const y = zeroY - sign * v * unit;
        grid.append(s("line", { x1: pad.left, x2: width - pad.right, y1: y, y2: y, class: v === 0 ? "axis" : "gridline" }));
        grid.append(s("text", { x: pad.left - 6, y: y + 4, "text-anchor": "end", class: "tick" }, sign < 0 ? `−${v}` : String(v)));
      }
    }
    svg.append(grid);

    // Labels: as many days as fit without overlapping (about 34 px each).
    const every = Math.max(1, Math.ceil(34 / slot));
    const bars = s("g", { class: "chart-bars" });
    days.forEach((d, i) => {
      const cx = pad.left + slot * i + slot / 2;
      up.forEach((ser, k) => {
        const value = Number(d[ser.key] || 0);
        const bh = value * unit;
        const x = cx - groupW / 2 + k * barW;
        bars.append(s("rect", { x: x + 0.5, y: zeroY - bh, width: Math.max(1, barW - 1), height: Math.max(0, bh), fill: ser.color, rx: 2, "data-series": ser.key, "data-value": value },
          s("title", {}, `${d.date} · ${ser.label}: ${value}`)));
      });
      down.forEach((ser) => {
        const value = Number(d[ser.key] || 0);
        const bh = value * unit;
        bars.append(s("rect", { x: cx - groupW / 2 + 0.5, y: zeroY, width: Math.max(1, groupW - 1), height: Math.max(0, bh), fill: ser.color, rx: 2, "data-series": ser.key, "data-value": value },
          s("title", {}, `${d.date} · ${ser.label}: ${value}`)));
      });
      const fromEnd = days.length - 1 - i;
      if (fromEnd % every === 0) {
        bars.append(s("text", { x: cx, y: height - 6, "text-anchor": "middle", class: "tick", "aria-hidden": "true" }, shortDate(d.date)));
      }
    });
    svg.append(bars);
    canvas.replaceChildren(svg);
  };

  if (typeof ResizeObserver === "function") {
    const observer = new ResizeObserver((entries) => {
      for (const entry of entries) draw(Math.floor(entry.contentRect.width));
    });
    observer.observe(canvas);
  }
  // First drawing once the chart is in the page (its width is known then).
  requestAnimationFrame(() => draw(Math.floor(canvas.clientWidth) || 600));
  return wrap;
}

/** Horizontal bars for ranked lists: [{label, value, href?}]. */
export function rankList({ label, items, color = "var(--green)", role, valueLabel = (v) => String(v) }) {
  const max = Math.max(1, ...items.map((i) => i.value));
  return h("ol", { class: "rank-list", "aria-label": label, dataset: { role: role || "ranks" } }, items.map((item) =>
    h("li", null,
      item.href
        ? h("a", { class: "rank-label", href: item.href, title: item.title || item.label }, item.label)
        : h("span", { class: "rank-label", title: item.title || item.label }, item.label),
      h("span", { class: "rank-bar", "aria-hidden": "true" }, styled(h("span"), { width: `${Math.max(2, Math.round((item.value / max) * 100))}%`, background: color })),
      h("span", { class: "rank-value" }, valueLabel(item.value)))));
}
