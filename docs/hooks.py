"""MkDocs hook: run every tutorial while the site builds and publish the figures it draws.

Each tutorial runs in its own temporary folder (nothing is written into the source tree); its
PNGs become files of the site beside the page, so the page's image links resolve.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

from mkdocs.structure.files import File

sys.path.insert(0, str(Path(__file__).resolve().parent / "tutorials"))
from run_tutorials import pages, run_page  # noqa: E402

_folders: list[str] = []


def on_files(files, config):
    for page in pages():
        folder = tempfile.mkdtemp(prefix=f"endplate-docs-{page.stem}-")
        _folders.append(folder)
        for png in run_page(page, Path(folder)):
            if not png.is_file() or png.stat().st_size == 0:
                raise RuntimeError(f"tutorial {page.name} did not draw {png.name}")
            files.append(File.generated(config, f"tutorials/{png.name}", abs_src_path=str(png)))
    return files


def on_post_build(config):
    for folder in _folders:
        shutil.rmtree(folder, ignore_errors=True)
