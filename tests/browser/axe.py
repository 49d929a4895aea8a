"""Accessibility checks with the pinned axe-core (tests/browser/package.json, installed by
scripts/bootstrap.sh): inject it into the page and run the WCAG 2.1 A and AA rules.

Playwright injects the script inline, which the pages' CSP forbids, so the tab that is audited is
opened with `bypass_csp=True`; every other browser test runs under the real CSP and fails on a breach.
"""

from typing import Any

from tests.browser.harness import AXE_SCRIPT

WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]

_RUN = """async (tags) => {
    const result = await axe.run(document, { runOnly: { type: "tag", values: tags } });
    return result.violations.map((v) => ({
        id: v.id, impact: v.impact, help: v.help,
        nodes: v.nodes.map((n) => `${n.target.join(" ")}: ${n.failureSummary}`),
    }));
}"""


def axe_violations(page: Any) -> list[dict]:
    """The page's WCAG 2.1 AA violations as axe-core reports them (an empty list when there are none)."""
    if not AXE_SCRIPT.exists():
        raise RuntimeError(f"{AXE_SCRIPT} is missing: run scripts/bootstrap.sh (npm ci in tests/browser)")
    if page.evaluate("typeof window.axe") == "undefined":
        page.add_script_tag(path=str(AXE_SCRIPT))
    return page.evaluate(_RUN, WCAG_TAGS)


def describe(violations: list[dict]) -> str:
    lines = []
    for violation in violations:
        lines.append(f"{violation['id']} ({violation['impact']}): {violation['help']}")
        lines.extend(f"    {node}" for node in violation["nodes"])
    return "\n".join(lines)
