"""The HTML a page link answers: a confirmation with one POST button, the outcome, or why it cannot act.

Plain HTML that works without script (nothing inline, so the gateway's strict Content-Security-Policy
holds), the web UI's stylesheet when opened through the gateway, every value escaped.
"""

from html import escape

from sqlalchemy import RowMapping

from platform_common.pagelinks import PageAction

# Sent with every page-link answer: the token in the URL must not leak (Referer, caches, indexes), and
# the page may only post its own form.
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Robots-Tag": "noindex, nofollow",
    "X-Content-Type-Options": "nosniff",
}


def _document(title: str, body: str) -> str:
    return f"""<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <meta name="robots" content="noindex, nofollow">
  <title>{escape(title)} · Incident Platform</title>
  <link rel="icon" href="data:,">
  <link rel="stylesheet" href="/css/app.css">
</head>
<body>
  <header class="topbar"><span class="brand">Incident Platform</span></header>
  <main id="main" class="narrow">
{body}
  </main>
</body>
</html>
"""


def _facts(incident: RowMapping, action: PageAction, actor: str) -> str:
    rows = [
        ("Incident", incident["title"]),
        ("Service", incident["service"]),
        ("Severity", incident["severity"]),
        ("Status", incident["status"]),
        ("Acting as", actor),
        ("Link valid until", f"{action.expires_at:%Y-%m-%d %H:%M} UTC"),
    ]
    items = "\n".join(f"      <dt>{escape(name)}</dt><dd>{escape(str(value))}</dd>" for name, value in rows)
    return f'    <dl class="panel">\n{items}\n    </dl>'


def confirmation(incident: RowMapping, action: PageAction, actor: str) -> str:
    verb = action.action.capitalize()
    body = f"""    <h1>{verb} this incident?</h1>
    <p class="sub">Opening this link changed nothing. Confirm to {action.action} the incident as {escape(actor)};
    the link then stops working.</p>
{_facts(incident, action, actor)}
    <form method="post">
      <button type="submit" class="primary">{verb} as {escape(actor)}</button>
    </form>"""
    return _document(f"{verb} incident", body)


def done(incident: RowMapping, actor: str) -> str:
    body = f"""    <h1>{escape(incident["status"].replace("_", " ").capitalize())}</h1>
    <p role="status">“{escape(incident["title"])}” is now {escape(incident["status"])} by {escape(actor)}.</p>
    <p><a href="/incident.html?id={escape(str(incident["id"]))}">Open the incident</a></p>"""
    return _document(f"Incident {incident['status']}", body)


def refused(title: str, message: str) -> str:
    body = f"""    <h1>{escape(title)}</h1>
    <p role="alert">{escape(message)}</p>
    <p class="sub">Nothing was changed. The incident can still be handled in the web UI.</p>"""
    return _document(title, body)
