"""In Chromium, under the Content-Security-Policy: pages work with no violation, confirmations
still ask, and no other site can show the app inside a frame."""

import pytest
from playwright.sync_api import expect

from app import clock
from app.workflow import cycles
from tests.browser.test_walkthrough import sign_in
from tests.conftest import PASSWORD
from tests.workflow_helpers import START, agency, cycle_data

pytestmark = pytest.mark.browser


def watch_console(page) -> list[str]:
    """Collect every console error and page error (CSP violations are reported as errors); the
    browser's own request for /favicon.ico (the app has none) aside."""
    problems: list[str] = []

    def seen(message) -> None:
        if message.type == "error" and not message.location.get("url", "").endswith("/favicon.ico"):
            problems.append(message.text)

    page.on("console", seen)
    page.on("pageerror", lambda error: problems.append(str(error)))
    return problems


def test_hr_pages_run_under_the_policy_and_confirmations_still_ask(page, make):
    org = agency(make)
    clock.travel_to(START)
    cycle = cycles.save_cycle(None, cycle_data([org["kecamatan"]]), org["hr"].account)
    problems = watch_console(page)
    dialogs: list[str] = []
    answers = iter([False, True])  # first "Batal", then "OK"
    page.on("dialog", lambda d: (dialogs.append(d.message), d.accept() if next(answers) else d.dismiss()))

    sign_in(page, org["hr"].email, PASSWORD)
    for path in ("/", "/cycles/", "/people/", "/org/", "/audit/", "/results/", "/workflow/cycle"):
        page.goto(path)
        expect(page.locator("main")).to_be_visible()
    # Bootstrap's script runs (no inline script needed): the account menu opens
    page.get_by_role("button", name=org["hr"].name).or_(page.get_by_role("link", name=org["hr"].name)).click()
    expect(page.get_by_role("button", name="Keluar")).to_be_visible()

    page.goto(f"/cycles/{cycle.id}")
    open_button = page.get_by_role("button", name="Buka periode")
    open_button.click()  # answered "Batal": nothing is sent
    assert len(dialogs) == 1 and dialogs[0].startswith("Buka periode? 4 pegawai akan menerima email")
    expect(page.locator("#cycle-state")).to_have_text("Draf")
    with page.expect_navigation():
        open_button.click()  # answered "OK"
    assert len(dialogs) == 2
    expect(page.locator("#cycle-state")).to_have_text("Penyusunan SKP")

    page.goto("/admin/outbox")
    with page.expect_navigation():
        page.locator("a[href^='/admin/outbox/']").first.click()
    expect(page.locator("pre.pre-wrap")).to_have_css("white-space", "pre-wrap")  # styles from app.css
    assert problems == []

    # the watch does see a violation: an inline script is refused and reported
    page.evaluate(
        "() => { const s = document.createElement('script'); s.text = 'window.ran = 1'; "
        "document.body.append(s); }"
    )
    assert page.evaluate("() => window.ran") is None
    assert any("Content Security Policy" in problem for problem in problems)


@pytest.fixture
def other_site():
    """Another web site on this machine (a real loopback server, as Chromium's local network checks
    want), serving `pages` by path; its base URL names it localhost, another site than 127.0.0.1."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    pages: dict[str, str] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server API
            body = pages.get(self.path, "").encode()
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.pages = pages
    server.base = f"http://localhost:{server.server_port}"
    yield server
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def test_another_site_cannot_frame_the_approval_forms(page, make, live_server, other_site):
    org = agency(make)
    sign_in(page, org["head"].email, PASSWORD)
    # the control: a page of the other site with a form, framed by it, shows
    other_site.pages["/kontrol"] = "<form><button>OK</button></form>"
    other_site.pages["/hadiah"] = (
        "<h1>Menang hadiah!</h1>"
        f'<iframe id="app" src="{live_server}/people/team"></iframe>'
        f'<iframe id="control" src="{other_site.base}/kontrol"></iframe>'
    )
    with page.expect_response(lambda r: r.url.startswith(live_server) and r.status == 200) as answered:
        page.goto(f"{other_site.base}/hadiah")
    assert "frame-ancestors 'none'" in answered.value.headers["content-security-policy"]
    expect(page.get_by_role("heading", name="Menang hadiah!")).to_be_visible()
    expect(page.frame_locator("#control").get_by_role("button", name="OK")).to_be_visible()
    # the app's answer arrived and Chromium put its error page in the frame instead
    for _ in range(50):
        if any(frame.url.startswith("chrome-error://") for frame in page.frames):
            break
        page.wait_for_timeout(100)
    assert any(frame.url.startswith("chrome-error://") for frame in page.frames)
    expect(page.frame_locator("#app").locator("form")).to_have_count(0)
    assert not [frame.url for frame in page.frames if frame.url.startswith(live_server)]
