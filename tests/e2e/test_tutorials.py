"""Every tutorial page runs as written and draws the figures it shows (non-empty PNGs)."""

import importlib.util
from pathlib import Path

import pytest

RUNNER = Path(__file__).resolve().parents[2] / "docs" / "tutorials" / "run_tutorials.py"
_spec = importlib.util.spec_from_file_location("run_tutorials", RUNNER)
assert _spec is not None and _spec.loader is not None
tutorials = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(tutorials)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_there_is_one_tutorial_per_user():
    assert [p.stem for p in tutorials.pages()] == ["clinical", "mouse-als", "synapse", "trial-designer"]


@pytest.mark.parametrize("page", tutorials.pages(), ids=lambda p: p.stem)
def test_tutorial_runs_and_draws_its_figures(page, tmp_path):
    from PIL import Image

    drawn = tutorials.run_page(page, tmp_path)
    assert drawn, f"{page.name} shows no figure"
    for png in drawn:
        assert png.is_file() and png.read_bytes()[:8] == PNG_SIGNATURE, png.name
        with Image.open(png) as image:
            pixels = image.convert("L").getextrema()
        assert image.width > 300 and pixels[0] < pixels[1], f"{png.name} is blank"
