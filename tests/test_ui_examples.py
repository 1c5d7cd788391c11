"""Every shipped example survives the editor's whole-graph gestures: open (run), select all,
copy/paste, delete, auto-layout, each undone back to the file as loaded."""
import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QMessageBox

from gradstudio import EXAMPLES
from gradstudio.graph import fileio
from gradstudio.ui.main_window import MainWindow

EXAMPLE_FILES = sorted(EXAMPLES.glob("*.json"))


@pytest.fixture(scope="module")
def window(tmp_path_factory):
    from PySide6.QtWidgets import QApplication

    QApplication.instance() or QApplication([])
    w = MainWindow(QSettings(str(tmp_path_factory.mktemp("s") / "settings.ini"),
                             QSettings.IniFormat))
    w.ask_save_changes = lambda: QMessageBox.Discard
    w.resize(1200, 800)
    w.show()
    yield w
    w.undo_stack.setClean()
    w.close()


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=[p.stem for p in EXAMPLE_FILES])
def test_whole_graph_gestures_undo_back_to_the_file(window, path):
    assert window.open_file(path, ask=False), window.messages.lines()[-1]
    loaded = fileio.dumps(window.doc)
    assert set(window.scene.node_items) == set(window.doc.nodes)
    assert not window.runner.errors, window.runner.errors
    window.act_select_all.trigger()
    window.act_copy.trigger()
    window.act_paste.trigger()
    assert len(window.doc.nodes) == 2 * len(fileio.loads(loaded).nodes)
    window.act_select_all.trigger()
    window.act_delete.trigger()
    assert not window.doc.nodes
    window.act_undo.trigger()
    window.act_layout.trigger()
    for _ in range(3):
        window.act_undo.trigger()
    assert fileio.dumps(window.doc) == loaded
    assert set(window.scene.edge_items) == set(window.doc.edges)
