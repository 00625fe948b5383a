"""Take the README screenshots (docs/case-view.png, docs/source-view.png) from a running app.

    .venv/bin/assistant --home data ui &                   # the app with the demo reports
    .venv/bin/python -m ui.screenshots --user NAME --child D01 --out docs   # asks for NAME's password

Drives Debian's chromium with Playwright, as the browser test does: opens the
child from the case list, makes (or reuses) its summary, then opens one
citation (``--cite N``). Playwright is a development dependency, so it is imported here only.
"""

from __future__ import annotations

import argparse
import getpass
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def take(
    url: str, child_id: str, out: Path, user: str, password: str, cite: int = 1, timeout_s: float = 1800
) -> list[Path]:
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    case_path, source_path = out / "case-view.png", out / "source-view.png"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_context(locale="sv-SE", viewport={"width": 1440, "height": 1100}).new_page()
        page.goto(url)
        page.get_by_label("Användarnamn").fill(user)
        page.get_by_label("Lösenord").fill(password)
        page.get_by_role("button", name="Logga in").click()
        page.get_by_text("Beslutsstöd, inte beslut.").first.wait_for()
        page.locator("#case-list").get_by_role("button", name=f"Öppna ärende {child_id}").click()
        summary = page.locator("#summary")
        summary.locator(".case-view").wait_for()
        if not summary.locator(".case-head").count() or summary.locator(".unseen").count():
            page.locator("#summarize").click()
            summary.locator(".case-head").wait_for(timeout=timeout_s * 1000)
        page.locator("#cases").get_by_text("Ärenden").first.click()  # fold the list: the case fills the shot
        page.wait_for_timeout(500)
        page.screenshot(path=str(case_path), full_page=True)
        summary.get_by_role("button", name=f"Visa källan till uppgift {cite}").click()
        page.locator("#source-view mark.cited").wait_for()
        page.wait_for_timeout(800)  # the marked passage scrolls into view
        page.locator("#source-view").scroll_into_view_if_needed()
        page.screenshot(path=str(source_path), full_page=False)
        browser.close()
    return [case_path, source_path]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="http://127.0.0.1:7860/")
    parser.add_argument("--user", required=True, help="a user who may see the child (password asked, hidden)")
    parser.add_argument("--child", default="D01")
    parser.add_argument("--out", type=Path, default=Path("docs"))
    parser.add_argument("--cite", type=int, default=1, help="which citation to open in the source view")
    args = parser.parse_args()
    password = getpass.getpass(f"Lösenord för {args.user}: ")
    for path in take(args.url, args.child, args.out, args.user, password, args.cite):
        print(path)


if __name__ == "__main__":
    main()
