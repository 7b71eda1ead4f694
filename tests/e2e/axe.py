"""axe-core (the npm package, node_modules/axe-core) run in the page: WCAG 2.2 A and AA rules."""

from pathlib import Path

from playwright.sync_api import Page

AXE_SOURCE = (Path(__file__).resolve().parents[2] / "node_modules/axe-core/axe.min.js").read_text()
WCAG_22_A_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]


def _inject(page: Page) -> None:
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(AXE_SOURCE)


def serious_findings(page: Page, include: str = "body") -> list[str]:
    """The serious and critical findings in `include` (a selector; open shadow roots included),
    one line each: rule, element, what fails."""
    _inject(page)
    return page.evaluate(
        """async ([include, tags]) => {
          const result = await axe.run({ include: [[include]] },
            { runOnly: { type: "tag", values: tags }, resultTypes: ["violations"] });
          return result.violations
            .filter((v) => v.impact === "serious" || v.impact === "critical")
            .flatMap((v) => v.nodes.map((n) =>
              `${v.id} (${v.impact}) ${JSON.stringify(n.target)}: ${n.failureSummary}`));
        }""",
        [include, WCAG_22_A_AA],
    )


def checked_count(page: Page, include: str = "body") -> int:
    """How many elements axe looked at in `include`: proof that a clean result saw the widget."""
    _inject(page)
    return page.evaluate(
        """async (include) => {
          const result = await axe.run({ include: [[include]] }, { resultTypes: ["passes"] });
          return result.passes.reduce((sum, rule) => sum + rule.nodes.length, 0);
        }""",
        include,
    )
