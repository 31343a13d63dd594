"""Helpers for the home-page browser tests: one signed-in browser context per person, the way
back to the home page, and following a task's link from it."""

from playwright.sync_api import expect

from tests.conftest import PASSWORD


def signed_in(browser, live_server, nip: str, dialogs: list[str] | None = None):
    """A browser of this person's own (own cookies), signed in, on the home page. The
    confirmations of irreversible steps are accepted; their texts go to `dialogs` when given."""
    context = browser.new_context(base_url=live_server, locale="id-ID")
    context.set_default_timeout(10_000)
    page = context.new_page()

    def accept(dialog) -> None:
        if dialogs is not None:
            dialogs.append(dialog.message)
        dialog.accept()

    page.on("dialog", accept)
    page.goto("/login")
    page.get_by_label("NIP atau email").fill(nip)
    page.get_by_label("Kata sandi").fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Masuk").click()
    expect(page.get_by_role("heading", name="Perlu tindakan Anda")).to_be_visible()
    return page


def home(page):
    """Back to the home page; its task list."""
    page.goto("/")
    return page.locator("#tasks")


def follow(page, tasks, action: str) -> None:
    """Open the task named `action` from the home page."""
    with page.expect_navigation():
        tasks.get_by_role("link", name=action).click()


def submit(page, button) -> None:
    """Click a submit button and wait for the page it leads to."""
    with page.expect_navigation():
        button.click()
