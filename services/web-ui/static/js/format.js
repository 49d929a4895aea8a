// Formatting durations and times for people (the API speaks seconds and ISO 8601 UTC).

/** 42 → "42s", 200 → "3m 20s", 7500 → "2h 5m", 100000 → "1d 3h"; null → "—". */
export function duration(seconds) {
  if (seconds === null || seconds === undefined || Number.isNaN(Number(seconds))) return "—";
  let rest = Math.max(0, Math.round(Number(seconds)));
  if (rest < 60) return `${rest}s`;
  const days = Math.floor(rest / 86400); rest -= days * 86400;
  const hours = Math.floor(rest / 3600); rest -= hours * 3600;
  const minutes = Math.floor(rest / 60);
  const secs = rest - minutes * 60;
  if (days) return hours ? `${days}d ${hours}h` : `${days}d`;
  if (hours) return minutes ? `${hours}h ${minutes}m` : `${hours}h`;
  return secs ? `${minutes}m ${secs}s` : `${minutes}m`;
}

/** Time since an ISO timestamp, e.g. "5m 10s". */
export function age(iso, now = Date.now()) {
  if (!iso) return "—";
  return duration((now - Date.parse(iso)) / 1000);
}

const DATE_TIME = new Intl.DateTimeFormat(undefined, {
  year: "numeric", month: "short", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit",
});
const SHORT = new Intl.DateTimeFormat(undefined, { month: "short", day: "2-digit", hour: "2-digit", minute: "2-digit" });
const CLOCK = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit" });

export function dateTime(iso) {
  return iso ? DATE_TIME.format(new Date(iso)) : "—";
}

export function shortDateTime(iso) {
  return iso ? SHORT.format(new Date(iso)) : "—";
}

export function clock(date = new Date()) {
  return CLOCK.format(date);
}

/** A <time> element: the local time as text, the exact ISO value as attribute and tooltip. */
export function timeElement(iso, text) {
  const node = document.createElement("time");
  if (iso) {
    node.dateTime = iso;
    node.title = iso;
  }
  node.textContent = text ?? dateTime(iso);
  return node;
}

/** A routing or silence matcher as Alertmanager writes it: team=~"pay.*" (labels without their prefix). */
export function matcherText(matcher) {
  return `${matcher.name.replace(/^labels\./, "")}${matcher.op}${JSON.stringify(matcher.value)}`;
}
