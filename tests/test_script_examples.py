"""The example scripts in resources/examples print the same losses on the engine as under
PyTorch (float32, within 1e-4 relative), and each opens as a graph with its module groups."""
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from gradstudio.runtime.script_run import run_script

EXAMPLES = Path(__file__).resolve().parents[1] / "resources" / "examples"
SCRIPTS = sorted(EXAMPLES.glob("*.py"))
NUMBER = re.compile(r"-?\d+\.\d+")


def numbers(text):
    return [float(x) for x in NUMBER.findall(text)]


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: p.stem)
def test_example_script_matches_pytorch(path):
    pytest.importorskip("torch")
    result = run_script(path, timeout=300)
    assert result.status == "finished", result.error
    mine = "".join(result.stdout)
    theirs = subprocess.run([sys.executable, path.name], cwd=path.parent, capture_output=True,
                            text=True, timeout=300, check=True).stdout
    assert len(numbers(mine)) == len(numbers(theirs)) > 3
    np.testing.assert_allclose(numbers(mine), numbers(theirs), rtol=1e-4, atol=1e-6)
    doc = result.document
    assert doc.meta["root"] and doc.groups or path.stem == "two_layer_manual_sgd"


def test_there_are_three_example_scripts():
    assert {p.stem for p in SCRIPTS} >= {"two_layer_manual_sgd", "mlp_dataloader", "small_cnn"}
