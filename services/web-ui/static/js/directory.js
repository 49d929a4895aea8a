// Who and what can be picked in the responder pages: platform users, on-call schedules and identity
// teams, each read once per call (GET /api/v1/users, /api/v1/schedules, /api/v1/teams), sorted by name.

import { api, query } from "./api.js";

const LIMIT = 500;

const byName = (a, b) => a.name.localeCompare(b.name);

export async function loadUsers() {
  const { data } = await api(`/api/v1/users${query({ limit: LIMIT })}`);
  return data.slice().sort(byName);
}

export async function loadSchedules() {
  const { data } = await api(`/api/v1/schedules${query({ limit: LIMIT })}`);
  return data.slice().sort((a, b) => a.team.localeCompare(b.team));
}

export async function loadTeams() {
  const { data } = await api("/api/v1/teams");
  return data.slice().sort(byName);
}

/** The same person? Shifts and overrides carry name and email only: people are matched by email. */
export function samePerson(person, me) {
  return Boolean(person && me && me.email && person.email && person.email.toLowerCase() === me.email.toLowerCase());
}

/** A date-time <input type="datetime-local"> value (the browser's local time) for an instant. */
export function localInputValue(date) {
  const pad = (n) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}
