"""`gradstudio shot FILE -o PNG [--size WxH]`: the main window with FILE loaded and run
(forward and backward), framed, rendered headless to a PNG (for docs and tests)."""
from __future__ import annotations

import argparse
import os
import re
import tempfile
from pathlib import Path

from gradstudio.cli import UsageError


def parse_size(text: str) -> tuple[int, int]:
    match = re.fullmatch(r"\s*(\d+)\s*[xX×]\s*(\d+)\s*", text or "")
    if not match:
        raise UsageError(f"--size must look like 1400x900, not '{text}'")
    width, height = int(match.group(1)), int(match.group(2))
    if not (200 <= width <= 8000 and 150 <= height <= 8000):
        raise UsageError(f"--size {width}x{height} is out of range (200x150 to 8000x8000)")
    return width, height


def main(args: argparse.Namespace) -> int:
    width, height = parse_size(args.size)
    source = Path(args.file)
    output = Path(args.output)
    if output.suffix.lower() != ".png":
        raise UsageError(f"the output must be a .png file, not '{output.name}'")
    if not output.parent.exists():
        raise UsageError(f"no such folder: {output.parent}")
    from gradstudio.graph import fileio
    from gradstudio.graph.document import GraphError

    try:
        fileio.load(source)
    except OSError as exc:
        raise UsageError(f"cannot open {source}: {exc.strerror or exc}") from None
    except GraphError as exc:
        raise UsageError(f"cannot open {source}: {exc}") from None

    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QSettings

    from gradstudio.ui.app import create_application

    app = create_application()
    with tempfile.TemporaryDirectory() as folder:
        # A private settings file: a screenshot neither reads nor changes the person's own.
        settings = QSettings(str(Path(folder) / "settings.ini"), QSettings.IniFormat)
        window = loaded_window(source, width, height, settings)
        for _ in range(3):          # let docks and the inspector finish their layouts
            app.processEvents()
        window.view.frame_all()
        app.processEvents()
        image = window.grab()
        window.undo_stack.setClean()
        window.close()
        if not image.save(str(output), "PNG"):
            raise UsageError(f"cannot write {output}")
        settings.sync()
    return 0


def loaded_window(source: Path, width: int, height: int, settings):
    """The main window at width x height with `source` opened, which runs it forward and,
    when it has a backward root, backward (once: gradients are not accumulated twice)."""
    from gradstudio.ui.main_window import MainWindow

    window = MainWindow(settings=settings)
    window.resize(width, height)
    window.show()
    if not window.open_file(source, ask=False):
        raise UsageError(f"cannot open {source}")
    return window
