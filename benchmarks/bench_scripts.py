"""Scripts: what recording costs a script, and a 5,000-op recorded graph on the canvas.

1. Recording overhead, side by side in this process (the worker's own code, fed by fake
   pipes): a 50-step MLP training script and a 1,000-op chain (forward + backward, 20 times),
   each run plain (`import torch` is the engine, nothing recorded) and recorded (the op
   observer, module hooks and step hooks of gradstudio.runtime.script_worker), best of 3
   alternating rounds; prints both times and the ratio (the bar: recorded <= 1.3x plain),
   and the ratio of CPU times (the steadier figure when other programs load the machine).
2. A recorded graph of about 5,000 op calls (an nn.Sequential of Linear/Tanh blocks) in the
   real main window, offscreen: the document built from the recording, then open (scene +
   forward/backward run + grouped layout with the nodes' real sizes + frame), and the frame
   time while panning with its module groups collapsed (the default above 60 nodes: the
   outermost stays open) and all expanded and laid out again (the bar: open+layout+frame
   under 2 s, pan frames under 16 ms).

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/bench_scripts.py [--blocks 2500]
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import textwrap
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

MLP_SCRIPT = """
import torch
import torch.nn as nn
torch.manual_seed(0)
x = torch.randn(64, 16)
y = torch.randn(64, 1)
model = nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(),
                      nn.Linear(32, 1))
opt = torch.optim.SGD(model.parameters(), lr=0.01)
for step in range(50):
    opt.zero_grad()
    loss = nn.functional.mse_loss(model(x), y)
    loss.backward()
    opt.step()
"""

CHAIN_SCRIPT = """
import torch
w = torch.ones(8, requires_grad=True)
for rep in range(20):
    y = w
    for i in range(500):
        y = y * 1.0001 + 0.001
    y.sum().backward()
"""

DEEP_SCRIPT = """
import torch
import torch.nn as nn
torch.manual_seed(0)
blocks = []
for i in range({blocks}):
    blocks += [nn.Linear(4, 4), nn.Tanh()]
model = nn.Sequential(*blocks)
loss = model(torch.randn(2, 4)).pow(2).mean()
loss.backward()
"""


class _Pipe:
    """Stands in for the worker's pipes: keeps what is sent, never has orders."""

    def __init__(self) -> None:
        self.sent = []

    def send(self, event) -> None:
        self.sent.append(event)

    def poll(self, timeout=0) -> bool:
        return False


def run_in_worker(path: str, record: bool) -> tuple[float, float, float]:
    """(seconds for the whole run, of which turning the recording into a document, CPU
    seconds of the whole run: steadier than the wall clock on a shared machine)."""
    from gradstudio.runtime.script_worker import ScriptWorker
    worker = ScriptWorker(_Pipe(), _Pipe(), {"path": path, "record": record})
    document = [0.0]
    send_document = worker._send_document

    def timed_document(*args):
        t0 = time.perf_counter()
        send_document(*args)
        document[0] = time.perf_counter() - t0
    worker._send_document = timed_document
    cwd, argv, syspath = os.getcwd(), list(sys.argv), list(sys.path)
    t, cpu = time.perf_counter(), time.process_time()
    status = worker.run()
    seconds, cpu = time.perf_counter() - t, time.process_time() - cpu
    os.chdir(cwd)
    sys.argv[:], sys.path[:] = argv, syspath
    assert status == "finished", worker.events.sent[-3:]
    return seconds, document[0], cpu


def overhead(folder: str) -> None:
    print("1. recording overhead (best of 3, alternating; the worker's own code)")
    for name, text in (("50-step MLP training", MLP_SCRIPT), ("1,000-op chain x 20", CHAIN_SCRIPT)):
        path = os.path.join(folder, name.split()[0].replace(",", "") + ".py")
        with open(path, "w") as f:
            f.write(textwrap.dedent(text))
        run_in_worker(path, False)          # warm: imports, caches
        plain, recorded = [], []
        for _ in range(3):
            plain.append(run_in_worker(path, False))
            recorded.append(run_in_worker(path, True))
        p = min(t for t, _, _ in plain)
        r, doc, _ = min(recorded)
        cpu_ratio = min(c for _, _, c in recorded) / min(c for _, _, c in plain)
        verdict = "within" if r / p <= 1.3 else "OVER"
        print(f"  {name:22s} plain {p * 1000:8.1f} ms  recorded {r * 1000:8.1f} ms "
              f"(of which the document {doc * 1000:6.1f} ms)  ratio {r / p:5.2f}x "
              f"({verdict} the 1.3x bar), {(r - doc) / p:5.2f}x without the document; "
              f"CPU time ratio {cpu_ratio:5.2f}x")


def recorded_document(folder: str, blocks: int):
    from gradstudio.runtime.script_worker import ScriptWorker
    path = os.path.join(folder, "deep.py")
    with open(path, "w") as f:
        f.write(textwrap.dedent(DEEP_SCRIPT.format(blocks=blocks)))
    worker = ScriptWorker(_Pipe(), _Pipe(), {"path": path, "record": True})
    cwd = os.getcwd()
    t = time.perf_counter()
    worker.run()
    os.chdir(cwd)
    document = next(e for e in worker.events.sent if e[0] == "document")
    return document[1], time.perf_counter() - t


def canvas(folder: str, blocks: int, frames: int) -> None:
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from bench_canvas import describe, pan_frames      # the canvas benchmark's pan measure
    from gradstudio.ui.main_window import MainWindow
    from gradstudio.ui.script_controller import show_recorded

    app = QApplication.instance() or QApplication([])
    from gradstudio.graph import fileio
    text, seconds = recorded_document(folder, blocks)
    doc = fileio.loads(text)
    ops = sum(1 for n in doc.nodes.values() if n.kind == "call")
    print(f"2. a recorded graph: {ops} op calls, {len(doc.nodes)} nodes, {len(doc.edges)} "
          f"edges, {len(doc.groups)} groups (collapsed: "
          f"{all(g.collapsed for g in doc.groups.values())})")
    print(f"  run + record + document (in the worker)       {seconds * 1000:8.1f} ms")
    window = MainWindow(QSettings(os.path.join(folder, "settings.ini"), QSettings.IniFormat))
    window.resize(1600, 1000)
    window.show()
    app.processEvents()

    def show():
        # what the window does with the worker's recording: load the text, show, run
        show_recorded(window, fileio.loads(text), folder)
        window.view.frame_all()
        window.view.viewport().repaint()

    t = time.perf_counter()
    show()
    total = time.perf_counter() - t
    verdict = "under" if total < 2 else "OVER"
    print(f"  load + open + run + frame + first paint       {total * 1000:8.1f} ms "
          f"({verdict} the 2 s bar)")
    for state in ("collapsed", "expanded"):
        window.doc.set_all_groups_collapsed(state == "collapsed")
        if state == "expanded":             # as a person would: make room (Ctrl+L)
            t = time.perf_counter()
            window.auto_layout()
            print(f"  expand every group, then auto-layout           "
                  f"{(time.perf_counter() - t) * 1000:8.1f} ms")
        for zoom in ("framed", "1:1 zoom"):
            if zoom == "framed":
                window.view.frame_all()
            else:
                window.view.resetTransform()
                window.view.centerOn(window.scene.items_bounding_rect().topLeft())
            window.view.viewport().repaint()
            rounds = [pan_frames(window, frames, step=12) for _ in range(3)]
            times = min(rounds, key=statistics.median)
            verdict = "under" if statistics.median(times) < 0.016 else "OVER"
            print(f"  pan, groups {state:9s} {zoom:9s} (best of 3 x {frames}): "
                  f"{describe(times)} ({verdict} 16 ms)")
    window.undo_stack.setClean()
    window.close()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blocks", type=int, default=2500,
                        help="Linear+Tanh blocks of the big graph (2 op calls each)")
    parser.add_argument("--frames", type=int, default=40)
    parser.add_argument("--skip-canvas", action="store_true")
    args = parser.parse_args(argv)
    print(f"scripts benchmark: Python {platform.python_version()}, {platform.machine()}, "
          f"{os.cpu_count()} CPUs (figures from a shared machine vary; compare the ratios)")
    folder = tempfile.mkdtemp()
    overhead(folder)
    if not args.skip_canvas:
        canvas(folder, args.blocks, args.frames)
    return 0


if __name__ == "__main__":
    sys.exit(main())
