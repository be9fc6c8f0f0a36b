"""The app in a real browser: Debian's chromium driven by Playwright (no browser download).

One page session: load, change the muscle, simulate the course, run the EMG lab, run it again
with another seed and see the plot change, and save a screenshot that must not be blank. The
screenshot goes to the test's temporary folder; to regenerate the README figure run
``ENDPLATE_APP_SCREENSHOT=docs/figures/app.png python -m pytest tests/e2e/test_app_browser.py``.
"""

import os
import shutil

import numpy as np
import pytest

CHROMIUM = os.environ.get("ENDPLATE_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
SCREENSHOT_COPY = os.environ.get("ENDPLATE_APP_SCREENSHOT")  # also write the screenshot here (the README figure)
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (apt-get install chromium)")
WORK_TIMEOUT_MS = 240_000  # first simulation compiles the kernels on a fresh machine


@pytest.fixture(scope="module")
def server(app_server):
    return f"http://127.0.0.1:{app_server[0]}/"


def _lab_image(page) -> str:
    return page.locator("img").nth(2).get_attribute("src")


def test_app_in_chromium_simulates_records_and_redraws(server, tmp_path):
    from PIL import Image
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]
        )
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(60_000)
            page.goto(server)
            course = page.get_by_role("button", name="Simulate disease course")
            course.wait_for()
            expect(page.get_by_text("Interventions")).to_be_visible()

            page.locator("select").filter(has=page.locator("option", has_text="soleus")).select_option("EDL")
            course.click()
            expect(page.get_by_text("Disease course ready")).to_contain_text("EDL", timeout=WORK_TIMEOUT_MS)
            expect(page.locator("img")).to_have_count(2)
            expect(page.get_by_text("innervated", exact=False).first).to_be_visible()

            page.get_by_role("button", name="Run EMG lab").click()
            expect(page.get_by_text("EMG lab ready")).to_contain_text("seed 1", timeout=WORK_TIMEOUT_MS)
            expect(page.locator("img")).to_have_count(3)
            first = _lab_image(page)

            seed = page.get_by_label("Seed")
            seed.fill("2")
            seed.press("Enter")
            page.get_by_role("button", name="Run EMG lab").click()
            expect(page.get_by_text("EMG lab ready")).to_contain_text("seed 2", timeout=WORK_TIMEOUT_MS)
            assert _lab_image(page) != first, "the EMG lab plot did not change with the seed"

            screenshot = tmp_path / "app.png"
            page.screenshot(path=str(screenshot), full_page=True)
        finally:
            browser.close()
    pixels = np.asarray(Image.open(screenshot).convert("L"), float)
    assert pixels.shape[0] > 1000 and pixels.std() > 20, "the screenshot is blank"
    assert (pixels < 200).mean() > 0.05, "the screenshot has almost no drawn content"
    if SCREENSHOT_COPY:
        shutil.copyfile(screenshot, SCREENSHOT_COPY)
