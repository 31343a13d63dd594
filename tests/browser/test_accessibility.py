"""axe-core in Chromium on every main page of every role: no critical or serious violation.

axe-core is vendored (tests/browser/vendor/axe-core, MPL-2.0) and injected into each page; the
test context bypasses the app's Content-Security-Policy for that script only. The per-page table
of violations (by impact) is printed; run with -s to read it.
"""

from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.main_pages import build, pages_of, signed_in
from tests.conftest import PASSWORD
from tests.workflow_helpers import agency

pytestmark = pytest.mark.browser

AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
IMPACTS = ("critical", "serious", "moderate", "minor")


def axe(page) -> list[dict]:
    """axe-core's violations on the page as it is now."""
    # What opens on a click (details, collapsed forms) is checked too: shown first.
    page.evaluate(
        "() => { document.querySelectorAll('details').forEach(d => { d.open = true; });"
        " document.querySelectorAll('.collapse:not(.navbar-collapse)')"
        ".forEach(c => c.classList.add('show')); }"
    )
    page.add_script_tag(path=str(AXE))
    return page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        ".map(v => ({id: v.id, impact: v.impact, help: v.help,"
        " nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5), count: v.nodes.length}))"
    )


def test_no_critical_or_serious_violation_on_any_main_page(app, make, browser, live_server):
    app.config["SEND_FILE_MAX_AGE_DEFAULT"] = 3600  # Bootstrap cached between pages: faster
    scenario = build(make)
    rows: list[tuple[str, str, dict[str, int]]] = []
    failures: list[str] = []
    for role, pages in pages_of(scenario).items():
        context, page = signed_in(browser, live_server, scenario, role, bypass_csp=True)
        try:
            for what, path in pages:
                response = page.goto(path)
                assert response.ok, f"{role} {path}: HTTP {response.status}"
                expect(page.locator("main")).to_be_visible()
                violations = axe(page)
                counts = {impact: 0 for impact in IMPACTS}
                for v in violations:
                    counts[v["impact"]] += v["count"]
                    if v["impact"] in ("critical", "serious"):
                        failures.append(
                            f"{role} {what} ({path}): {v['id']} ×{v['count']} {v['help']} {v['nodes']}"
                        )
                rows.append((role, what, counts))
        finally:
            context.close()

    print("\naxe-core violations (elements) per page")
    print(f"{'role':<16} {'page':<30} " + " ".join(f"{i:>9}" for i in IMPACTS))
    for role, what, counts in rows:
        print(f"{role:<16} {what:<30} " + " ".join(f"{counts[i]:>9}" for i in IMPACTS))
    assert not failures, "\n".join(failures)
    assert len(rows) >= 30  # every page was checked


FOCUS_RING = """() => {
  const style = getComputedStyle(document.activeElement);
  return {outline: style.outlineStyle, width: parseFloat(style.outlineWidth), shadow: style.boxShadow};
}"""


def test_keyboard_users_start_typing_skip_the_menu_and_see_where_they_are(page, make):
    org = agency(make)
    page.goto("/login")
    identifier = page.get_by_label("NIP atau email")
    expect(identifier).to_be_focused()  # the first field of sign-in takes the keys at once
    page.keyboard.type(org["nurse"].email)
    page.get_by_label("Kata sandi").fill(PASSWORD)
    with page.expect_navigation():
        page.keyboard.press("Enter")

    # the first Tab reaches the skip link, shown with a visible focus ring
    page.goto("/account/password")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Langsung ke isi utama")
    expect(skip).to_be_focused()
    expect(skip).to_be_visible()
    box = skip.bounding_box()
    assert box["width"] > 50 and box["height"] > 10 and box["y"] >= 0
    ring = page.evaluate(FOCUS_RING)
    assert ring["outline"] != "none" and ring["width"] >= 2, ring
    # following it puts the reading position in the main content: the next Tab is past the menu
    page.keyboard.press("Enter")
    assert page.url.endswith("#isi")
    expect(page.locator("main#isi")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.locator("main input:focus")).to_have_count(1)  # the first field of the form

    # every control of the menu shows where the keys are
    page.goto("/")
    for link in ("a.navbar-brand", "a.nav-link[href='/']"):
        page.keyboard.press("Tab")
        if link == "a.navbar-brand":
            page.keyboard.press("Tab")
        expect(page.locator(link).first).to_be_focused()
        ring = page.evaluate(FOCUS_RING)
        assert ring["outline"] != "none" and ring["width"] >= 2, (link, ring)
