// Users: add one (name, email, role, optional password), change a role, delete (asked twice), and
// open a user's API tokens. POST / GET / PATCH / DELETE /api/v1/users.

import { api, query } from "./api.js";
import { $, emptyRow, h, say } from "./dom.js";
import { openTokens } from "./admin-tokens.js";

const ROLES = ["viewer", "responder", "admin"];
const form = $("#user-form");
const message = $("#user-message");

function roleSelect(user) {
  const select = h("select", { "aria-label": `Role of ${user.name}`, dataset: { userId: user.id } },
    ROLES.map((role) => h("option", { value: role, selected: role === user.role }, role)));
  select.addEventListener("change", async () => {
    try {
      await api(`/api/v1/users/${encodeURIComponent(user.id)}`, { method: "PATCH", body: { role: select.value } });
      say(message, `${user.name} is now ${select.value}.`);
      user.role = select.value;
    } catch (err) {
      select.value = user.role;
      say(message, err.message, true);
    }
  });
  return select;
}

/** Delete asks once more in place (no dialog): "Delete" becomes "Confirm delete" and "Cancel". */
function deleteControls(user) {
  const cell = h("span", { class: "row-actions" });
  const ask = () => cell.replaceChildren(
    h("button", { type: "button", class: "danger", onclick: () => remove(user) }, `Confirm delete ${user.name}`),
    h("button", { type: "button", onclick: reset }, "Cancel"));
  const reset = () => cell.replaceChildren(h("button", { type: "button", onclick: ask, "aria-label": `Delete ${user.name}` }, "Delete"));
  reset();
  return cell;
}

async function remove(user) {
  try {
    await api(`/api/v1/users/${encodeURIComponent(user.id)}`, { method: "DELETE" });
    say(message, `${user.name} was deleted, with their tokens and sessions.`);
  } catch (err) {
    say(message, err.message, true);
  }
  await refreshUsers();
}

function userRow(user) {
  return h("tr", { dataset: { userId: user.id, email: user.email } },
    h("td", { class: "title" }, user.name),
    h("td", { class: "title" }, user.email),
    h("td", {}, roleSelect(user)),
    h("td", {}, user.has_password ? "set" : "none (tokens only)"),
    h("td", {}, h("span", { class: "row-actions" },
      h("button", { type: "button", onclick: () => openTokens(user), "aria-label": `Tokens of ${user.name}` }, "Tokens"),
      deleteControls(user))));
}

async function refreshUsers() {
  try {
    const { data } = await api(`/api/v1/users${query({ limit: 500 })}`);
    $("tbody", $("#users")).replaceChildren(...(data.length ? data.map(userRow) : [emptyRow(5, "No users yet.")]));
  } catch (err) {
    say(message, err.message, true);
  }
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const body = { name: form.elements.name.value.trim(), email: form.elements.email.value.trim(), role: form.elements.role.value };
  if (form.elements.password.value) body.password = form.elements.password.value;
  if (!body.name || !body.email) {
    say(message, "A user needs a name and an email.", true);
    return;
  }
  try {
    const { data } = await api("/api/v1/users", { method: "POST", body });
    say(message, `${data.name} was added as ${data.role}.`);
    form.reset();
  } catch (err) {
    say(message, err.message, true);
  }
  await refreshUsers();
});

export function startUsers() {
  refreshUsers();
}
