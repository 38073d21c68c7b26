"""axe-core accessibility checks for the browser tests (WCAG 2.1 A and AA)."""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page

WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING_IMPACTS = {"serious", "critical"}

_axe = Axe()


def assert_accessible(page: Page, label: str) -> None:
    """axe-core on the page as it is now: no serious or critical WCAG 2.1 A/AA violation."""
    __tracebackhide__ = True
    results = _axe.run(
        page,
        options={
            "runOnly": {"type": "tag", "values": WCAG_TAGS},
            "resultTypes": ["violations"],
        },
    )
    blocking = [v for v in results.response["violations"] if v["impact"] in BLOCKING_IMPACTS]
    if not blocking:
        return
    lines = [f"{label} ({page.url}): {len(blocking)} accessibility violation(s)"]
    for v in blocking:
        targets = ", ".join(" ".join(map(str, n["target"])) for n in v["nodes"][:3])
        more = f" (+{len(v['nodes']) - 3} more)" if len(v["nodes"]) > 3 else ""
        lines.append(f"- {v['id']} [{v['impact']}]: {v['help']}\n    at {targets}{more}")
    pytest.fail("\n".join(lines))
