"""Unexpected exceptions in UI slots: the global handler shows a copyable report, writes it to
the log file in the data folder, and the program goes on (checked in a real process)."""
import logging
import os
import subprocess
import sys
import textwrap

from PySide6.QtCore import QStandardPaths

from gradstudio.ui import crash_report

RAISING_SLOT = textwrap.dedent("""
    import sys
    from PySide6.QtCore import QSettings, QTimer
    from PySide6.QtWidgets import QApplication, QMessageBox
    from gradstudio.ui import app
    from gradstudio.ui.crash_report import install_log_file
    from gradstudio.ui.main_window import MainWindow

    qapp = app.create_application()
    install_log_file(sys.argv[1])
    app.install_exception_hook()
    window = MainWindow(QSettings(sys.argv[2], QSettings.IniFormat))
    window.show()

    def broken():
        raise ZeroDivisionError("slot went wrong on purpose")

    def afterwards():
        node = window.editor.add_node("tensor", (0, 0), "still_editing")
        boxes = [w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox)
                 and w.isVisible() and "slot went wrong" in w.text()]
        report = boxes[0].detailedText() if boxes else ""
        print("alive", node is not None, len(boxes), "gradstudio " in report,
              "Traceback" in report, flush=True)
        qapp.quit()

    QTimer.singleShot(0, broken)
    QTimer.singleShot(300, afterwards)
    sys.exit(qapp.exec())
""")


def test_an_exception_in_a_slot_is_shown_logged_and_survived(tmp_path):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    result = subprocess.run([sys.executable, "-c", RAISING_SLOT, str(tmp_path),
                             str(tmp_path / "settings.ini")],
                            capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["alive", "True", "1", "True", "True"]
    log = (tmp_path / crash_report.LOG_NAME).read_text()
    assert "ZeroDivisionError: slot went wrong on purpose" in log
    assert "Traceback" in log and "in broken" in log


def test_the_report_names_versions_and_the_log_file(tmp_path):
    path = crash_report.install_log_file(tmp_path)
    try:
        assert crash_report.install_log_file(tmp_path) == path      # installed once
        report = crash_report.crash_report("Traceback (most recent call last):\n  ...")
        first = report.splitlines()[0]
        assert first.startswith("gradstudio ") and "Python " in first and "PySide6 " in first
        assert f"log: {path}" in report and report.endswith("  ...")
        logging.getLogger("gradstudio").error("written to the file")
        assert "written to the file" in path.read_text()
    finally:
        for handler in list(crash_report.log.handlers):
            if getattr(handler, "baseFilename", None) == str(path):
                crash_report.log.removeHandler(handler)
                handler.close()


def test_the_data_folder_is_qts_app_data_location(qapp):
    QStandardPaths.setTestModeEnabled(True)
    try:
        expected = QStandardPaths.writableLocation(QStandardPaths.AppDataLocation)
        assert str(crash_report.data_folder()) == expected
    finally:
        QStandardPaths.setTestModeEnabled(False)
