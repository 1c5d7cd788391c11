"""Unexpected errors leave a trace: a log file in the user's data folder and a report to copy.

    folder = data_folder()              # QStandardPaths' AppDataLocation, e.g. ~/.local/share/gradstudio
    path = install_log_file()           # the "gradstudio" logger also writes FOLDER/gradstudio.log
    text = crash_report(details)        # versions, platform and time above the traceback

`gradstudio.ui.app.install_exception_hook` logs every exception that escapes a slot (so it
lands in the log file) and shows `crash_report` in its message box, where it can be selected
and copied into a bug report.
"""
from __future__ import annotations

import logging
import logging.handlers
import platform
import sys
import time
from pathlib import Path

LOG_NAME = "gradstudio.log"
LOG_BYTES = 1_000_000          # one file this large, then it rolls over (two kept)
log = logging.getLogger("gradstudio")


def data_folder() -> Path:
    """The user's data folder for gradstudio (created when missing)."""
    from PySide6.QtCore import QStandardPaths

    location = QStandardPaths.writableLocation(QStandardPaths.AppDataLocation)
    folder = Path(location) if location else Path.home() / ".gradstudio"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def install_log_file(folder: str | Path | None = None) -> Path:
    """Makes the "gradstudio" logger write INFO and above to FOLDER/gradstudio.log too."""
    path = Path(folder) / LOG_NAME if folder is not None else data_folder() / LOG_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    for handler in log.handlers:
        if isinstance(handler, logging.FileHandler) and Path(handler.baseFilename) == path:
            return path
    handler = logging.handlers.RotatingFileHandler(path, maxBytes=LOG_BYTES, backupCount=2,
                                                   encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    log.addHandler(handler)
    if log.level == logging.NOTSET or log.level > logging.INFO:
        log.setLevel(logging.INFO)
    return path


def log_file() -> Path | None:
    """The log file the "gradstudio" logger writes, if any."""
    for handler in log.handlers:
        if isinstance(handler, logging.FileHandler):
            return Path(handler.baseFilename)
    return None


def crash_report(details: str) -> str:
    """A report to paste into a bug report: versions, platform, time, then the traceback."""
    from gradstudio import __version__

    try:
        import PySide6
        qt = f"PySide6 {PySide6.__version__}"
    except ImportError:
        qt = "PySide6 missing"
    lines = [f"gradstudio {__version__}, Python {platform.python_version()}, {qt}, "
             f"numpy {_version_of('numpy')}",
             f"{platform.platform()} ({sys.platform})",
             time.strftime("%Y-%m-%d %H:%M:%S %z")]
    where = log_file()
    if where is not None:
        lines.append(f"log: {where}")
    return "\n".join(lines) + "\n\n" + details


def _version_of(module: str) -> str:
    try:
        return __import__(module).__version__
    except ImportError:
        return "missing"
