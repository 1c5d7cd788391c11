"""Autosave and crash recovery: unsaved work is written to the data folder every minute, and
the next start offers to restore it when the session that wrote it did not end cleanly.

    autosave = Autosave(window)          # FOLDER = data_folder()/autosave, every 60 s
    offer_recovery(window)               # at start: Restore / Discard for a crashed session
    ...
    autosave.end()                       # the session ended: nothing is left to recover

A session holds FOLDER/SESSION.lock (a QLockFile: the process id and host inside, so a lock
whose process is gone counts as stale) for as long as it runs, and writes its document, when
it has unsaved changes, to FOLDER/SESSION.json (atomically, through fileio.save) with
FOLDER/SESSION.info beside it (the file it came from). Saving, or undoing back to the saved
state, removes the autosave; a clean end removes the lock as well. An autosave whose lock no
live process holds is work a crash (or a kill) left behind: `offer_recovery` asks, and a
restored document opens unsaved, under the name of the file it came from.
"""
from __future__ import annotations

import json
import logging
import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QLockFile, QObject, Qt, QTimer
from PySide6.QtWidgets import QMessageBox

from gradstudio.graph import fileio
from gradstudio.graph.document import GraphError
from gradstudio.ui.crash_report import data_folder

INTERVAL_MS = 60_000
log = logging.getLogger("gradstudio")


def autosave_folder(folder: str | Path | None = None) -> Path:
    path = Path(folder) if folder is not None else data_folder() / "autosave"
    path.mkdir(parents=True, exist_ok=True)
    return path


class Autosave(QObject):
    """Writes `window.doc` to the autosave folder while it has unsaved changes."""

    def __init__(self, window: Any, folder: str | Path | None = None,
                 interval_ms: int = INTERVAL_MS) -> None:
        super().__init__(window)
        self.window = window
        self.folder = autosave_folder(folder)
        self.session = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.graph_path = self.folder / f"{self.session}.json"
        self.info_path = self.folder / f"{self.session}.info"
        self.lock = QLockFile(str(self.folder / f"{self.session}.lock"))
        self.lock.setStaleLockTime(0)
        if not self.lock.tryLock(0):
            log.warning("autosave: cannot lock %s", self.lock.fileName())
        self._written_revision: int | None = None
        self.timer = QTimer(self)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self.save_now)
        self.timer.start()
        window.undo_stack.cleanChanged.connect(self._clean_changed)

    def save_now(self) -> bool:
        """Writes the document when it has changes not yet saved or autosaved; True if written."""
        if self.window.undo_stack.isClean():
            self.remove()
            return False
        revision = self.window.doc.revision
        if revision == self._written_revision and self.graph_path.exists():
            return False
        try:
            fileio.save(self.window.doc, self.graph_path)
            origin = str(self.window.path) if self.window.path else None
            self.info_path.write_text(json.dumps({"path": origin, "time": time.time()}),
                                      encoding="utf-8")
        except (OSError, GraphError) as exc:
            self.window.show_message(f"autosave failed: {exc}", "warning")
            return False
        self._written_revision = revision
        return True

    def remove(self) -> None:
        """Forgets the autosaved document (it was saved, or undone back to the saved state)."""
        for path in (self.graph_path, self.info_path, Path(f"{self.graph_path}.bak")):
            path.unlink(missing_ok=True)
        self._written_revision = None

    def end(self) -> None:
        """The session ends. When the window was closed (the person answered the question
        about unsaved changes) nothing is kept; when the program stops with the window still
        open (an interrupt), unsaved work stays for the next start to offer."""
        self.timer.stop()
        if self.window.isVisible() and not self.window.undo_stack.isClean():
            self._written_revision = None
            self.save_now()
        else:
            self.remove()
        self.lock.unlock()

    def _clean_changed(self, clean: bool) -> None:
        if clean:
            self.remove()


@dataclass
class Recoverable:
    """Unsaved work of a session that is no longer running."""
    graph_path: Path
    origin: str | None              # the file the work came from, None when untitled
    saved_at: float
    lock: QLockFile                 # held by this process until the offer is answered

    def discard(self) -> None:
        for path in (self.graph_path, self.graph_path.with_suffix(".info"),
                     Path(f"{self.graph_path}.bak")):
            path.unlink(missing_ok=True)
        self.lock.unlock()


def recoverable(folder: str | Path | None = None) -> list[Recoverable]:
    """Autosaves whose session no live process holds, newest first; stale locks of sessions
    that left no work behind are removed."""
    folder = autosave_folder(folder)
    found = []
    sessions = {p.stem for p in folder.glob("*.lock")} | {p.stem for p in folder.glob("*.json")}
    for session in sorted(sessions):
        lock = QLockFile(str(folder / f"{session}.lock"))
        lock.setStaleLockTime(0)            # a live session is never stale, however old
        if not lock.tryLock(0):
            continue                        # a running gradstudio holds it
        graph_path = folder / f"{session}.json"
        if not graph_path.exists():
            lock.unlock()                   # ended without leaving unsaved work
            continue
        origin = None
        try:
            info = json.loads(graph_path.with_suffix(".info").read_text(encoding="utf-8"))
            origin = info.get("path") if isinstance(info.get("path"), str) else None
        except (OSError, ValueError, AttributeError):
            pass
        found.append(Recoverable(graph_path, origin, graph_path.stat().st_mtime, lock))
    return sorted(found, key=lambda r: r.saved_at, reverse=True)


def restore(window: Any, item: Recoverable) -> bool:
    """Opens the recovered document in the window, unsaved, named after its original file."""
    try:
        loaded = fileio.load(item.graph_path)
    except GraphError as exc:
        window.report_error("Cannot restore", f"The recovered graph cannot be read: {exc}")
        return False
    window.runner.reset()
    window.doc.replace_with(loaded)
    window.undo_stack.clear()
    window.undo_stack.resetClean()          # unsaved until the person saves it
    window.path = Path(item.origin) if item.origin else None
    window.untitled_name = "recovered"
    if window.path is not None:
        window.runner.set_base_dir(str(window.path.parent))
    window.runner.run(backward=window.runner.has_root())
    window._update_title()                  # the name with the unsaved star
    window.view.frame_all()
    window.show_message("restored the unsaved work of the last session; save it to keep it")
    item.discard()
    return True


def offer_recovery(window: Any, folder: str | Path | None = None) -> QMessageBox | None:
    """Asks (without blocking) whether to restore the newest unsaved work a crashed session
    left; Discard deletes it, closing the box keeps it for the next start. Older leftovers
    are offered at later starts, one at a time."""
    items = recoverable(folder)
    for older in items[1:]:
        older.lock.unlock()
    if not items:
        return None
    item = items[0]
    name = Path(item.origin).name if item.origin else "an untitled graph"
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(item.saved_at))
    box = QMessageBox(QMessageBox.Question, "Recover unsaved work",
                      f"gradstudio did not end cleanly last time. Unsaved changes to {name} "
                      f"were autosaved at {when}. Restore them?",
                      QMessageBox.NoButton, window)
    box.restore_button = box.addButton("Restore", QMessageBox.AcceptRole)
    box.discard_button = box.addButton("Discard", QMessageBox.DestructiveRole)
    box.setDefaultButton(box.restore_button)
    box.setAttribute(Qt.WA_DeleteOnClose)

    def answered(_result: int = 0) -> None:
        clicked = box.clickedButton()
        if clicked is box.restore_button:
            if window.confirm_discard():
                restore(window, item)
            else:
                item.lock.unlock()
        elif clicked is box.discard_button:
            item.discard()
            window.show_message("discarded the unsaved work of the last session")
        else:
            item.lock.unlock()              # not answered: offered again next time

    box.finished.connect(answered)
    box.open()
    window.recovery_box = box
    return box
