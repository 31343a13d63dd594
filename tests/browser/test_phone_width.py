"""At phone width (390 × 844 CSS pixels), every main page of every role fits the screen.

Nothing is wider than the viewport: the page never scrolls sideways, and an element may reach
past the right edge only inside a box that scrolls on its own (a `.table-responsive`). No button
is cut ("Hap" for "Hapus"), no date field is narrower than its value, and a NIP is never broken
over two lines. The overdue list stays a list, not a 13 000-pixel scroll.
"""

import pytest

from tests.browser.main_pages import build, pages_of, signed_in

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}

# Everything the page shows that does not fit, in one pass over the document.
MISFITS = """
() => {
  const width = window.innerWidth;
  const found = [];
  const describe = (el) => {
    const text = (el.innerText || el.value || el.getAttribute('aria-label') || '').trim().slice(0, 40);
    const classes = typeof el.className === 'string' ? el.className.trim().split(/\\s+/).join('.') : '';
    return el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + (classes ? '.' + classes : '') +
      (text ? ' "' + text + '"' : '');
  };
  const scrollsAlone = (el) => {
    for (let box = el.parentElement; box && box !== document.body; box = box.parentElement) {
      const overflow = getComputedStyle(box).overflowX;
      if (overflow === 'auto' || overflow === 'scroll') return true;
    }
    return false;
  };
  const clippedBy = (el, rect) => {
    for (let box = el.parentElement; box && box !== document.body; box = box.parentElement) {
      if (getComputedStyle(box).overflowX === 'visible') continue;
      const edge = box.getBoundingClientRect().right;
      if (rect.right > edge + 1) return Math.round(edge);
    }
    return 0;
  };
  if (document.documentElement.scrollWidth > width) {
    found.push(`the page scrolls sideways: ${document.documentElement.scrollWidth} px wide`);
  }
  for (const el of document.body.querySelectorAll('*')) {
    const rect = el.getBoundingClientRect();
    if (!rect.width || !rect.height || getComputedStyle(el).visibility === 'hidden') continue;
    if ((rect.right > width + 1 || rect.left < -1) && !scrollsAlone(el)) {
      found.push(`past the edge (${Math.round(rect.left)}..${Math.round(rect.right)}): ${describe(el)}`);
    }
    // A control is wholly on screen, even in a box that scrolls: a field or button cut at the
    // edge (a date field, "Hap" for "Hapus") reads as broken.
    if (el.matches('button, .btn, input:not([type=hidden]), select, textarea')) {
      if (rect.right > width + 1 || rect.left < -1) {
        const span = `${Math.round(rect.left)}..${Math.round(rect.right)}`;
        found.push(`control off screen (${span}): ${describe(el)}`);
      } else if (clippedBy(el, rect)) {
        found.push(`control cut by its box at ${clippedBy(el, rect)} px: ${describe(el)}`);
      } else if (el.matches('button, .btn') && el.scrollWidth > el.clientWidth + 2) {
        found.push(`label cut (${el.scrollWidth} > ${el.clientWidth}): ${describe(el)}`);
      }
    }
  }
  // A NIP (18 digits) on screen is on one line.
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    for (const match of node.data.matchAll(/\\d{18}/g)) {
      const range = document.createRange();
      range.setStart(node, match.index);
      range.setEnd(node, match.index + 18);
      const lines = new Set([...range.getClientRects()].filter(r => r.width).map(r => Math.round(r.top)));
      if (lines.size > 1) found.push(`NIP ${match[0]} broken over ${lines.size} lines`);
    }
  }
  return found;
}
"""


def test_every_main_page_fits_a_phone(app, make, browser, live_server):
    app.config["SEND_FILE_MAX_AGE_DEFAULT"] = 3600  # Bootstrap cached between pages: faster
    scenario = build(make)
    problems: list[str] = []
    heights: dict[str, int] = {}
    checked = 0
    for role, pages in pages_of(scenario).items():
        context, page = signed_in(browser, live_server, scenario, role, viewport=PHONE)
        try:
            for what, path in pages:
                response = page.goto(path)
                assert response.ok, f"{role} {path}: HTTP {response.status}"
                # what opens on a click must fit too
                page.evaluate("() => document.querySelectorAll('details').forEach(d => { d.open = true; })")
                problems += [f"{role} {what} ({path}): {p}" for p in page.evaluate(MISFITS)]
                heights[f"{role} {what}"] = page.evaluate("() => document.documentElement.scrollHeight")
                checked += 1
        finally:
            context.close()

    print("\npage heights at 390 px:", heights)
    assert not problems, "\n".join(problems[:80])
    assert checked >= 30
    # Twelve people overdue: a compact row each, not a screen each.
    assert heights["hr Terlambat"] < 12 * 200 + 1000, heights["hr Terlambat"]
