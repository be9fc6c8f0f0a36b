"""Run a tutorial page's Python blocks in order, in one namespace, inside a given folder.

Used by the docs build (``docs/hooks.py``, which puts the figures beside the built pages) and by
``tests/e2e/test_tutorials.py`` (which checks that they are non-empty PNGs).
"""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path

TUTORIALS = Path(__file__).resolve().parent
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def pages() -> list[Path]:
    """Every tutorial page, by name."""
    return sorted(TUTORIALS.glob("*.md"))


def figures(page: Path) -> list[str]:
    """The PNG files a page shows (``![...](name.png)``), which its code must draw."""
    return re.findall(r"!\[[^\]]*\]\(([^)/]+\.png)\)", page.read_text())


def run_page(page: Path, folder: Path) -> list[Path]:
    """Execute ``page``'s Python blocks with ``folder`` as the working directory; returns its figures."""
    page = page.resolve()  # read after the chdir below
    os.environ.setdefault("MPLBACKEND", "Agg")
    namespace: dict = {"__name__": f"tutorial_{page.stem.replace('-', '_')}"}
    with contextlib.chdir(folder):
        for i, block in enumerate(BLOCK.findall(page.read_text()), 1):
            exec(compile(block, f"{page.name} (block {i})", "exec"), namespace)  # noqa: S102 - our own pages
    import matplotlib.pyplot as plt

    plt.close("all")
    return [folder / name for name in figures(page)]
