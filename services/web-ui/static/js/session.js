// Who is using the page: GET /api/v1/auth/me once per page, shown in the top bar (name and role, with
// My profile and Log out; "Log in" for an anonymous caller of the local profile), the admin link for admins only, and
// `allows(me, role)` so that a page offers only the actions the role may take. Not logged in (401):
// api.js has already sent the browser to the login page.

import { api, loginUrl } from "./api.js";
import { $, h } from "./dom.js";

const RANKS = { none: 0, viewer: 1, responder: 2, admin: 3 };
const RETRY_MS = 10000;

/** True when `me` (an /auth/me answer) has at least `role`; an unknown caller (null) is not refused
 * here: the services decide, and the page shows their answer. */
export function allows(me, role) {
  return me === null || (RANKS[me.role] ?? 0) >= RANKS[role];
}

async function logOut(button) {
  button.disabled = true;
  try {
    await api("/api/v1/auth/logout", { method: "POST", loginOn401: false });
  } finally {
    window.location.assign("login.html?logged_out=1");
  }
}

function showAccount(me) {
  const account = $("#account");
  if (me === null) {
    account.replaceChildren(h("span", { class: "who unknown" }, "Account unknown (identity service unavailable)"));
    return;
  }
  const who = h("span", { class: "who" },
    h("span", { class: "who-name", id: "who-name" }, me.name),
    " ",
    h("span", { class: "who-role", id: "who-role" }, me.role));
  const anonymous = me.kind === "anonymous";
  const action = anonymous
    ? h("a", { class: "account-action", href: loginUrl() }, "Log in")
    : h("button", { type: "button", id: "logout", class: "account-action", onclick: (event) => logOut(event.currentTarget) }, "Log out");
  const profile = me.kind === "user" ? h("a", { class: "account-action", href: "profile.html", id: "profile-link" }, "My profile") : null;
  account.replaceChildren(h("span", { class: "visually-hidden" }, anonymous ? "Not logged in: " : "Logged in as "), who, profile, action);
  $("#admin-link").hidden = me.role !== "admin";
}

/** Resolves to the /auth/me answer, or null when the identity service cannot say (retried quietly). */
async function loadMe() {
  try {
    const { data } = await api("/api/v1/auth/me");
    return data;
  } catch (err) {
    if (err.status === 401) return new Promise(() => {});  // leaving for the login page
    window.setTimeout(() => loadMe().then((me) => me && showAccount(me)), RETRY_MS);
    return null;
  }
}

export const session = loadMe().then((me) => {
  showAccount(me);
  return me;
});
