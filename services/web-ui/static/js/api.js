// Talking to the platform through the gateway (same origin): JSON in and out, the platform's error
// shape {"error": {"code", "message", "details"}} turned into an ApiError with a readable message,
// and a poller that refreshes a view every few seconds while the tab is visible. The browser's session
// cookie goes with every request; an answer 401 (not logged in, or the session ended) sends the
// browser to the login page, which brings it back here afterwards.

const TIMEOUT_MS = 10000;

const SERVICES = [
  ["/api/v1/alerts", "Alert ingestion"],
  ["/api/v1/heartbeats", "Alert ingestion"],
  ["/api/v1/routing-rules", "Alert ingestion"],
  ["/api/v1/grouping", "Alert ingestion"],
  ["/api/v1/silences", "Alert ingestion"],
  ["/api/v1/maintenance-windows", "Alert ingestion"],
  ["/api/v1/incidents", "Incident management"],
  ["/api/v1/schedules", "The on-call service"],
  ["/api/v1/oncall", "The on-call service"],
  ["/api/v1/escalate", "The on-call service"],
  ["/api/v1/escalation", "The on-call service"],
  ["/api/v1/notifications", "The notification service"],
  ["/api/v1/notify", "The notification service"],
  ["/api/v1/auth/", "The identity service"],
  ["/api/v1/users", "The identity service"],
  ["/api/v1/integrations", "The identity service"],
  ["/api/v1/teams", "The identity service"],
  ["/api/v1/audit", "The identity service"],
];

export function serviceName(path) {
  const found = SERVICES.find(([prefix]) => path.startsWith(prefix));
  return found ? found[1] : "The platform";
}

/** The login page's address, bringing the browser back to where it is now once logged in. */
export function loginUrl() {
  const here = window.location.pathname + window.location.search;
  return `login.html${query({ next: here })}`;
}

export class ApiError extends Error {
  constructor(message, { status = 0, code = "network_error", details = [], retryAfter = null } = {}) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.details = details;
    this.retryAfter = retryAfter;  // seconds, from Retry-After (429)
  }

  /** True when the service behind the path is down or unreachable (as opposed to a refused request). */
  get unavailable() {
    return this.status === 0 || this.status === 502 || this.status === 503 || this.status === 504;
  }
}

function describeFailure(path, status, body) {
  const error = body && typeof body === "object" ? body.error : null;
  const service = serviceName(path);
  if (status === 502 || status === 503 || status === 504) {
    // The gateway's own "not reachable" says nothing more; a service's own 503 names its dependency.
    const why = error && error.message && error.code !== "service_unavailable" ? ` (${error.message})` : "";
    return `${service} is unavailable right now${why}. The page retries by itself.`;
  }
  if (error && error.message) {
    const fields = Array.isArray(error.details)
      ? error.details.filter((d) => d && d.field).map((d) => `${d.field}: ${d.message}`)
      : [];
    return fields.length ? `${error.message} — ${fields.join("; ")}` : error.message;
  }
  return `${service} answered HTTP ${status}.`;
}

/**
 * api("/api/v1/incidents?limit=50") → {data, total, status}. `total` is the X-Total-Count header
 * (a number) when the service sent one. Throws ApiError on network failure, timeout or non-2xx; on 401
 * it also sends the browser to the login page unless `loginOn401` is false (the login form itself).
 */
export async function api(path, { method = "GET", body, signal, loginOn401 = true } = {}) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), TIMEOUT_MS);
  if (signal) signal.addEventListener("abort", () => controller.abort(), { once: true });
  let response;
  try {
    response = await fetch(path, {
      method,
      headers: body === undefined ? { Accept: "application/json" } : { Accept: "application/json", "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: controller.signal,
      cache: "no-store",
    });
  } catch (err) {
    const timedOut = err && err.name === "AbortError";
    throw new ApiError(
      timedOut ? `${serviceName(path)} did not answer in time. The page retries by itself.`
               : "Cannot reach the platform (network error). The page retries by itself.",
      { status: 0, code: timedOut ? "timeout" : "network_error" },
    );
  } finally {
    clearTimeout(timer);
  }
  let data = null;
  const type = response.headers.get("Content-Type") || "";
  if (type.includes("application/json")) {
    try { data = await response.json(); } catch { data = null; }
  }
  if (!response.ok) {
    if (response.status === 401 && loginOn401) window.location.assign(loginUrl());
    const error = data && data.error ? data.error : {};
    const retryAfter = Number(response.headers.get("Retry-After")) || null;
    throw new ApiError(describeFailure(path, response.status, data), {
      status: response.status, code: error.code || `http_${response.status}`, details: error.details || [], retryAfter,
    });
  }
  const totalHeader = response.headers.get("X-Total-Count");
  return { data, total: totalHeader === null ? null : Number(totalHeader), status: response.status };
}

/** Query string from an object, skipping empty values. */
export function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

/**
 * Run `refresh` now and then every `intervalMs` (waiting for each run to finish), pausing while the
 * tab is hidden. Returns {now()} to refresh immediately (e.g. after the user changed something).
 */
export function poll(refresh, intervalMs) {
  let timer = null;
  let running = false;
  let again = false;

  async function run() {
    clearTimeout(timer);
    if (running) { again = true; return; }
    running = true;
    try {
      await refresh();
    } catch (err) {
      console.error(err);
    } finally {
      running = false;
    }
    if (again) { again = false; run(); return; }
    if (!document.hidden) timer = setTimeout(run, intervalMs);
  }

  document.addEventListener("visibilitychange", () => {
    if (!document.hidden) run();
    else clearTimeout(timer);
  });
  run();
  return { now: run };
}
