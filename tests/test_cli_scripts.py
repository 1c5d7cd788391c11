"""The CLI on PyTorch scripts: run (table and JSON), import to a graph file that reproduces
the run, debug, and one-line errors."""
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from gradstudio.cli import main

SCRIPTS = Path(__file__).parent / "scripts"


@pytest.fixture
def mlp(tmp_path):
    shutil.copy(SCRIPTS / "module_mlp.py", tmp_path / "module_mlp.py")
    return tmp_path / "module_mlp.py"


def test_run_json_prints_one_object_and_the_scripts_output_goes_to_stderr(mlp, capsys):
    assert main(["run", str(mlp), "--json"]) == 0
    out, err = capsys.readouterr()
    result = json.loads(out)                       # stdout is exactly one JSON object
    assert "epoch 3 loss" in err
    assert len(result["loss"]) == 12               # 4 epochs of 3 batches
    saved = json.loads((mlp.parent / "result.json").read_text())
    assert result["loss"] == pytest.approx(saved["losses"], rel=1e-6)
    weight = result["nodes"]["fc1.weight"]
    assert weight["is_leaf"] and weight["requires_grad"] and weight["shape"] == [12, 2]
    np.testing.assert_allclose(weight["grad"], saved["grads"]["fc1.weight"], rtol=1e-4, atol=1e-7)


def test_steps_stops_the_script_and_the_table_names_the_nodes(mlp, capsys):
    assert main(["run", str(mlp), "--steps", "2"]) == 0
    out = capsys.readouterr().out
    assert "cross_entropy" in out and "fc2.bias" in out
    assert "over 2 steps" in out


def test_import_writes_a_graph_that_run_reproduces(mlp, tmp_path, capsys):
    graph = tmp_path / "mlp.json"
    assert main(["import", str(mlp), "-o", str(graph)]) == 0
    err = capsys.readouterr().err
    assert "3 groups" in err and "iteration 11 of 12" in err
    assert main(["run", str(mlp), "--json"]) == 0
    from_script = json.loads(capsys.readouterr().out)["nodes"]
    assert main(["run", str(graph), "--json"]) == 0
    from_graph = json.loads(capsys.readouterr().out)["nodes"]
    assert from_graph.keys() == from_script.keys()
    for label, info in from_script.items():
        assert from_graph[label]["data"] == info["data"], label
        assert from_graph[label]["grad"] == info["grad"], label
    saved = json.loads(graph.read_text())
    assert saved["version"] == 2 and {g["label"] for g in saved["groups"]} == {"MLP", "fc1", "fc2"}
    # ops are saved under PyTorch's public spelling, not the engine module that defines them
    functions = {n["params"]["function"] for n in saved["nodes"] if n["kind"] == "call"}
    assert {"engine.nn.functional.linear", "engine.nn.functional.relu"} <= functions


def test_import_of_another_iteration(mlp, tmp_path, capsys):
    graph = tmp_path / "first.json"
    assert main(["import", str(mlp), "-o", str(graph), "--iteration", "0"]) == 0
    assert "iteration 0 of 12" in capsys.readouterr().err
    assert main(["import", str(mlp), "-o", str(graph), "--iteration", "40"]) == 2
    assert "the script ran 12 iterations (0 to 11)" in capsys.readouterr().err


def test_errors_are_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.py"
    bad.write_text("import torch\nfrom torch.nn import FractionalMaxPool3d\n")
    assert main(["run", str(bad)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["gradstudio: bad.py: torch.nn.FractionalMaxPool3d is not in gradstudio's engine (bad.py:2)"]
    assert main(["run", str(tmp_path / "nope.py")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_debug_steps_a_scripts_backward(mlp, capsys):
    assert main(["debug", str(mlp)]) == 0
    out = capsys.readouterr().out
    assert "NllLossBackward0" in out and "AddmmBackward0" in out
