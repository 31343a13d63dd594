"""The HR cockpit in a browser: the dashboard's charts shrink to a phone (a view box, 100 % wide),
each has a name a screen reader reads and its numbers in a table one click away."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.main_pages import build, signed_in

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
CHARTS = ("phase-chart", "timeline-chart", "curve-chart", "overdue-chart")


def test_the_dashboard_charts_fit_a_phone_and_name_their_numbers(app, make, browser, live_server):
    scenario = build(make)
    context, page = signed_in(browser, live_server, scenario, "hr", viewport=PHONE)
    try:
        page.goto(f"/cycles/{scenario['ids']['current']}")
        for chart in CHARTS:
            figure = page.locator(f"figure#{chart}")
            expect(figure.locator("figcaption")).to_be_visible()
            box = figure.bounding_box()
            assert 0 < box["x"] and box["x"] + box["width"] <= PHONE["width"], (chart, box)

        # The line chart is drawn in its own units and scaled down to the screen, text and all.
        plot = page.locator("#timeline-chart svg[role=img]")
        assert plot.get_attribute("viewBox") == "0 0 600 240" and plot.get_attribute("width") == "100%"
        width = plot.bounding_box()["width"]
        column = page.locator("#timeline-chart").bounding_box()["width"]
        assert width < 600 and abs(width - column) < 2, (width, column)
        assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]

        # Named for a screen reader, with the figures of the picture.
        expect(
            page.get_by_role("img", name=re.compile(r"Penilaian atasan: 2 dari 16 sudah dinilai atasan"))
        ).to_have_count(1)
        expect(page.get_by_role("img", name=re.compile(r"Puskesmas Rakumpit.*tidak sesuai"))).to_have_count(1)
        expect(page.get_by_role("img", name=re.compile(r"Jumlah pegawai yang menyelesaikan"))).to_have_count(
            1
        )

        # The numbers behind the overdue bars, one click away, add up to the overdue badge.
        overdue = page.locator("#overdue-chart")
        overdue.get_by_text("Lihat angka dalam tabel").click()
        total = overdue.locator("#overdue-chart-total")
        expect(total).to_be_visible()
        assert total.inner_text() == page.locator("#overdue-count").inner_text() == "12"
        cells = overdue.locator("tbody td.text-end").all_inner_texts()
        assert sum(int(n) for n in cells) == 12
    finally:
        context.close()
