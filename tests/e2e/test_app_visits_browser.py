"""The app's visits upload in a real browser: upload the bundled example, see the forecast or the bank message."""

import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("ENDPLATE_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (apt-get install chromium)")
EXAMPLE = Path(__file__).resolve().parents[2] / "src" / "endplate" / "data" / "examples" / "patient_visits.csv"


def test_uploaded_visits_table_is_forecast_on_the_page(app_server, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]
        )
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1600})
            page.set_default_timeout(60_000)
            page.goto(f"http://127.0.0.1:{app_server[0]}/")
            page.get_by_role("button", name="Forecast this patient").wait_for()
            page.locator(".visits-upload input[type=file]").set_input_files(str(EXAMPLE))
            page.get_by_role("button", name="Forecast this patient").click()
            # with a cached bank the forecast; without one (a fresh machine) the command that builds it
            outcome = page.get_by_text("Forecast ready.", exact=True).or_(page.get_by_text("is not built yet"))
            expect(outcome).to_be_visible(timeout=120_000)
            if page.get_by_text("Forecast ready.", exact=True).is_visible():
                expect(page.get_by_text("months after last visit")).to_be_visible()
            page.screenshot(path=str(tmp_path / "visits.png"), full_page=True)
            if os.environ.get("ENDPLATE_VISITS_SCREENSHOT"):
                shutil.copy(tmp_path / "visits.png", os.environ["ENDPLATE_VISITS_SCREENSHOT"])
        finally:
            browser.close()
