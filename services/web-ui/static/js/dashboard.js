// Dashboard: the incident list with filters, counts by status and severity, mean MTTA / MTTR.
// Refreshes every few seconds, so an incident opened by a new alert shows up without a reload. A
// logged-in person also sees their own open incidents (my-incidents.js).

import { api, poll, query } from "./api.js";
import { $, badge, h, SEVERITIES, showState, statusLabel, STATUSES } from "./dom.js";
import { age, clock, duration, timeElement } from "./format.js";
import { startMyIncidents } from "./my-incidents.js";
import { session } from "./session.js";

const REFRESH_MS = 4000;
const PAGE_SIZE = 50;
const ACTIVE = ["open", "acknowledged", "in_progress"];
const ACTIVE_LIMIT = 100;

const form = $("#filters");
const state = { filters: readFiltersFromUrl(), offset: 0 };
const knownServices = new Set();

function readFiltersFromUrl() {
  const params = new URLSearchParams(window.location.search);
  return {
    status: params.get("status") === "all" ? "" : params.get("status") || "active",
    severity: params.get("severity") || "",
    service: params.get("service") || "",
  };
}

function writeFiltersToForm() {
  form.elements.status.value = state.filters.status;
  form.elements.severity.value = state.filters.severity;
  form.elements.service.value = state.filters.service;
}

function applyFilters(filters) {
  state.filters = filters;
  state.offset = 0;
  const url = new URL(window.location.href);
  // The URL keeps the filters so that a filtered view can be bookmarked and shared.
  url.search = query({ status: filters.status === "active" ? "" : filters.status || "all", severity: filters.severity, service: filters.service });
  window.history.replaceState(null, "", url);
  poller.now();
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  applyFilters({
    status: form.elements.status.value,
    severity: form.elements.severity.value,
    service: form.elements.service.value.trim(),
  });
});
form.elements.status.addEventListener("change", () => form.requestSubmit());
form.elements.severity.addEventListener("change", () => form.requestSubmit());
$("#clear-filters").addEventListener("click", () => {
  state.filters = { status: "active", severity: "", service: "" };
  writeFiltersToForm();
  applyFilters(state.filters);
});
$("#prev-page").addEventListener("click", () => { state.offset = Math.max(0, state.offset - PAGE_SIZE); poller.now(); });
$("#next-page").addEventListener("click", () => { state.offset += PAGE_SIZE; poller.now(); });

async function loadIncidents() {
  const { status, severity, service } = state.filters;
  if (status === "active") {
    const pages = await Promise.all(ACTIVE.map((s) => api(`/api/v1/incidents${query({ status: s, severity, service, limit: ACTIVE_LIMIT })}`)));
    const rows = pages.flatMap((page) => page.data).sort((a, b) => Date.parse(b.created_at) - Date.parse(a.created_at));
    const total = pages.reduce((sum, page) => sum + (page.total ?? page.data.length), 0);
    return { rows, total, paged: false };
  }
  const page = await api(`/api/v1/incidents${query({ status, severity, service, limit: PAGE_SIZE, offset: state.offset })}`);
  return { rows: page.data, total: page.total ?? page.data.length, paged: true };
}

function renderSummary(summary) {
  const byStatus = $("#by-status");
  if (byStatus.querySelector("p")) byStatus.replaceChildren();
  byStatus.replaceChildren(...STATUSES.map((s) =>
    h("div", { dataset: { status: s } }, h("dt", {}, statusLabel(s)), h("dd", {}, summary.by_status[s] ?? 0))));
  const bySeverity = $("#by-severity");
  bySeverity.replaceChildren(...SEVERITIES.map((s) =>
    h("div", { dataset: { severity: s } }, h("dt", {}, s[0].toUpperCase() + s.slice(1)), h("dd", {}, summary.open_by_severity[s] ?? 0))));
  $("#mtta").textContent = duration(summary.mtta_avg_seconds);
  $("#mttr").textContent = duration(summary.mttr_avg_seconds);
}

function incidentRow(incident, now) {
  return h("tr", { dataset: { incidentId: incident.id } },
    h("td", {}, badge("sev", incident.severity)),
    h("td", { class: "title" }, h("a", { href: `incident.html?id=${encodeURIComponent(incident.id)}` }, incident.title)),
    h("td", {}, incident.service),
    h("td", {}, badge("st", incident.status)),
    h("td", { class: "nowrap" }, timeElement(incident.created_at, age(incident.created_at, now))),
    h("td", {}, incident.assigned_to || h("span", { class: "sub" }, "unassigned")),
  );
}

function renderList({ rows, total, paged }) {
  const table = $("#incidents");
  const now = Date.now();
  $("tbody", table).replaceChildren(...rows.map((row) => incidentRow(row, now)));
  for (const row of rows) knownServices.add(row.service);
  $("#known-services").replaceChildren(...[...knownServices].sort().map((name) => h("option", { value: name })));
  table.hidden = rows.length === 0;
  const filtered = state.filters.severity || state.filters.service || state.filters.status !== "active";
  showState($("#list-state"), rows.length ? "" : filtered ? "No incidents match these filters." : "No unresolved incidents. All quiet.");
  const info = $("#page-info");
  if (paged) {
    info.textContent = rows.length ? `${state.offset + 1}–${state.offset + rows.length} of ${total}` : `${total} in total`;
  } else {
    info.textContent = rows.length < total ? `newest ${rows.length} of ${total} unresolved` : `${total} unresolved`;
  }
  $("#prev-page").disabled = !paged || state.offset === 0;
  $("#next-page").disabled = !paged || state.offset + rows.length >= total;
  $("#prev-page").hidden = !paged;
  $("#next-page").hidden = !paged;
}

async function refresh() {
  const [summary, list] = await Promise.allSettled([api("/api/v1/incidents/summary"), loadIncidents()]);
  const errors = [summary, list].filter((r) => r.status === "rejected").map((r) => r.reason.message);
  const banner = $("#page-error");
  banner.textContent = errors.length ? errors[0] : "";
  banner.hidden = errors.length === 0;
  if (summary.status === "fulfilled") renderSummary(summary.value.data);
  if (list.status === "fulfilled") {
    renderList(list.value);
  } else if ($("#incidents").hidden) {
    showState($("#list-state"), "Incidents cannot be shown right now.", "error");
    $("#page-info").textContent = "";
  }
  if (summary.status === "rejected" && !$("#by-status").childElementCount) {
    for (const id of ["#by-status", "#by-severity"]) $(id).replaceChildren(h("p", { class: "sub" }, "unavailable"));
  }
  $("#updated").textContent = errors.length
    ? `Last attempt ${clock()} failed · retrying every ${REFRESH_MS / 1000} s`
    : `Updated ${clock()} · refreshes every ${REFRESH_MS / 1000} s`;
}

writeFiltersToForm();
const poller = poll(refresh, REFRESH_MS);
session.then(startMyIncidents);
