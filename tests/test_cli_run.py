"""`gradstudio run FILE --json` on the bundled examples gives the tutorial's numbers; bad
files and bad graphs exit with code 2 and one line on stderr."""
import importlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from gradstudio import cli
from gradstudio.graph import fileio
from gradstudio.graph.document import Document
from gradstudio.runtime import session as session_module

EXAMPLES = Path(__file__).resolve().parent.parent / "resources" / "examples"
ENGINES = [m for m in (importlib.import_module(n) for n in ("engine", "torch")
                       if importlib.util.find_spec(n)) if hasattr(m, "tensor")]


@pytest.fixture(params=ENGINES, ids=lambda m: m.__name__)
def run_json(request, monkeypatch, capsys):
    """Runs `gradstudio run FILE --json` in this process on one engine; returns the object."""
    monkeypatch.setattr(session_module, "default_engine", lambda: request.param)

    def run(path, *extra):
        code = cli.main(["run", str(path), "--json", *extra])
        out = capsys.readouterr().out
        assert code == 0
        return json.loads(out)
    return run


def test_basic_grad(run_json):
    nodes = run_json(EXAMPLES / "basic_grad.json")["nodes"]
    assert (nodes["x"]["grad"], nodes["y"]["grad"]) == (3.0, 8.0)
    assert nodes["z"] == {"shape": [], "dtype": "float32", "data": 15.0, "grad": None,
                          "grad_fn": "AddBackward0", "is_leaf": False, "requires_grad": True}


def test_polynomial(run_json):
    assert run_json(EXAMPLES / "polynomial.json")["nodes"]["x"]["grad"] == 94.0


def test_leaf_and_grad_fn(run_json):
    nodes = run_json(EXAMPLES / "leaf_and_grad_fn.json")["nodes"]
    assert (nodes["w"]["grad"], nodes["x"]["grad"]) == ([5.0], [2.0])
    assert [nodes[k]["grad_fn"] for k in "aby"] == ["AddBackward0", "AddBackward0", "MulBackward0"]
    assert [nodes[k]["is_leaf"] for k in "abywx"] == [False, False, False, True, True]
    assert nodes["a"]["grad"] is None


def test_detach_no_grad(run_json):
    result = run_json(EXAMPLES / "detach_no_grad.json")
    nodes = result["nodes"]
    assert nodes["x"]["grad"] == [3.0]
    assert (nodes["y"]["grad_fn"], nodes["y"]["requires_grad"]) == ("MulBackward0", True)
    for label, data in (("z", [12.0]), ("w", [4.0])):
        assert nodes[label]["data"] == data
        assert (nodes[label]["grad_fn"], nodes[label]["requires_grad"]) == (None, False)
    assert "loss" not in result and result["device"] == "cpu"


def test_vector_jacobian(run_json):
    nodes = run_json(EXAMPLES / "vector_jacobian.json")["nodes"]
    assert nodes["inp"]["data"] == np.eye(5).tolist()
    assert nodes["inp"]["grad"] == (2 * (np.eye(5) + 1)).tolist()


def test_every_example_has_a_title_description_and_left_to_right_layout():
    for path in sorted(EXAMPLES.glob("*.json")):
        doc = fileio.load(path)
        assert doc.meta["title"] and len(doc.meta["description"]) > 40, path.name
        positions = {n.pos for n in doc.nodes.values()}
        assert len(positions) == len(doc.nodes), path.name
        for edge in doc.edges.values():
            assert doc.nodes[edge.src].pos[0] < doc.nodes[edge.dst].pos[0], path.name


def test_table_output(monkeypatch, capsys):
    monkeypatch.setattr(session_module, "default_engine", lambda: ENGINES[0])
    assert cli.main(["run", str(EXAMPLES / "basic_grad.json")]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "device: cpu"
    assert out[1].split() == ["node", "shape", "dtype", "data", "grad", "grad_fn", "is_leaf",
                              "requires_grad"]
    assert out[2].split() == ["x", "()", "float32", "2.", "3.", "None", "True", "True"]


def write(tmp_path, text, name="g.json"):
    path = tmp_path / name
    path.write_text(text)
    return path


def usage_error(capsys, *argv):
    assert cli.main(["run", *map(str, argv)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("gradstudio: ")
    return err.strip()


def test_bad_files_are_one_line_usage_errors(tmp_path, capsys):
    assert "cannot read" in usage_error(capsys, tmp_path / "missing.json")
    assert "not valid JSON" in usage_error(capsys, write(tmp_path, "{"))
    newer = write(tmp_path, json.dumps({"format": "gradstudio-graph", "version": 9}))
    assert "newer gradstudio (version 9)" in usage_error(capsys, newer)
    assert "--steps" in usage_error(capsys, EXAMPLES / "basic_grad.json", "--steps", "-1")


def test_failing_node_is_a_one_line_usage_error(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(session_module, "default_engine", lambda: ENGINES[0])
    doc = Document()
    a = doc.add_node("tensor", "a", {"value": [[1.0, 2.0, 3.0]] * 2}).id
    b = doc.add_node("tensor", "b", {"value": [1.0, 2.0, 3.0, 4.0]}).id
    m = doc.add_node("mul", "m").id
    doc.add_edge(a, "out", m, "input")
    doc.add_edge(b, "out", m, "other")
    path = tmp_path / "bad.json"
    fileio.save(doc, path)
    assert usage_error(capsys, path).endswith(
        "node 'm': mul: shapes (2, 3) and (4,) cannot broadcast")
    assert "unknown device" in usage_error(capsys, EXAMPLES / "basic_grad.json",
                                           "--device", "tpu")


def test_subprocess_bad_file_has_no_traceback(tmp_path):
    path = write(tmp_path, "\x00\x01 not json")
    out = subprocess.run([sys.executable, "-m", "gradstudio", "run", str(path), "--json"],
                         capture_output=True, text=True)
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr.startswith("gradstudio: ") and "Traceback" not in out.stderr



def test_training_hand_off_reports_losses(capsys):
    """A document with meta "training" trains through gradstudio.runtime.training: --json
    gives one loss per step and the training summary, the table ends with the loss line."""
    path = EXAMPLES / "xor.json"
    assert cli.main(["run", str(path), "--json", "--steps", "3"]) == 0
    printed = json.loads(capsys.readouterr().out)
    losses = printed["loss"]
    assert len(losses) == 3 and all(isinstance(v, float) and v > 0 for v in losses)
    assert printed["training"]["steps"] == 3 and printed["training"]["final_loss"] == losses[-1]
    assert cli.main(["run", str(path), "--steps", "3"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == (
        f"loss: {losses[0]:.6g} -> {losses[-1]:.6g} over 3 steps")


def test_training_warnings_reach_stderr(monkeypatch, capsys):
    """A trainer's warning (e.g. cuda ran out of memory, training went on on the cpu) is
    printed on stderr while the result still goes to stdout."""
    from gradstudio.runtime import training

    real_train = training.train

    def train_with_a_warning(session, steps=None, **options):
        result = real_train(session, steps=steps, **options)
        result.warnings.append("step 3: cuda ran out of memory; training on the cpu")
        return result

    monkeypatch.setattr(training, "train", train_with_a_warning)
    assert cli.main(["run", str(EXAMPLES / "xor.json"), "--steps", "5", "--json"]) == 0
    out, err = capsys.readouterr()
    assert len(json.loads(out)["loss"]) == 5
    assert err == "gradstudio: step 3: cuda ran out of memory; training on the cpu\n"


def _chain_file(tmp_path, value, *kinds):
    """x = tensor(value, requires_grad) -> kinds... -> sum -> backward, saved; returns the path."""
    doc = Document()
    ids = [doc.add_node("tensor", "x", {"value": value, "requires_grad": True}).id]
    for kind in kinds + ("sum", "backward"):
        ids.append(doc.add_node(kind, kind).id)
        doc.add_edge(ids[-2], "out", ids[-1], "input")
    path = tmp_path / "chain.json"
    fileio.save(doc, path)
    return path


def _run_on_engine(capsys, path, *extra):
    """(exit code, stdout, stderr) of `gradstudio run PATH *extra` on our engine (anomaly mode
    steps the engine's own backward plan, which PyTorch does not offer)."""
    code = cli.main(["run", str(path), *extra])
    out = capsys.readouterr()
    return code, out.out, out.err.strip()


def test_detect_anomaly_names_the_node_whose_backward_made_nan(tmp_path, capsys):
    path = _chain_file(tmp_path, [0.0, 4.0], "sqrt", "neg")
    code, out, _ = _run_on_engine(capsys, path, "--json")      # without the flag the NaN reaches x.grad
    assert code == 0 and json.loads(out)["nodes"]["x"]["grad"][0] in ("nan", "-inf", "inf")
    code, out, err = _run_on_engine(capsys, path, "--detect-anomaly")
    assert code == 2 and out == ""
    assert err.endswith("node 'sqrt': anomaly: the backward (SqrtBackward0) produced Inf") or \
        err.endswith("node 'sqrt': anomaly: the backward (SqrtBackward0) produced NaN"), err


def test_detect_anomaly_stops_at_the_forward_that_made_nan(tmp_path, capsys):
    path = _chain_file(tmp_path, [-1.0, 1.0], "log", "exp")
    code, _, err = _run_on_engine(capsys, path, "--detect-anomaly")
    assert code == 2 and err.endswith("node 'log': anomaly: the forward produced NaN")


@pytest.mark.parametrize("example", ["basic_grad.json", "xor.json"])
def test_detect_anomaly_on_a_clean_graph_prints_what_a_plain_run_prints(capsys, example):
    steps = ("--steps", "20")
    plain = _run_on_engine(capsys, EXAMPLES / example, "--json", *steps)
    checked = _run_on_engine(capsys, EXAMPLES / example, "--json", "--detect-anomaly", *steps)
    assert plain[0] == 0 and checked == plain
