"""Malformed files, one per kind the issue lists: the window refuses each with one line naming
what and where and keeps its graph; `gradstudio run` exits 2 with one line and no traceback.
And saving survives a writer killed at random moments: the file on disk is always whole."""
import json
import os
import random
import signal
import subprocess
import sys
import time

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QMessageBox

from gradstudio import EXAMPLES, cli
from gradstudio.graph import fileio
from gradstudio.ui.main_window import MainWindow

GOOD = (EXAMPLES / "basic_grad.json").read_text()


def graph(**extra) -> str:
    return json.dumps({"format": "gradstudio-graph", "version": 1, **extra})


def tensor(node_id="a", label="x", **params) -> dict:
    return {"id": node_id, "kind": "tensor", "label": label, "params": params}


def neg(node_id, label) -> dict:
    return {"id": node_id, "kind": "neg", "label": label}


def edge(edge_id, src, dst) -> dict:
    return {"id": edge_id, "src": src, "src_port": "out", "dst": dst, "dst_port": "input"}


DEEP = "[" * 100_000 + "]" * 100_000
# name -> (file content, a piece of the message that says what and where)
MALFORMED = {
    "empty": ("", "the file is empty"),
    "truncated": (GOOD[:len(GOOD) // 2], "not valid JSON at line"),
    "binary": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe", "not UTF-8"),
    "wrong type": (graph(nodes=[tensor(requires_grad="yes")]),
                   "nodes[0].params.requires_grad: 'yes' is not true or false"),
    "missing field": (graph(nodes=[{"id": "a", "label": "x"}]),
                      "nodes[0].kind: expected a non-empty string"),
    "missing format": (json.dumps({"nodes": []}), "not a gradstudio graph"),
    "unknown kind": (graph(nodes=[{"id": "a", "kind": "os.system", "label": "x"}]),
                     "nodes[0].kind: unknown node kind 'os.system'"),
    "dangling edge": (graph(nodes=[tensor(), neg("b", "n")], edges=[edge("e1", "a", "zz")]),
                      "edges[0].dst: no node has the id 'zz'"),
    "duplicate edge": (graph(nodes=[tensor(), neg("b", "n")],
                             edges=[edge("e1", "a", "b"), edge("e2", "a", "b")]),
                       "edges[1]: n.input already has an input"),
    "cycle": (graph(nodes=[neg("b", "n"), neg("c", "m")],
                    edges=[edge("e1", "b", "c"), edge("e2", "c", "b")]),
              "edges[1]: connecting m to n would make a cycle"),
    "absurd shape": (graph(nodes=[tensor(init="zeros", shape=[100_000, 100_000, 100_000])]),
                     "nodes[0].params.shape: '100000, 100000, 100000' makes"),
    "NaN literal": (graph(nodes=[tensor(value=1.5)]).replace("1.5", "NaN"), "literal NaN"),
    "deep nesting": (DEEP, "nests lists or objects too deeply"),
    "deep nesting inside": (graph(meta={"x": "HOLE"}).replace('"HOLE"', DEEP),
                            "too deeply"),
    "future version": (graph(version=99), "newer gradstudio (version 99)"),
}


def write(tmp_path, name, content):
    path = tmp_path / f"{name.replace(' ', '_')}.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    return path


@pytest.fixture(scope="module")
def window(tmp_path_factory):
    from PySide6.QtWidgets import QApplication

    QApplication.instance() or QApplication([])
    settings = tmp_path_factory.mktemp("settings") / "settings.ini"
    w = MainWindow(QSettings(str(settings), QSettings.IniFormat))
    w.ask_save_changes = lambda: QMessageBox.Discard
    w.show()
    assert w.open_file(EXAMPLES / "basic_grad.json", ask=False)
    yield w
    w.close()
    w.deleteLater()


@pytest.mark.parametrize("name", MALFORMED)
def test_the_window_refuses_each_malformed_file_and_keeps_its_graph(window, tmp_path, name):
    content, says = MALFORMED[name]
    path = write(tmp_path, name, content)
    before, title = fileio.dumps(window.doc), window.windowTitle()
    assert not window.open_file(path)
    assert fileio.dumps(window.doc) == before and window.windowTitle() == title
    line = window.messages.lines()[-1]
    assert f"Cannot open {path.name}: " in line and says in line and "\n" not in line
    assert window.last_error_box.isVisible()
    window.last_error_box.close()


@pytest.mark.parametrize("name", MALFORMED)
def test_the_cli_refuses_each_malformed_file_in_one_line(tmp_path, capsys, name):
    content, says = MALFORMED[name]
    path = write(tmp_path, name, content)
    assert cli.main(["run", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(f"gradstudio: {path}: ") and captured.err.count("\n") == 1
    assert says in captured.err and "Traceback" not in captured.err


def test_deep_nesting_in_a_real_process_is_one_line(tmp_path):
    path = write(tmp_path, "deep", DEEP)
    result = subprocess.run([sys.executable, "-m", "gradstudio", "run", str(path)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and "too deeply" in result.stderr


WRITER = """
import sys
from gradstudio.graph import fileio
from gradstudio.graph.document import Document
doc = Document()
for k in range(200):
    doc.add_node("tensor", f"t{k}", {"value": [[float(k)] * 40] * 20})
print("ready", flush=True)
k = 0
while True:
    k += 1
    doc.set_meta("title", f"version {k}")
    fileio.save(doc, sys.argv[1])
    print(k, flush=True)
"""


def test_writers_killed_at_random_moments_never_leave_a_torn_file(tmp_path):
    path = tmp_path / "g.json"
    original = fileio.loads(GOOD)
    original.set_meta("title", "version 0")
    fileio.save(original, path)
    chance = random.Random(9)
    for _ in range(5):
        writer = subprocess.Popen([sys.executable, "-c", WRITER, str(path)],
                                  stdout=subprocess.PIPE, text=True)
        try:
            assert writer.stdout.readline().strip() == "ready"
            time.sleep(chance.uniform(0.0, 0.25))
        finally:
            writer.send_signal(signal.SIGKILL)
            writer.wait()
        completed = [int(line) for line in writer.stdout.read().split()]
        writer.stdout.close()
        on_disk = fileio.load(path)                   # whole: it loads
        title = on_disk.meta["title"]
        assert title.startswith("version ")           # the old file or a complete new one
        if completed:                                 # at least the last finished save
            assert int(title.split()[1]) >= completed[-1]
        if os.path.exists(f"{path}.bak"):             # the version before, also whole
            assert fileio.load(f"{path}.bak").meta["title"].startswith("version ")
    temporary = [p for p in tmp_path.iterdir() if p.suffix == ".tmp"]
    assert all(p.name.startswith(".gradstudio-") for p in temporary)   # never under the name
