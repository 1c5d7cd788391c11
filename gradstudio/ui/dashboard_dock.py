"""Puts the training dashboard into the main window: a "Training" dock and menu, shown and
arranged whenever the window's document (opened, new, reverted) has a training setup."""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QApplication, QDockWidget, QMenu

from gradstudio.graph.document import Change
from gradstudio.ui.dashboard import TrainingDashboard
from gradstudio.ui.undo_commands import SetMeta

DOCK_HEIGHT_SHARE = 0.5     # of the window's height, when a training document opens


def install_dashboard(window: Any) -> QDockWidget:
    """Adds the Training dock (tabbed with the Debugger's when there is one) and the
    Training menu; live changes made in the dashboard go on the window's undo stack."""
    def edit_meta(key: str, value: Any, text: str) -> None:
        window.undo_stack.push(SetMeta(window.doc, key, value, text))

    dashboard = TrainingDashboard(window, edit_meta=edit_meta)
    dock = QDockWidget("Training", window)
    dock.setObjectName("training")
    dock.setWidget(dashboard)
    window.addDockWidget(Qt.BottomDockWidgetArea, dock)
    debugger_dock = getattr(window, "debugger_dock", None)
    if debugger_dock is not None:
        window.tabifyDockWidget(debugger_dock, dock)
    dock.hide()
    dashboard.message.connect(window.show_message)

    menu = QMenu("&Training", window)
    actions = {}
    for text, slot, tip in (
            ("&Start", dashboard.start, "Train the document's model from fresh parameters"),
            ("&Pause / Resume", dashboard.toggle_pause, "Pause or resume training"),
            ("Step &one iteration", dashboard.step_once, "Run one training step"),
            ("S&top", dashboard.stop, "End the training run"),
            (None, None, None),
            ("Export plots as &PNG…", dashboard.export_png_dialog, "Save the visible plots"),
            ("Export metrics as &CSV…", dashboard.export_csv_dialog, "Save every metric")):
        if text is None:
            menu.addSeparator()
            continue
        action = QAction(text, window)
        action.setStatusTip(tip)
        action.triggered.connect(lambda _=False, s=slot: (dock.show(), dock.raise_(), s()))
        menu.addAction(action)
        actions[text] = action
    menu.addSeparator()
    menu.addAction(dock.toggleViewAction())

    def update_actions() -> None:
        buttons = (dashboard.start_button, dashboard.pause_button, dashboard.step_button,
                   dashboard.stop_button)
        for action, button in zip(list(actions.values())[:4], buttons):
            action.setEnabled(button.isEnabled())
        exportable = dashboard.metrics is not None
        for action in list(actions.values())[4:]:
            action.setEnabled(exportable)
    menu.aboutToShow.connect(update_actions)

    window.add_menu(menu)

    def arrange() -> None:
        """After a load (the window has its new path by then): train this document, and
        show the dashboard, large, when it has a training setup."""
        base_dir = str(window.path.parent) if getattr(window, "path", None) else None
        dashboard.set_document(window.doc, base_dir)
        if dashboard.setup() is not None:
            dock.show()
            dock.raise_()
            window.resizeDocks([dock], [int(window.height() * DOCK_HEIGHT_SHARE)], Qt.Vertical)
        elif dock.isVisible():
            dock.hide()
            restore = getattr(window, "restore_bottom_docks", None)
            if restore is not None:         # its large height must not stay behind
                restore()

    def on_change(change: Change) -> None:
        if change.what == "reset":
            QTimer.singleShot(0, arrange)

    window.doc.subscribe(on_change)
    app = QApplication.instance()
    if app is not None:
        app.aboutToQuit.connect(dashboard.shutdown)
    dashboard.set_document(window.doc)
    window.training_dashboard = dashboard
    window.training_dock = dock
    window.training_menu = menu
    return dock
