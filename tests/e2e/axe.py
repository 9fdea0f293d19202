"""Accessibility checks with axe-core, run inside the page under test.

axe-core comes from the npm registry (package.json at the root of the repository;
`make pytest` installs it into node_modules/).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from playwright.sync_api import Page

ROOT = Path(__file__).resolve().parents[2]
AXE_SCRIPT = ROOT / "node_modules" / "axe-core" / "axe.min.js"
WCAG_21_AA = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa")
SERIOUS = ("serious", "critical")

Axe = Callable[..., list[dict[str, Any]]]

_RUN = """async (tags) => {
  const results = await axe.run(document, { runOnly: { type: "tag", values: tags } });
  return results.violations;
}"""


def axe_violations(page: Page, impacts: Iterable[str] = SERIOUS) -> list[dict[str, Any]]:
    """The WCAG 2.1 A and AA violations axe-core finds on the page, of these impacts."""
    # Evaluated rather than added as a <script> tag, so that a Content-Security-Policy
    # that forbids inline scripts does not keep axe out of the page.
    page.evaluate(AXE_SCRIPT.read_text(encoding="utf-8"))
    violations: list[dict[str, Any]] = page.evaluate(_RUN, list(WCAG_21_AA))
    wanted = set(impacts)
    return [violation for violation in violations if violation["impact"] in wanted]


def describe(violations: list[dict[str, Any]]) -> str:
    """One paragraph per violation: rule, impact, help, and the elements at fault."""
    lines = [f"axe-core found {len(violations)} accessibility violation(s):"]
    for violation in violations:
        lines.append(
            f"- {violation['id']} ({violation['impact']}): {violation['help']}"
            f" <{violation['helpUrl']}>"
        )
        for node in violation["nodes"]:
            target = " ".join(str(part) for part in node["target"])
            summary = [line.strip() for line in str(node.get("failureSummary") or "").splitlines()]
            lines.append(f"    {target}: {'; '.join(line for line in summary if line)}")
    return "\n".join(lines)
