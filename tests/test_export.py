"""`gradstudio export`: the exported scripts print the numbers `gradstudio run` prints."""
from __future__ import annotations

import contextlib
import io
import json
import math
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from gradstudio.cli import main as cli_main
from gradstudio.graph import fileio
from gradstudio.graph.catalog import CATALOG
from gradstudio.graph.document import Document
from gradstudio.runtime.export import ExportError, array_literal, export_script, identifier
from gradstudio.runtime.session import Session

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "resources" / "examples").glob("*.json"))
SHOW_LINE = re.compile(r"^(?P<label>.+?): data=(?P<data>.*) grad=(?P<grad>.*) "
                       r"grad_fn=(?P<grad_fn>\S+)$")
LOSS_LINE = re.compile(r"^step (?P<step>\d+): loss=(?P<loss>\S+)$")


# --------------------------------------------------------------------------- helpers
def parse_script_output(text: str) -> dict:
    """The printed lines as {"nodes": {label: {data, grad, grad_fn}}, "loss": [...]}."""
    nodes, losses = {}, []
    for line in text.splitlines():
        shown = SHOW_LINE.match(line)
        if shown:
            nodes[shown["label"]] = {"data": json.loads(shown["data"]),
                                     "grad": json.loads(shown["grad"]),
                                     "grad_fn": None if shown["grad_fn"] == "None"
                                     else shown["grad_fn"]}
            continue
        step = LOSS_LINE.match(line)
        if step:
            losses.append(float(step["loss"]))
    result = {"nodes": nodes}
    if losses:
        result["loss"] = losses
    return result


def as_array(value) -> np.ndarray:
    """Nested lists as floats; run's JSON writes non-finite numbers as "nan", "inf"."""
    def numbers(v):
        return [numbers(x) for x in v] if isinstance(v, list) else float(v)
    return np.array(numbers(value), dtype=float)


def assert_same_numbers(expected: dict, printed: dict, rtol: float, grad_fn: bool,
                        atol: float | None = None) -> None:
    atol = rtol if atol is None else atol
    assert set(printed["nodes"]) == set(expected["nodes"])
    for label, want in expected["nodes"].items():
        got = printed["nodes"][label]
        np.testing.assert_allclose(as_array(got["data"]), as_array(want["data"]), rtol=rtol,
                                   atol=atol, err_msg=f"{label}.data")
        assert (got["grad"] is None) == (want["grad"] is None), f"{label}.grad"
        if want["grad"] is not None:
            np.testing.assert_allclose(as_array(got["grad"]), as_array(want["grad"]), rtol=rtol,
                                       atol=atol, err_msg=f"{label}.grad")
        if grad_fn:
            assert got["grad_fn"] == want["grad_fn"], label
    assert ("loss" in printed) == ("loss" in expected)
    if "loss" in expected:
        np.testing.assert_allclose(printed["loss"], expected["loss"], rtol=rtol, atol=atol)


def run_script_in_subprocess(script: Path) -> str:
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    return done.stdout


def exec_script(text: str) -> str:
    """Runs an exported script in this process (quicker than a subprocess per op kind)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(text, "<exported>", "exec"), {"__name__": "__main__"})
    return out.getvalue()


def session_numbers(doc: Document) -> dict:
    from gradstudio.commands.run import as_json, node_infos
    session = Session(doc)
    assert session.run(), session.errors
    return json.loads(json.dumps(as_json("cpu", node_infos(session), None)))


# --------------------------------------------------------------------------- the examples
@pytest.fixture(scope="module")
def run_json():
    """`gradstudio run EXAMPLE --json`, run once per example (training ones take seconds)."""
    cache: dict[Path, dict] = {}

    def numbers(example: Path) -> dict:
        if example not in cache:
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                assert cli_main(["run", str(example), "--json"]) == 0
            cache[example] = json.loads(out.getvalue())
        return cache[example]
    return numbers


@pytest.fixture(scope="module")
def torch_printed(tmp_path_factory) -> dict[str, str]:
    """Every example's torch script, exported by the command and run in one subprocess
    (PyTorch's import costs seconds): example name -> what its script printed."""
    pytest.importorskip("torch")
    folder = tmp_path_factory.mktemp("torch_scripts")
    scripts = []
    for example in EXAMPLES:
        script = folder / f"{example.stem}.py"
        assert cli_main(["export", str(example), "--to", "torch", "-o", str(script)]) == 0
        text = script.read_text()
        assert "import torch\n" in text and "engine" not in text
        scripts.append(str(script))
    driver = ("import runpy, sys, torch\n"
              "torch.set_num_threads(1)\n"
              "for path in sys.argv[1:]:\n"
              "    print('=== ' + path, flush=True)\n"
              "    try:\n"
              "        runpy.run_path(path, run_name='__main__')\n"
              "    except Exception as exc:\n"
              "        print(f'!!! {type(exc).__name__}: {exc}', flush=True)\n")
    done = subprocess.run([sys.executable, "-c", driver, *scripts], capture_output=True,
                          text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    sections = re.split(r"^=== (.+)$", done.stdout, flags=re.M)[1:]
    return {Path(path).stem: text for path, text in zip(sections[::2], sections[1::2])}


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_exported_engine_script_prints_what_gradstudio_run_prints(example, tmp_path, run_json):
    script = tmp_path / "exported.py"
    assert cli_main(["export", str(example), "--to", "python", "-o", str(script)]) == 0
    printed = parse_script_output(run_script_in_subprocess(script))
    assert_same_numbers(run_json(example), printed, rtol=1e-5, grad_fn=True)


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_exported_torch_script_prints_what_gradstudio_run_prints(example, torch_printed,
                                                                 run_json):
    output = torch_printed[example.stem]
    assert "!!! " not in output, output[output.index("!!! "):]
    assert_same_numbers(run_json(example), parse_script_output(output), rtol=1e-4,
                        grad_fn=False)


def test_basic_grad_script_reads_like_the_tutorial():
    text = export_script(fileio.load(ROOT / "resources/examples/basic_grad.json"), "python")
    for line in ("import engine as torch", "x = torch.tensor(2.0, requires_grad=True)",
                 "xy = x * y", "y_squared = y ** 2.0", "z = xy + y_squared", "z.backward()"):
        assert line in text.splitlines()


# --------------------------------------------------------------------------- switches
def test_detach_no_grad_retain_grad_and_backward_arguments_are_written():
    doc = Document()
    x = doc.add_node("tensor", "x", {"value": [1.0, 2.0], "requires_grad": True}).id
    a = doc.add_node("mul", "a", {"scalar": 3.0, "retain_grad": True}).id
    b = doc.add_node("exp", "b").id
    frozen = doc.add_node("mul", "frozen", {"scalar": 2.0}).id
    g = doc.add_node("tensor", "g", {"value": [1.0, 0.5]}).id
    root = doc.add_node("backward", "backward", {"retain_graph": True}).id
    doc.add_edge(x, "out", a, "input")
    doc.add_edge(a, "out", b, "input")
    doc.add_edge(x, "out", frozen, "input", detach=True)
    doc.add_edge(b, "out", root, "input")
    doc.add_edge(g, "out", root, "gradient")
    doc.add_region("no_grad", [frozen])
    text = export_script(doc, "python")
    lines = text.splitlines()
    assert "a.retain_grad()" in lines
    assert "with torch.no_grad():" in lines
    assert lines[lines.index("with torch.no_grad():") + 1] == "    frozen = x.detach() * 2.0"
    assert "b.backward(gradient=g, retain_graph=True)" in lines
    printed = parse_script_output(exec_script(text))
    assert_same_numbers(session_numbers(doc), printed, rtol=1e-6, grad_fn=True)
    assert printed["nodes"]["a"]["grad"] is not None       # retained


@pytest.mark.parametrize("target", ["python", "torch"])
def test_gradient_hooks_on_leaves_and_ops_are_written(target):
    if target == "torch":
        pytest.importorskip("torch")
    doc = Document()
    x = doc.add_node("tensor", "x", {"value": [1.0, -2.0], "requires_grad": True}).id
    y = doc.add_node("pow", "y", {"scalar": 3.0}).id
    total = doc.add_node("sum", "total").id
    doc.add_edge(x, "out", y, "input")
    doc.add_edge(y, "out", total, "input")
    doc.set_hooks(y, [{"kind": "scale", "k": 0.5}])
    doc.set_hooks(x, [{"kind": "clamp", "min": -1.0, "max": 4.0}])
    doc.set_meta("root", "total")
    text = export_script(doc, target)
    assert "register_hook(lambda grad: grad * 0.5)" in text
    printed = parse_script_output(exec_script(text))
    assert printed["nodes"]["x"]["grad"] == [1.5, 4.0]     # 3x**2 / 2, clamped to 4
    assert_same_numbers(session_numbers(doc), printed, rtol=1e-6, grad_fn=target == "python")


def test_random_leaves_and_layers_are_reproduced_by_both_scripts():
    doc = Document()
    w = doc.add_node("tensor", "w", {"init": "randn", "shape": [3, 2], "seed": 7,
                                     "requires_grad": True}).id
    fc = doc.add_node("nn.Linear", "fc", {"in_features": 2, "out_features": 2, "seed": 3}).id
    loss = doc.add_node("mean", "loss").id
    doc.add_edge(w, "out", fc, "input")
    doc.add_edge(fc, "out", loss, "input")
    doc.set_meta("root", "loss")
    expected = session_numbers(doc)
    engine_text = export_script(doc, "python")
    assert "torch.manual_seed(7)" in engine_text and "torch.manual_seed(3)" in engine_text
    assert_same_numbers(expected, parse_script_output(exec_script(engine_text)), 1e-6, True)
    pytest.importorskip("torch")
    torch_text = export_script(doc, "torch")
    assert "manual_seed" not in torch_text and "written out as numbers" in torch_text
    assert "fc_layer.weight.copy_(" in torch_text
    assert_same_numbers(expected, parse_script_output(exec_script(torch_text)), 1e-5, False)


def test_labels_become_distinct_python_identifiers():
    taken: set[str] = set()
    names = [identifier(label, taken) for label in
             ("y squared", "2x", "class", "torch", "a-b", "a_b", "", "optimizer")]
    assert names == ["y_squared", "v_2x", "class_", "torch_", "a_b", "a_b_2", "v",
                     "optimizer_"]
    assert all(n.isidentifier() for n in names)


def test_array_literals_read_back_to_the_same_float32_numbers():
    values = np.array([[0.1, -2.5e-8, 1e20], [math.pi, 0.0, 3.0]], dtype=np.float32)
    text = array_literal(values)
    assert "\n" in text                                     # one row per line
    assert np.array_equal(np.array(eval(text), dtype=np.float32), values)   # noqa: S307
    assert array_literal(np.array([np.nan, np.inf])) == "[float('nan'), float('inf')]"


# --------------------------------------------------------------------------- every catalog kind
EXPORTABLE = sorted(kind for kind, spec in CATALOG.items() if spec.sample_inputs)


@pytest.mark.parametrize("target", ["python", "torch"])
@pytest.mark.parametrize("kind", EXPORTABLE)
def test_every_catalog_kind_exports_from_its_row(kind, target):
    """A row's `code` is all an op needs: its exported script gives the session's numbers."""
    if target == "torch":
        pytest.importorskip("torch")
        if kind == "nn.Dropout":
            pytest.skip("dropout masks come from each library's own random generator")
    spec = CATALOG[kind]
    assert spec.code is not None and (spec.make_module is None) == (spec.module_code is None)
    doc = Document()
    node = doc.add_node(kind, "op", dict(spec.sample_params)).id
    for k, (port, sample) in enumerate(spec.sample_inputs):
        params = {"dtype": "float32", "requires_grad": k == 0}
        if isinstance(sample, tuple):
            params.update(init="randn", shape=list(sample), seed=k)
        else:
            params.update(value=sample, requires_grad=False)
        doc.add_edge(doc.add_node("tensor", f"in_{port}", params).id, "out", node, port)
    session = Session(doc)
    session.forward()
    if session.errors.get(node, "").startswith("engine"):
        pytest.skip(session.errors[node])
    if session.info("op").requires_grad:
        total = doc.add_node("sum", "total").id
        doc.add_edge(node, "out", total, "input")
        doc.set_meta("root", "total")
    expected = session_numbers(doc)
    printed = parse_script_output(exec_script(export_script(doc, target)))
    if target == "python":
        assert_same_numbers(expected, printed, rtol=1e-5, grad_fn=True)
    else:   # float32 rounding differs: LayerNorm's zero gradients come out near 1e-4
        assert_same_numbers(expected, printed, rtol=1e-4, atol=1e-3, grad_fn=False)


# --------------------------------------------------------------------------- the command
def test_export_to_stdout_and_bad_files_are_one_line_errors(tmp_path, capsys):
    example = ROOT / "resources/examples/polynomial.json"
    assert cli_main(["export", str(example), "--to", "python"]) == 0
    assert "x_cubed = x ** 3.0" in capsys.readouterr().out
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert cli_main(["export", str(bad), "--to", "torch"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("gradstudio: ") and err.count("\n") == 1
    assert cli_main(["export", str(example), "--to", "python",
                     "-o", str(tmp_path / "missing" / "out.py")]) == 2
    assert "cannot write" in capsys.readouterr().err


def test_a_failing_node_is_refused_with_its_label():
    doc = Document()
    a = doc.add_node("tensor", "a", {"value": [1.0, 2.0]}).id
    b = doc.add_node("tensor", "b", {"value": [1.0, 2.0, 3.0]}).id
    m = doc.add_node("matmul", "bad").id
    doc.add_edge(a, "out", m, "input")
    doc.add_edge(b, "out", m, "other")
    with pytest.raises(ExportError, match="node 'bad'"):
        export_script(doc, "python")
