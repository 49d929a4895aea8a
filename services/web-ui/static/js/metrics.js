// SRE metrics: MTTA and MTTR over time and their distributions, computed in the browser from the
// incident list (acknowledged_at / mtta_seconds, resolved_at / mttr_seconds).

import { api, poll, query } from "./api.js";
import { $, h, showState } from "./dom.js";
import { barChart, durationMax } from "./charts.js";
import { clock, duration } from "./format.js";
import "./session.js";

const REFRESH_MS = 30000;
const PAGE = 500;
const MAX_PAGES = 10;
const HOUR = 3600000;
const DAY = 24 * HOUR;
const DISTRIBUTION = [
  [60, "<1m"], [300, "1–5m"], [900, "5–15m"], [1800, "15–30m"], [3600, "30m–1h"],
  [4 * 3600, "1–4h"], [24 * 3600, "4–24h"], [Infinity, ">1d"],
];

const form = $("#range-form");
form.addEventListener("submit", (event) => { event.preventDefault(); poller.now(); });
$("#range").addEventListener("change", () => poller.now());

/** Incidents created since `since` (newest first), a page of 500 at a time. */
async function loadIncidents(since, service) {
  const rows = [];
  for (let page = 0; page < MAX_PAGES; page += 1) {
    const { data, total } = await api(`/api/v1/incidents${query({ service, limit: PAGE, offset: page * PAGE })}`);
    rows.push(...data);
    const last = data[data.length - 1];
    if (!last || data.length < PAGE || rows.length >= (total ?? Infinity) || Date.parse(last.created_at) < since) break;
  }
  return rows;
}

/** Time buckets for the range: hourly for a day, daily up to a month, weekly beyond. */
function buckets(days, now) {
  const size = days <= 1 ? HOUR : days <= 30 ? DAY : 7 * DAY;
  const count = Math.ceil((days * DAY) / size);
  const end = size === HOUR ? Math.ceil(now / HOUR) * HOUR : endOfLocalDay(now);
  const hourFmt = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
  const dayFmt = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric" });
  return Array.from({ length: count }, (_, i) => {
    const start = end - (count - i) * size;
    return { start, end: start + size, label: (size === HOUR ? hourFmt : dayFmt).format(new Date(start)), values: [] };
  });
}

function endOfLocalDay(now) {
  const date = new Date(now);
  date.setHours(24, 0, 0, 0);
  return date.getTime();
}

function stats(values) {
  if (!values.length) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const pick = (q) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
  return { count: values.length, mean: values.reduce((a, b) => a + b, 0) / values.length, median: pick(0.5), p90: pick(0.9), max: sorted[sorted.length - 1] };
}

function renderStats(node, summary) {
  const items = summary
    ? [["Incidents", summary.count], ["Mean", duration(summary.mean)], ["Median", duration(summary.median)], ["p90", duration(summary.p90)], ["Max", duration(summary.max)]]
    : [["Incidents", 0]];
  node.replaceChildren(...items.map(([label, value]) => h("div", {}, h("dt", {}, label), h("dd", {}, value))));
}

function overTime(points, days, now, kind) {
  const slots = buckets(days, now);
  for (const { at, value } of points) {
    const slot = slots.find((b) => at >= b.start && at < b.end);
    if (slot) slot.values.push(value);
  }
  const bars = slots.map((slot) => {
    const mean = slot.values.length ? slot.values.reduce((a, b) => a + b, 0) / slot.values.length : null;
    return {
      label: slot.label, value: mean, valueLabel: mean === null ? "" : duration(mean),
      tooltip: mean === null ? `${slot.label}: no incidents` : `${slot.label}: mean ${duration(mean)} over ${slot.values.length} incident(s)`,
    };
  });
  const max = durationMax(Math.max(0, ...bars.map((b) => b.value ?? 0)));
  const withData = bars.filter((b) => b.value !== null).length;
  return barChart({
    bars, max, format: duration, barClass: `bar-${kind}`, labelEvery: Math.ceil(bars.length / 8),
    ariaLabel: `${kind.toUpperCase()} over time: ${withData} of ${bars.length} periods have data`,
  });
}

function distribution(values, kind) {
  const counts = DISTRIBUTION.map(() => 0);
  for (const value of values) counts[DISTRIBUTION.findIndex(([limit]) => value < limit)] += 1;
  const bars = DISTRIBUTION.map(([, label], i) => ({
    label, value: counts[i], valueLabel: counts[i] ? String(counts[i]) : "", tooltip: `${label}: ${counts[i]} incident(s)`,
  }));
  return barChart({
    bars, format: String, barClass: `bar-dist-${kind}`,
    ariaLabel: `${kind.toUpperCase()} distribution: ${bars.map((b) => `${b.label} ${b.value}`).join(", ")}`,
  });
}

async function refresh() {
  const days = Number($("#range").value);
  const service = $("#service").value.trim();
  const now = Date.now();
  const since = now - days * DAY;
  const banner = $("#page-error");
  try {
    const incidents = await loadIncidents(since, service);
    const mtta = incidents.filter((i) => i.acknowledged_at && i.mtta_seconds !== null)
      .map((i) => ({ at: Date.parse(i.acknowledged_at), value: i.mtta_seconds })).filter((p) => p.at >= since);
    const mttr = incidents.filter((i) => i.resolved_at && i.mttr_seconds !== null)
      .map((i) => ({ at: Date.parse(i.resolved_at), value: i.mttr_seconds })).filter((p) => p.at >= since);
    renderStats($("#mtta-stats"), stats(mtta.map((p) => p.value)));
    renderStats($("#mttr-stats"), stats(mttr.map((p) => p.value)));
    $("#mtta-time").replaceChildren(overTime(mtta, days, now, "mtta"));
    $("#mttr-time").replaceChildren(overTime(mttr, days, now, "mttr"));
    $("#mtta-dist").replaceChildren(distribution(mtta.map((p) => p.value), "mtta"));
    $("#mttr-dist").replaceChildren(distribution(mttr.map((p) => p.value), "mttr"));
    $("#charts").hidden = false;
    banner.hidden = true;
    showState($("#state"), mtta.length || mttr.length ? "" : "No incident was acknowledged or resolved in this range yet.");
    $("#updated").textContent = `Updated ${clock()}`;
  } catch (err) {
    banner.textContent = err.message;
    banner.hidden = false;
    if ($("#charts").hidden) showState($("#state"), "Metrics cannot be computed right now.", "error");
    $("#updated").textContent = `Last attempt ${clock()} failed`;
  }
}

const poller = poll(refresh, REFRESH_MS);
