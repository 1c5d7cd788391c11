"""The main window: canvas in the middle, node library, inspector and messages docks around
it, menus and toolbar; files (open, save, recent, examples, drag-and-drop), themes, runs."""
from __future__ import annotations

import html
import json
import os
import re
from pathlib import Path

from PySide6.QtCore import QPointF, QRectF, QSettings, Qt, QTimer
from PySide6.QtGui import QAction, QActionGroup, QGuiApplication, QKeySequence, QUndoStack
from PySide6.QtWidgets import (QComboBox, QDockWidget, QFileDialog, QLabel, QMainWindow, QMenu,
                               QMessageBox)

from gradstudio import EXAMPLES, __version__
from gradstudio.graph import fileio
from gradstudio.graph.document import Document, GraphError, Node
from gradstudio.ui.canvas_items import NodeItem
from gradstudio.ui.canvas_scene import GraphScene
from gradstudio.ui.canvas_view import GraphView
from gradstudio.ui.document_editor import CLIPBOARD_FORMAT, DocumentEditor
from gradstudio.ui.expression_box import ExpressionBox
from gradstudio.ui.inspector import Inspector
from gradstudio.ui.layout import layered_positions
from gradstudio.ui.library_dock import NodeLibrary
from gradstudio.ui.message_log import MessageLog
from gradstudio.ui.debugger_panel import install_debugger
from gradstudio.ui.dashboard_dock import install_dashboard
from gradstudio.ui.anomaly_mode import install_anomaly_mode
from gradstudio.ui.script_controller import install_scripts
from gradstudio.graph.group_layout import grouped_positions
from gradstudio.ui.health_view import install_health
from gradstudio.ui.nan_origin_view import install_nan_origin
from gradstudio.ui.runs_view import install_runs
from gradstudio.ui.step_view import install_step_view
from gradstudio.ui.why_panel import install_why
from gradstudio.ui.run_controller import RunController
from gradstudio.ui.undo_commands import failures as undo_failures
from gradstudio.ui.theme import THEMES, apply_application_theme, canvas_style

MAX_RECENT = 10
BOTTOM_DOCK_HEIGHT = 130    # Messages, Expressions, Debugger: the canvas keeps the room
DEFAULT_EXAMPLE = EXAMPLES / "basic_grad.json"

# Mouse gestures and keys that are no menu action; the menus' keys are listed from the
# actions themselves (`shortcut_rows`), so the help cannot drift from what the keys do.
GESTURES_HELP = """
<tr><td><b>Tab</b>, double-click</td><td>search and add a node at the cursor</td></tr>
<tr><td>drag from a port</td><td>connect (onto an input that has one: replace it)</td></tr>
<tr><td>drop an edge on empty canvas</td><td>search, and add a node already connected</td></tr>
<tr><td>click a field</td><td>edit a parameter inline (Enter to apply, Esc to cancel)</td></tr>
<tr><td>double-click a title</td><td>rename the node</td></tr>
<tr><td><b>Ctrl+G</b> / <b>Ctrl+Shift+G</b></td><td>group the selection / ungroup</td></tr>
<tr><td>double-click a group's header or box</td><td>collapse / expand the group</td></tr>
<tr><td>wheel, <b>Ctrl++</b> / <b>Ctrl+-</b></td><td>zoom</td></tr>
<tr><td>middle drag, Space+drag</td><td>pan</td></tr>
<tr><td>right-click</td><td>node: requires_grad, retain_grad, no_grad, gradient hooks,
backward root; edge: detach</td></tr>"""


class MainWindow(QMainWindow):
    def __init__(self, settings: QSettings | None = None) -> None:
        super().__init__()
        self.settings = settings or QSettings("gradstudio", "gradstudio")
        self.path: Path | None = None
        self.untitled_name = "untitled"     # the title while the graph has no file
        self.theme = str(self.settings.value("theme", "light"))
        if self.theme not in THEMES:
            self.theme = "light"
        apply_application_theme(self.theme)

        self.doc = Document()
        self.undo_stack = QUndoStack(self)
        self.editor = DocumentEditor(self.doc, self.undo_stack, self)
        self.scene = GraphScene(self.editor, canvas_style(self.theme), self)
        self.scene.snap_to_grid = self.settings.value("snap_to_grid", False, type=bool)
        self.view = GraphView(self.scene, self)
        self.setCentralWidget(self.view)
        self.runner = RunController(self.doc, self)

        self.messages = MessageLog()
        self.library = NodeLibrary(self.doc.catalog)
        self.inspector = Inspector(self.editor)
        self.library_dock = self._dock("Nodes", self.library, Qt.LeftDockWidgetArea)
        self.inspector_dock = self._dock("Inspector", self.inspector, Qt.RightDockWidgetArea)
        self.messages_dock = self._dock("Messages", self.messages, Qt.BottomDockWidgetArea)
        self.expression_box = ExpressionBox(self.editor)
        self.expressions_dock = self._dock("Expressions", self.expression_box,
                                           Qt.BottomDockWidgetArea)
        self.tabifyDockWidget(self.messages_dock, self.expressions_dock)
        self.messages_dock.raise_()

        self._build_actions()
        self._build_menus()
        self._build_toolbar()
        install_debugger(self)          # Debugger dock and Debug menu (F10, F8, F9)
        self.debugger_panel.state_shown.connect(self._selection_changed)
        install_dashboard(self)         # Training dock and menu (live dashboard)
        install_anomaly_mode(self)      # Run > Detect anomalies (NaN/Inf)
        install_why(self)               # "Why no gradient?" dock (canvas menu, Inspector)
        install_scripts(self)           # opening a PyTorch script; the Script menu
        install_nan_origin(self)        # the Inspector says where a NaN/Inf came from
        install_health(self)            # "Gradient health" dock beside Training, canvas tags
        install_step_view(self)         # a click on a training plot opens that step
        install_runs(self)              # Runs dock (kept runs overlaid), Run > gradient changes
        for dock in (self.debugger_dock, self.training_dock, self.why_dock,  # every dock, in View
                     self.health_dock, self.step_dock, self.runs_dock):
            self.view_menu.addAction(dock.toggleViewAction())
        self.status_label = QLabel()
        self.statusBar().addPermanentWidget(self.status_label)

        self.editor.refused.connect(self.show_warning)
        undo_failures.failed.connect(self.show_error)
        self.scene.message.connect(self.show_warning)
        self.scene.hint.connect(self.show_hint)
        self.scene.selectionChanged.connect(self._selection_changed)
        self.library.add_requested.connect(self.add_node_at_center)
        self.expression_box.size_of = self._new_node_size
        self.expression_box.occupied = self._occupied
        self.expression_box.added.connect(self._select_and_show)
        self.expression_box.message.connect(self.show_message)
        self.undo_stack.indexChanged.connect(self._update_modified)
        self.runner.ran.connect(self._show_results)
        self.runner.message.connect(self.show_message)
        self.runner.device_changed.connect(self.set_device)   # fell back to the cpu
        self.setAcceptDrops(True)
        self._update_title()
        self._update_recent_menu()

    def _dock(self, title: str, widget, area) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(title.lower())
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    # ---------------------------------------------------------------- actions
    def _action(self, text: str, slot, shortcut=None, tip: str = "", checkable=False) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            keys = shortcut if isinstance(shortcut, list) else [shortcut]
            action.setShortcuts([QKeySequence(k) for k in keys])
        if tip:
            action.setStatusTip(tip)
            action.setToolTip(tip)
        action.setCheckable(checkable)
        action.triggered.connect(slot)
        self.addAction(action)
        return action

    def _build_actions(self) -> None:
        A = self._action
        self.act_new = A("&New", self.new_document, QKeySequence.New)
        self.act_open = A("&Open…", self.open_dialog, QKeySequence.Open, "Open a graph file")
        self.act_save = A("&Save", self.save, QKeySequence.Save, "Save the graph")
        self.act_save_as = A("Save &As…", self.save_as, QKeySequence.SaveAs)
        self.act_quit = A("&Quit", self.close, QKeySequence.Quit)

        self.act_undo = self.undo_stack.createUndoAction(self, "&Undo")
        self.act_undo.setShortcuts([QKeySequence.Undo])
        self.act_redo = self.undo_stack.createRedoAction(self, "&Redo")
        self.act_redo.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        self.act_undo.setStatusTip("Undo the last edit")     # the text names the edit
        self.act_redo.setStatusTip("Redo the edit undone")
        self.addAction(self.act_undo)
        self.addAction(self.act_redo)
        # The toolbar's Undo/Redo keep a fixed text (the edit is named in their tooltips),
        # so the buttons after them never move as the edit's name changes length.
        self.act_undo_button = self._stack_button("Undo", self.undo_stack.undo,
                                                  self.undo_stack.canUndoChanged,
                                                  self.undo_stack.undoTextChanged)
        self.act_redo_button = self._stack_button("Redo", self.undo_stack.redo,
                                                  self.undo_stack.canRedoChanged,
                                                  self.undo_stack.redoTextChanged)
        self.act_cut = A("Cu&t", self.cut, QKeySequence.Cut)
        self.act_copy = A("&Copy", self.copy, QKeySequence.Copy)
        self.act_paste = A("&Paste", self.paste, QKeySequence.Paste)
        self.act_duplicate = A("&Duplicate", self.duplicate, "Ctrl+D")
        self.act_delete = A("De&lete", self.delete_selection, [QKeySequence.Delete, "Backspace"])
        self.act_select_all = A("Select &All", self.select_all, QKeySequence.SelectAll)
        self.act_group = A("&Group", lambda: self.scene.groups.group_selection(), "Ctrl+G",
                           "Group the selected nodes")
        self.act_ungroup = A("U&ngroup", self.scene.groups.ungroup_selection, "Ctrl+Shift+G",
                             "Remove the selected groups (their nodes stay)")
        self.act_collapse = A("Collapse/E&xpand Group", self.scene.groups.toggle_selection,
                              tip="Draw the selected groups as one box, or open them")

        self.act_frame = A("&Frame All", self.view.frame_all, "F", "Show the whole graph")
        self.act_zoom_in = A("Zoom &In", lambda: self.view.zoom_by(1.25), QKeySequence.ZoomIn)
        self.act_zoom_out = A("Zoom &Out", lambda: self.view.zoom_by(0.8), QKeySequence.ZoomOut)
        self.act_layout = A("&Auto-layout", self.auto_layout, "Ctrl+L",
                            "Arrange nodes in columns by depth")
        self.act_snap = A("&Snap to Grid", self.set_snap, checkable=True)
        self.act_snap.setChecked(self.scene.snap_to_grid)
        self.theme_group = QActionGroup(self)
        self.theme_actions = {}
        for name in THEMES:
            action = A(name.capitalize(), lambda _=False, n=name: self.set_theme(n), checkable=True)
            action.setChecked(name == self.theme)
            self.theme_group.addAction(action)
            self.theme_actions[name] = action

        self.act_forward = A("&Forward", self.run_forward, "F5", "Run the graph forward")
        self.act_backward = A("&Backward", self.run_backward, "F6",
                              "Run forward, then backward from the root")
        self.act_zero_grad = A("&Zero grad", self.zero_grad, tip="Clear every .grad")
        self.act_keep_grads = A(
            "&Keep .grad between runs", self.runner.set_keep_grads, checkable=True,
            tip="Each Backward adds into .grad, as backward() in a loop without zero_grad "
                "(off: every run starts from .grad None, like re-running a script)")
        self.act_keep_grads.setIconText("Keep .grad")
        self.act_auto_run = A("&Auto-run after edits", self.runner.set_auto_run, checkable=True)
        self.act_auto_run.setChecked(True)

        self.act_about = A("&About gradstudio", self.about)
        self.act_shortcuts = A("&Keyboard Shortcuts", self.shortcuts_help, QKeySequence.HelpContents)

    def _stack_button(self, text: str, slot, enabled_signal, text_signal) -> QAction:
        """A toolbar action for undo/redo: fixed text, the edit's name in the tooltip."""
        action = QAction(text, self)
        action.setEnabled(False)
        action.setToolTip(text)
        action.triggered.connect(slot)
        enabled_signal.connect(action.setEnabled)
        text_signal.connect(lambda edit: action.setToolTip(f"{text} {edit}" if edit else text))
        return action

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        file_menu.addAction(self.act_new)
        file_menu.addAction(self.act_open)
        self.recent_menu = file_menu.addMenu("Open &Recent")
        self.examples_menu = file_menu.addMenu("&Examples")
        for path in sorted(EXAMPLES.glob("*.json")) if EXAMPLES.is_dir() else []:
            trains = example_trains(path)
            action = self.examples_menu.addAction(
                path.stem.replace("_", " ") + ("  (trains)" if trains else ""))
            action.setStatusTip("a model to train in the Training dock" if trains
                                else "a graph to run forward and backward")
            action.triggered.connect(lambda _=False, p=path: self.open_file(p))
        self.examples_menu.setEnabled(not self.examples_menu.isEmpty())
        file_menu.addSeparator()
        file_menu.addAction(self.act_save)
        file_menu.addAction(self.act_save_as)
        file_menu.addSeparator()
        file_menu.addAction(self.act_quit)

        edit = bar.addMenu("&Edit")
        for action in (self.act_undo, self.act_redo, None, self.act_cut, self.act_copy,
                       self.act_paste, self.act_duplicate, self.act_delete, None,
                       self.act_select_all, None, self.act_group, self.act_ungroup,
                       self.act_collapse):
            edit.addSeparator() if action is None else edit.addAction(action)

        view = self.view_menu = bar.addMenu("&View")
        view.addAction(self.act_frame)
        view.addAction(self.act_zoom_in)
        view.addAction(self.act_zoom_out)
        view.addAction(self.act_layout)
        view.addAction(self.act_snap)
        theme_menu = view.addMenu("&Theme")
        for action in self.theme_actions.values():
            theme_menu.addAction(action)
        view.addSeparator()
        for dock in (self.library_dock, self.inspector_dock, self.messages_dock,
                     self.expressions_dock):
            view.addAction(dock.toggleViewAction())

        run = self.run_menu = bar.addMenu("&Run")
        run.addAction(self.act_forward)
        run.addAction(self.act_backward)
        run.addAction(self.act_zero_grad)
        run.addAction(self.act_keep_grads)
        run.addAction(self.act_auto_run)
        device_menu = run.addMenu("&Device")
        self.device_group = QActionGroup(self)
        self.device_actions = {}
        for name, (available, reason) in self.runner.devices().items():
            # why a device is off is said where the person looks: in the item's text, and
            # whole in the status bar while the item is under the mouse
            text = name if available else f"{name} (not available: {short_reason(reason)})"
            action = QAction(text, self, checkable=True)
            action.setEnabled(available)
            action.setChecked(name == self.runner.device)
            action.setToolTip(reason or f"run on {name}")
            action.setStatusTip(reason or f"run on {name}")
            action.triggered.connect(lambda _=False, n=name: self.set_device(n))
            self.device_group.addAction(action)
            device_menu.addAction(action)
            self.device_actions[name] = action
        device_menu.setToolTipsVisible(True)
        # a disabled item gets no hover (no status tip): opening the menu says why instead
        unavailable = [r for _, r in self.runner.devices().values() if r]
        if unavailable:
            device_menu.aboutToShow.connect(
                lambda: self.statusBar().showMessage(" · ".join(unavailable), 15000))

        self.help_menu = bar.addMenu("&Help")
        self.help_menu.addAction(self.act_shortcuts)
        self.help_menu.addAction(self.act_about)

    def add_menu(self, menu: QMenu) -> None:
        """Adds a feature's menu (Debug, Training) to the menu bar, before Help as usual."""
        self.menuBar().insertMenu(self.help_menu.menuAction(), menu)

    def _build_toolbar(self) -> None:
        bar = self.addToolBar("Main")
        bar.setObjectName("main toolbar")
        for action in (self.act_new, self.act_open, self.act_save, None, self.act_undo_button,
                       self.act_redo_button, None, self.act_forward, self.act_backward,
                       self.act_zero_grad, self.act_keep_grads, None, self.act_frame, self.act_layout):
            bar.addSeparator() if action is None else bar.addAction(action)
        bar.addSeparator()
        bar.addWidget(QLabel(" device "))
        self.device_combo = QComboBox()
        devices = self.runner.devices()
        for row, (name, (available, reason)) in enumerate(devices.items()):
            self.device_combo.addItem(name if available else f"{name} (not available)")
            item = self.device_combo.model().item(row)
            item.setEnabled(available)
            item.setToolTip(reason or f"run on {name}")
        self.device_combo.setCurrentText(self.runner.device)
        reasons = [r for _, r in devices.values() if r]
        self.device_combo.setToolTip("\n".join(reasons) or "where tensors live")
        self.device_combo.setStatusTip(" · ".join(reasons) or "where tensors live")
        self.device_combo.textActivated.connect(self.set_device)
        bar.addWidget(self.device_combo)

    # ---------------------------------------------------------------- messages
    def show_message(self, text: str, level: str = "info") -> None:
        self.messages.add(text, level)
        self.statusBar().showMessage(text, 8000)

    def show_hint(self, text: str) -> None:
        self.statusBar().showMessage(text, 4000)

    def show_warning(self, text: str) -> None:
        self.show_message(text, "warning")

    def show_error(self, text: str) -> None:
        self.show_message(text, "error")

    def report_error(self, title: str, text: str) -> None:
        """A problem the person must see: logged, and shown in a box that does not block."""
        self.show_message(text, "error")
        box = QMessageBox(QMessageBox.Warning, title, text, QMessageBox.Ok, self)
        box.setTextInteractionFlags(Qt.TextSelectableByMouse)
        box.setAttribute(Qt.WA_DeleteOnClose)
        box.open()
        self.last_error_box = box

    # ---------------------------------------------------------------- files
    def _update_title(self) -> None:
        name = self.path.name if self.path else self.untitled_name
        self.setWindowTitle(f"{name}[*] — gradstudio")
        self.setWindowModified(not self.undo_stack.isClean())

    def _update_modified(self, *_) -> None:
        self.setWindowModified(not self.undo_stack.isClean())

    def ask_save_changes(self) -> QMessageBox.StandardButton:
        if QGuiApplication.platformName() == "offscreen":
            # Headless (tests, `gradstudio shot`): nobody could answer a modal question.
            self.show_message("unsaved changes discarded: no display to ask on", "warning")
            return QMessageBox.Discard
        return QMessageBox.question(
            self, "Unsaved changes", "The graph has unsaved changes. Save them?",
            QMessageBox.Save | QMessageBox.Discard | QMessageBox.Cancel, QMessageBox.Save)

    def confirm_discard(self) -> bool:
        """True when it is fine to replace or close the document (saving first if asked)."""
        if self.undo_stack.isClean():
            return True
        answer = self.ask_save_changes()
        if answer == QMessageBox.Save:
            return self.save()
        return answer == QMessageBox.Discard

    def new_document(self) -> None:
        if not self.confirm_discard():
            return
        self.doc.clear()
        self.undo_stack.clear()
        self.path = None
        self.untitled_name = "untitled"
        self.runner.reset()
        self._update_title()

    def open_dialog(self) -> None:
        # Unsaved changes first: the question belongs before the choice, not after it.
        if not self.confirm_discard():
            return
        start = str(self.path.parent) if self.path else str(EXAMPLES)
        path, _ = QFileDialog.getOpenFileName(self, "Open graph", start,
                                              "gradstudio graphs and PyTorch scripts "
                                              "(*.json *.py);;All files (*)")
        if path:
            self.open_file(path, ask=False)

    def open_file(self, path: str | os.PathLike, ask: bool = True) -> bool:
        """Loads a graph; on a bad file shows why and leaves the current document as it was."""
        path = Path(path)
        if path.suffix.lower() == ".py":     # a PyTorch script: run it, show its graph
            return self.scripts.open_script(path, ask=ask)
        try:
            loaded = fileio.load(path)
        except (GraphError, OSError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            self.report_error("Cannot open file", f"Cannot open {path.name}: {reason}")
            if not path.exists() and str(path.resolve()) in self.recent_files():
                self.settings.setValue("recent_files", [f for f in self.recent_files()
                                                        if f != str(path.resolve())])
                self._update_recent_menu()
            return False
        if ask and not self.confirm_discard():
            return False
        self.runner.reset()
        self.doc.replace_with(loaded)
        self.runner.set_base_dir(str(path.resolve().parent))
        self.runner.run(backward=self.runner.has_root())
        self.undo_stack.clear()
        if is_example(path):
            # A copy of the shipped example: Save asks where, so the example stays as shipped.
            self.path = None
            self.untitled_name = f"{path.stem} (example)"
        else:
            self.path = path.resolve()
            self._remember_recent(self.path)
        self._update_title()
        self.show_message(f"Opened {path.name}")
        if self._nodes_overlap():
            # Shown as saved; arranging them is the person's choice (and one undo step).
            self.show_message(f"some nodes of {path.name} overlap: View > Auto-layout "
                              "(Ctrl+L) arranges them", "info")
        self.view.frame_all()
        QTimer.singleShot(0, self.view.frame_all)
        return True

    def _node_size(self, node_id: str) -> tuple[float, float]:
        return self.scene.node_items[node_id].settled_size()

    def _new_node_size(self, new) -> tuple[float, float]:
        """The size a node about to be added will have on the canvas once it has run."""
        node = Node("new", new.kind, new.label, dict(new.params))
        return NodeItem(node, self.doc.catalog[new.kind], self.scene).settled_size()

    def _occupied(self) -> tuple[float, float, float, float] | None:
        rect = self.scene.items_bounding_rect()
        return None if rect.isNull() else (rect.left(), rect.top(), rect.right(), rect.bottom())

    def _select_and_show(self, node_ids: list[str]) -> None:
        """Selects new nodes and scrolls (zooming out only if it must) until they show."""
        self._select(node_ids)
        rect = QRectF()
        for nid in node_ids:
            if nid in self.scene.node_items:
                rect = rect.united(self.scene.node_items[nid].sceneBoundingRect())
        if not rect.isNull():
            self.view.show_rect(rect)

    def _nodes_overlap(self) -> bool:
        for item in self.scene.node_items.values():
            for other in self.scene.items(item.sceneBoundingRect()):
                if other is not item and isinstance(other, NodeItem):
                    return True
        return False

    def save(self) -> bool:
        if self.path is None:
            return self.save_as()
        return self.save_to(self.path)

    def save_as(self) -> bool:
        start = str(self.path) if self.path else f"{self.untitled_name.split(' ')[0]}.json"
        path, _ = QFileDialog.getSaveFileName(self, "Save graph", start,
                                              "gradstudio graphs (*.json)")
        if not path:
            return False
        if not path.endswith(".json"):
            path += ".json"
        return self.save_to(Path(path))

    def save_to(self, path: Path) -> bool:
        if is_example(path):
            self.report_error("Cannot save", f"Cannot save {Path(path).name}: the examples "
                              f"folder holds the shipped examples; save the graph elsewhere")
            return False
        try:
            fileio.save(self.doc, path)
        except (GraphError, OSError) as exc:
            self.report_error("Cannot save", f"Cannot save {Path(path).name}: {exc}")
            return False
        self.path = Path(path).resolve()
        self.undo_stack.setClean()
        self._remember_recent(self.path)
        self._update_title()
        self.show_message(f"Saved {self.path.name}")
        return True

    def recent_files(self) -> list[str]:
        value = self.settings.value("recent_files", [])
        if isinstance(value, str):
            value = [value]
        return [str(v) for v in (value or [])]

    def _remember_recent(self, path: Path) -> None:
        files = [str(path)] + [f for f in self.recent_files() if f != str(path)]
        self.settings.setValue("recent_files", files[:MAX_RECENT])
        self._update_recent_menu()

    def _update_recent_menu(self) -> None:
        self.recent_menu.clear()
        for entry in self.recent_files():
            action = self.recent_menu.addAction(entry)
            action.triggered.connect(lambda _=False, p=entry: self.open_file(p))
        self.recent_menu.setEnabled(not self.recent_menu.isEmpty())

    def dragEnterEvent(self, event) -> None:
        if any(u.toLocalFile().endswith((".json", ".py")) for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dragMoveEvent(self, event) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        for url in event.mimeData().urls():
            if url.toLocalFile().endswith((".json", ".py")):
                event.acceptProposedAction()
                self.open_file(url.toLocalFile())
                return

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if not getattr(self, "_docks_sized", False):
            # Dock sizes need the window's real size: set them at the first show.
            self._docks_sized = True
            self.resizeDocks([self.library_dock, self.inspector_dock], [220, 340], Qt.Horizontal)
            self.resizeDocks([self.messages_dock], [BOTTOM_DOCK_HEIGHT], Qt.Vertical)
            self.messages_dock.raise_()

    def restore_bottom_docks(self) -> None:
        """The bottom docks back to their first height (after the Training dock, opened
        large for a training graph, closes again)."""
        shown = [d for d in (self.messages_dock, self.expressions_dock, self.debugger_dock)
                 if d.isVisible()]
        if shown:
            self.resizeDocks(shown[:1], [BOTTOM_DOCK_HEIGHT], Qt.Vertical)

    def closeEvent(self, event) -> None:
        if self.confirm_discard():
            self.scripts.shutdown()
            self.runner.restore_anomaly_mode()
            self.settings.setValue("geometry", self.saveGeometry())
            self.settings.setValue("window_state", self.saveState())
            event.accept()
        else:
            event.ignore()

    # ---------------------------------------------------------------- editing
    def add_node_at_center(self, kind: str) -> None:
        center = self.view.mapToScene(self.view.viewport().rect().center())
        offset = 24 * (len(self.doc.nodes) % 5)
        node = self.editor.add_node(kind, self.scene.snapped(
            QPointF(center.x() - 100 + offset, center.y() - 40 + offset)))
        if node is not None and node.id in self.scene.node_items:
            self.scene.clearSelection()
            self.scene.node_items[node.id].setSelected(True)

    def copy(self) -> None:
        ids = self.scene.selected_node_ids()
        if ids:
            QGuiApplication.clipboard().setText(self.editor.copy_payload(ids))

    def cut(self) -> None:
        self.copy()
        ids = self.scene.selected_node_ids()
        if ids:
            self.undo_stack.beginMacro("Cut")
            self.editor.remove(ids, self.scene.selected_edge_ids())
            self.undo_stack.endMacro()

    def paste(self) -> None:
        text = QGuiApplication.clipboard().text()
        if CLIPBOARD_FORMAT not in text:
            self.show_message("the clipboard holds no gradstudio nodes", "warning")
            return
        self._select(self.editor.paste(text))

    def duplicate(self) -> None:
        ids = self.scene.selected_node_ids()
        if ids:
            self._select(self.editor.duplicate(ids))

    def _select(self, node_ids: list[str]) -> None:
        if not node_ids:
            return
        self.scene.clearSelection()
        for nid in node_ids:
            if nid in self.scene.node_items:
                self.scene.node_items[nid].setSelected(True)

    def delete_selection(self) -> None:
        self.editor.remove(self.scene.selected_node_ids(), self.scene.selected_edge_ids())

    def select_all(self) -> None:
        for item in self.scene.node_items.values():
            item.setSelected(True)

    def auto_layout(self) -> None:
        if not self.doc.nodes:
            return
        if self.doc.groups:             # each group as one block (a collapsed one: its box)
            positions = grouped_positions(self.doc, self._node_size)
        else:
            positions = layered_positions(self.doc, self._node_size)
        self.editor.apply_positions(positions, "Auto-layout")
        self.view.frame_all()

    def set_snap(self, on: bool) -> None:
        self.scene.snap_to_grid = on
        self.settings.setValue("snap_to_grid", on)

    def set_theme(self, name: str) -> None:
        self.theme = name
        self.settings.setValue("theme", name)
        apply_application_theme(name)
        self.scene.set_style(canvas_style(name))
        self.view.resetCachedContent()
        self.theme_actions[name].setChecked(True)

    # ---------------------------------------------------------------- running
    def run_forward(self) -> None:
        self.runner.run(backward=False)

    def run_backward(self) -> None:
        self.runner.run(backward=True)

    def zero_grad(self) -> None:
        self.runner.zero_grad()

    def set_device(self, name: str) -> None:
        available, reason = self.runner.devices().get(name, (False, "unknown device"))
        if not available:
            self.show_message(reason or f"{name} is not available", "warning")
            self.device_combo.setCurrentText(self.runner.device)
            return
        self.runner.set_device(name)
        self.device_combo.setCurrentText(self.runner.device)    # cpu when it fell back
        self.device_actions[self.runner.device].setChecked(True)

    def _show_results(self) -> None:
        passes = self.runner.backward_passes
        if passes != self.scene.grad_passes:
            self.scene.grad_passes = passes
            for item in self.scene.node_items.values():
                item.refresh_when_shown()
        self.inspector.grad_passes = passes
        self.scene.set_results(self.runner.results, self.runner.errors, self.runner.waiting)
        self._selection_changed()
        self.status_label.setText(self.runner.summary())

    def _selection_changed(self) -> None:
        """The inspector shows the one selected node: as the debugger's step shows it while
        debugging, else as the last run left it."""
        nodes = [i for i in self.scene.selectedItems() if isinstance(i, NodeItem)]
        if len(nodes) == 1:
            nid = nodes[0].node.id
            panel = self.debugger_panel
            if panel.showing_step:
                self.inspector.grad_passes = 1
                self.inspector.waiting = None
                self.inspector.show_node(nid, panel.tensors_of(nid), panel.session.errors.get(nid),
                                         source=f"debugger, {panel.position_text()}")
            else:
                self.inspector.grad_passes = self.runner.backward_passes
                self.inspector.waiting = self.runner.waiting.get(nid)
                self.inspector.show_node(nid, self.runner.tensors_of(nid),
                                         self.runner.errors.get(nid))
        elif not nodes:
            self.inspector.show_node(None)

    # ---------------------------------------------------------------- help
    def about(self) -> None:
        QMessageBox.about(self, "About gradstudio",
                          f"<b>gradstudio {__version__}</b><p>See and debug backpropagation: "
                          "wire tensors and operations on a canvas, run them on the embedded "
                          "autograd engine and read every node's data, grad and grad_fn.</p>")

    def shortcuts_html(self) -> str:
        """The gestures, then every menu action that has keys, menu by menu."""
        rows = [GESTURES_HELP]
        for menu_name, keys, text in shortcut_rows(self.menuBar()):
            rows.append(f"<tr><td><b>{html.escape(keys)}</b></td><td>{html.escape(text)}"
                        f" <span style='color:gray'>({html.escape(menu_name)})</span></td></tr>")
        return "<table cellspacing=0 cellpadding=4>" + "".join(rows) + "</table>"

    def shortcuts_help(self) -> None:
        box = QMessageBox(QMessageBox.NoIcon, "Keyboard shortcuts", self.shortcuts_html(),
                          QMessageBox.Close, self)
        box.setStyleSheet("QLabel { min-width: 600px; }")     # one line per row
        box.setAttribute(Qt.WA_DeleteOnClose)
        box.open()
        self.shortcuts_box = box

    def open_default(self) -> None:
        """What `gradstudio` with no file shows: the basic example, already run."""
        if DEFAULT_EXAMPLE.is_file():
            self.open_file(DEFAULT_EXAMPLE, ask=False)      # opens as an untitled copy


def is_example(path: str | os.PathLike) -> bool:
    """Is `path` in the shipped examples folder (which is never written to)?"""
    try:
        return Path(path).resolve().parent == EXAMPLES.resolve()
    except OSError:
        return False


def short_reason(reason: str | None) -> str:
    """The gist of why a device is unavailable, for a menu item: its first clause without
    the details in parentheses ("CuPy is not installed or failed to import")."""
    text = (reason or "").removeprefix("cuda is not available: ").split(";")[0]
    return re.sub(r"\s*\([^)]*\)", "", text).strip() or "unknown reason"


def example_trains(path: Path) -> bool:
    """Whether an example file has a training setup (read as JSON; nothing runs)."""
    try:
        return "training" in json.loads(path.read_text(encoding="utf-8")).get("meta", {})
    except (OSError, ValueError, AttributeError):
        return False


def shortcut_rows(menu_bar) -> list[tuple[str, str, str]]:
    """(menu, keys, what it does) for each action with a shortcut in the menus, submenus
    included, in menu order: ("Debug", "F10", "Step: run one backward node")."""
    rows = []

    def walk(menu, name: str) -> None:
        for action in menu.actions():
            if action.menu() is not None:
                walk(action.menu(), name)
                continue
            keys = ", ".join(text for text in (k.toString(QKeySequence.NativeText)
                                               for k in action.shortcuts()) if text)
            if keys and not action.isSeparator():
                text = action.statusTip() or action.text()
                rows.append((name, keys, text.replace("&", "").rstrip("…")))

    for top in menu_bar.actions():
        if top.menu() is not None:
            walk(top.menu(), top.text().replace("&", ""))
    return rows
