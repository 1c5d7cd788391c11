"""The desktop editor (Qt): main window, canvas, inspector, panels; every edit an undo command.

Entry point: `gradstudio.ui.app.launch(path)`; `gradstudio.ui.main_window.MainWindow` is the
window itself (tests build it offscreen with their own QSettings).
"""
