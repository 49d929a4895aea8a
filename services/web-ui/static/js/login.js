// The login page: email + password → POST /api/v1/auth/login (the service sets the HttpOnly session
// cookie), then back to the page that sent the browser here (`?next=`, same origin only).

import { api } from "./api.js";
import { $ } from "./dom.js";

const params = new URLSearchParams(window.location.search);
const form = $("#login-form");
const error = $("#login-error");

/** Where to go after logging in: a path on this site, never another origin. */
function nextPage() {
  const target = new URL(params.get("next") || "index.html", window.location.href);
  return target.origin === window.location.origin ? target.pathname + target.search + target.hash : "index.html";
}

function failure(err) {
  if (err.status === 401) return "Wrong email or password.";
  if (err.status === 429) {
    const minutes = err.retryAfter ? Math.ceil(err.retryAfter / 60) : 15;
    return `Too many failed attempts for this account. Wait ${minutes} minutes, then try again.`;
  }
  if (err.status === 422) return "Enter your email and password.";
  return err.message;
}

if (params.has("logged_out")) $("#login-note").textContent = "You are logged out.";
else if (params.has("next")) $("#login-note").textContent = "Log in to continue.";

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const email = form.elements.email.value.trim();
  const password = form.elements.password.value;
  if (!email || !password) {
    error.textContent = "Enter your email and password.";
    (email ? form.elements.password : form.elements.email).focus();
    return;
  }
  $("#login-submit").disabled = true;
  error.textContent = "";
  try {
    await api("/api/v1/auth/login", { method: "POST", body: { email, password }, loginOn401: false });
    window.location.assign(nextPage());
  } catch (err) {
    error.textContent = failure(err);
    form.elements.password.select();
  } finally {
    $("#login-submit").disabled = false;
  }
});
