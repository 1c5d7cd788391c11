"""Running unmodified PyTorch scripts on the engine: same losses and gradients as PyTorch, the
recorded iteration as a document that reproduces them, and clear errors."""
import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from gradstudio.runtime.script_run import ScriptRun, run_script
from gradstudio.runtime.session import Session

SCRIPTS = Path(__file__).parent / "scripts"


def copy_script(tmp_path, name):
    folder = tmp_path / Path(name).stem
    folder.mkdir()
    shutil.copy(SCRIPTS / name, folder / name)
    return folder / name


def write_script(tmp_path, text, name="train.py"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def run_with_torch(path):
    """The same file run by PyTorch itself (skips when torch is not installed)."""
    pytest.importorskip("torch")
    folder = path.parent.parent / (path.parent.name + "_torch")
    shutil.copytree(path.parent, folder)
    subprocess.run([sys.executable, path.name], cwd=folder, check=True, capture_output=True,
                   timeout=120)
    return json.loads((folder / "result.json").read_text())


def close(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("name", ["manual_sgd.py", "module_mlp.py", "small_cnn.py"])
def test_tutorial_scripts_give_pytorchs_losses_and_gradients(tmp_path, name):
    path = copy_script(tmp_path, name)
    result = run_script(path, timeout=120)
    assert result.status == "finished", result.error
    mine = json.loads((path.parent / "result.json").read_text())
    theirs = run_with_torch(path)
    close(mine["losses"], theirs["losses"])
    for param, grad in theirs["grads"].items():
        close(mine["grads"][param], grad)
    if name != "manual_sgd.py":          # one loss per optimizer step, as the script saw it
        close(result.losses, mine["losses"])

    # the recorded (last) iteration, run again as a document: the same gradients
    doc = result.document
    assert doc is not None and doc.meta["root"]
    session = Session(doc)
    assert session.run(), session.errors
    for param, grad in theirs["grads"].items():
        node = doc.node_by_label(param)
        assert node is not None, f"{param} not among {[n.label for n in doc.nodes.values()]}"
        close(session.value(node.id).grad.numpy(), grad)
    close(session.value(doc.meta["root"]).item(), mine["losses"][-1])


def test_modules_become_nested_groups_and_nodes_keep_their_source_line(tmp_path):
    path = copy_script(tmp_path, "small_cnn.py")
    doc = run_script(path, timeout=120).document
    groups = {g.label: g for g in doc.groups.values()}
    assert {"SmallCNN", "features", "features.0", "features.1", "features.2", "head"} <= set(groups)
    assert groups["features.0"].parent == groups["features"].id
    assert groups["features"].parent == groups["SmallCNN"].id
    assert groups["features.0"].info["type"] == "Conv2d"
    members = {doc.nodes[n].label for n in groups["features.0"].node_ids}
    assert {"features.0.weight", "features.0.bias"} <= members
    conv = next(doc.nodes[n] for n in groups["features.0"].node_ids
                if doc.nodes[n].kind == "call")
    source = doc.meta["script"]["sources"][conv.id]
    assert source["module"] == "features.0"
    assert Path(source["file"]).name == "small_cnn.py"
    assert source["code"] == "return self.head(self.features(x).flatten(1))"


def test_import_torch_is_the_engine_only_inside_the_run(tmp_path):
    path = write_script(tmp_path, """
        import torch, torch.nn, torch.nn.functional as F
        from torch import optim
        from torch.utils.data import DataLoader
        import engine, os, sys
        print(torch is engine, torch.nn is engine.nn, F is engine.nn.functional,
              optim is engine.optim, os.getcwd() == os.path.dirname(__file__),
              sys.path[0] == os.path.dirname(__file__), __name__)
    """)
    result = run_script(path, timeout=60)
    assert "".join(result.stdout) == "True True True True True True __main__\n"
    assert "torch" not in sys.modules or getattr(sys.modules["torch"], "__name__") == "torch"


def test_a_missing_torch_name_is_one_line_with_the_scripts_line(tmp_path):
    path = write_script(tmp_path, """
        import torch
        import torch.nn as nn

        layer = nn.Linear(2, 2)
        rnn = nn.FractionalMaxPool3d(2, output_size=1)
    """)
    result = run_script(path, timeout=60)
    assert result.status == "error"
    assert result.error == "torch.nn.FractionalMaxPool3d is not in gradstudio's engine (train.py:6)"
    imported = write_script(tmp_path, "import torch.fx\n", "trace.py")
    assert run_script(imported, timeout=60).error == \
        "torch.fx is not in gradstudio's engine (trace.py:1)"


def test_a_syntax_error_names_line_and_column(tmp_path):
    path = write_script(tmp_path, "import torch\nx = torch.ones(2\nprint(x)\n")
    result = run_script(path, timeout=60)
    assert result.error_kind == "syntax"
    assert result.error.startswith("syntax error at train.py:2:")


def test_a_scripts_exception_shows_its_own_frames_and_the_graph_up_to_it(tmp_path):
    path = write_script(tmp_path, """
        import torch

        def layer(x, w):
            return x @ w

        x = torch.ones(2, 3)
        w = torch.ones(4, 5, requires_grad=True)
        h = x * 2
        out = layer(h, w)
    """)
    result = run_script(path, timeout=60)
    assert result.status == "error" and result.error_kind == "exception"
    assert "train.py:5" in result.error
    assert 'File "' in result.details and "engine" not in result.details
    assert "line 10, in <module>" in result.details and "line 5, in layer" in result.details
    doc = result.document
    failed = doc.meta["script"]["failed"]
    assert doc.nodes[failed].params["function"].endswith("matmul")
    assert "error" in doc.meta["script"]["sources"][failed]
    assert [n.label for n in doc.nodes.values() if n.kind == "call"] == ["x", "w", "mul", "matmul"]


def test_stop_ends_a_script_that_never_returns(tmp_path):
    path = write_script(tmp_path, "while True:\n    pass\n")
    run = ScriptRun(path)
    run.start()
    run.poll(0.5)
    run.stop(grace=0.5)
    assert run.result.status == "stopped"
    assert run.process.poll() is not None


LOOP = """
    import torch
    w = torch.tensor([1.0, -2.0], requires_grad=True)
    opt = torch.optim.SGD([w], lr=0.1)
    for step in range(1000):
        opt.zero_grad()
        loss = (w ** 2).sum()
        loss.backward()
        opt.step()
"""


def test_steps_limit_pause_step_and_a_live_learning_rate(tmp_path):
    path = write_script(tmp_path, LOOP)
    assert run_script(path, steps=3, timeout=60).steps == 3

    run = ScriptRun(path, paused=True)
    run.start()
    try:
        pause_step_and_edit(run)
    finally:
        run.stop()
    assert run.result.status == "stopped"


def pause_step_and_edit(run):
    events, seen = [], [0]

    def until(kind):
        """The next event of this kind (events come in batches; none is skipped)."""
        for _ in range(300):
            while seen[0] < len(events):
                event = events[seen[0]]
                seen[0] += 1
                if event[0] == kind:
                    return event
            events.extend(run.poll(0.1))
        raise AssertionError(f"no {kind} event; got {events}")

    until("paused")                   # before the first step
    run.step()
    step = until("step")[1]
    assert step["step"] == 0 and step["lr"] == pytest.approx(0.1)
    until("paused")
    run.send("lr", 0.25)              # takes effect on the coming step
    run.step()
    step = until("step")[1]
    assert step["lr"] == 0.25 and step["loss"] == pytest.approx(5.0 * 0.8 ** 2)
    assert any(e[0] == "marker" and e[2] == "lr 0.25" for e in events)
    run.send("clip", "norm", 1e-3)
    run.resume()
    step = until("step")[1]
    assert step["grad_norm_post_clip"] == pytest.approx(1e-3, rel=1e-3)


def test_two_backward_calls_in_one_step_keep_both_losses_and_the_last_is_the_root(tmp_path):
    path = write_script(tmp_path, """
        import torch
        w = torch.tensor([1.0, 2.0], requires_grad=True)
        opt = torch.optim.SGD([w], lr=0.1)
        for step in range(3):
            opt.zero_grad()
            first = (w * 3).sum()
            first.backward()
            second = (w ** 2).sum()
            second.backward()
            opt.step()
    """)
    result = run_script(path, timeout=60)
    doc = result.document
    assert doc.meta["script"]["roots"] == ["sum", "sum2"] and doc.meta["root"] == "sum2"
    session = Session(doc)
    assert session.run()
    w = session.value("w")
    assert w.tolist() == pytest.approx([0.1, 0.74])          # as the third step saw it
    assert w.grad.tolist() == pytest.approx((2 * w).tolist())   # d(sum2)/dw only: the root


def test_a_big_graph_opens_with_its_inner_module_groups_collapsed(tmp_path):
    path = write_script(tmp_path, """
        import torch
        from torch import nn
        model = nn.Sequential(*[layer for _ in range(20) for layer in (nn.Linear(3, 3), nn.Tanh())])
        model(torch.ones(2, 3)).sum().backward()
    """)
    doc = run_script(path, timeout=60).document
    assert len(doc.nodes) > 60
    outer = [g for g in doc.groups.values() if g.parent is None]
    assert [g.label for g in outer] == ["Sequential"] and not outer[0].collapsed
    inner = [g for g in doc.groups.values() if g.parent is not None]
    assert len(inner) == 40 and all(g.collapsed for g in inner)
    ops, params = doc.group_summary(next(g.id for g in inner if g.label == "0"))
    assert (ops, params) == (1, 12)                       # linear; 3x3 weight and 3 bias


def test_each_iteration_shows_the_data_it_read_when_the_data_changes_between_steps(tmp_path):
    """Data a loop reads again unchanged is copied once; a new .data or an in-place change
    shows in the iteration that read it."""
    path = write_script(tmp_path, """
        import torch
        w = torch.ones(3, requires_grad=True)
        x = torch.tensor([1.0, 2.0, 3.0])
        opt = torch.optim.SGD([w], lr=0.1)
        for step in range(4):
            opt.zero_grad()
            (w * x).sum().backward()
            opt.step()
            if step == 1:
                x.data = torch.tensor([10.0, 20.0, 30.0])    # new data, same version
            if step == 2:
                x.mul_(2.0)                                   # in place: a new version
    """)
    xs, ws = {}, {}
    for iteration in (1, 2, 3):
        doc = run_script(path, timeout=60, iteration=iteration).document
        xs[iteration] = doc.node_by_label("x").params["value"]
        ws[iteration] = doc.node_by_label("w").params["value"]
    assert xs == {1: [1.0, 2.0, 3.0], 2: [10.0, 20.0, 30.0], 3: [20.0, 40.0, 60.0]}
    # the weights as each step used them (before its optimizer step)
    assert ws[1] == pytest.approx([0.9, 0.8, 0.7])
    assert ws[2] == pytest.approx([0.8, 0.6, 0.4])
    assert ws[3] == pytest.approx([-0.2, -1.4, -2.6])


def test_a_gradscaler_script_reports_its_loss_not_the_scaled_one(tmp_path):
    path = write_script(tmp_path, """
        import json
        import torch

        torch.manual_seed(0)
        model = torch.nn.Linear(4, 1)
        opt = torch.optim.SGD(model.parameters(), lr=0.05)
        scaler = torch.amp.GradScaler("cpu", init_scale=1024.0)
        x, y = torch.randn(16, 4), torch.randn(16, 1)
        losses = []
        for step in range(5):
            opt.zero_grad()
            with torch.autocast("cpu"):
                loss = torch.nn.functional.mse_loss(model(x).float(), y)
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
            losses.append(loss.item())
        with open("result.json", "w") as f:
            json.dump({"losses": losses}, f)
    """)
    result = run_script(path, timeout=120)
    assert result.status == "finished", result.error
    mine = json.loads((path.parent / "result.json").read_text())["losses"]
    assert max(mine) < 100                   # the scale (1024) is not in the script's losses
    close(result.losses, mine)
