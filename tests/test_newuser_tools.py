"""A new user's first commands (issue 16, item 15 but the file mode): installing prints no
setuptools deprecation warnings, `gradstudio shot` prints no Qt offscreen noise, and
`gradstudio run` lists the layers' weights and their gradients."""
import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from gradstudio import EXAMPLES, cli

ROOT = Path(__file__).resolve().parent.parent


def test_the_project_metadata_reads_without_deprecation_warnings():
    # setuptools is in the venv `make test` makes on Python <= 3.11, not on 3.12+; pip builds
    # with the newer one pyproject's build-system asks for (77+: a license string), so an older
    # one in the venv cannot read the file and says nothing about what an install prints
    setuptools = pytest.importorskip("setuptools")
    if int(setuptools.__version__.split(".")[0]) < 77:
        pytest.skip(f"setuptools {setuptools.__version__} in this venv; the build uses 77+")
    from setuptools.config.pyprojecttoml import read_configuration
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        config = read_configuration(ROOT / "pyproject.toml")
    # deprecations only: older setuptools (a fresh Python 3.11 venv's) also warns that
    # [tool.setuptools] support is "beta", which says nothing about this file
    deprecated = [str(w.message) for w in caught if "deprecat" in
                  f"{w.category.__name__} {w.message}".lower()]
    assert deprecated == []
    assert config["project"]["license"] == "MIT"


def test_run_lists_each_layers_weight_and_its_gradient(capsys):
    assert cli.main(["run", str(EXAMPLES / "xor.json"), "--steps", "3", "--json"]) == 0
    nodes = json.loads(capsys.readouterr().out)["nodes"]
    for name in ("hidden.weight", "hidden.bias", "logit.weight", "logit.bias"):
        assert nodes[name]["is_leaf"] and nodes[name]["requires_grad"], name
        assert nodes[name]["grad"] is not None, name
    assert len(nodes["hidden.weight"]["data"]) == 2            # Linear(2, 2): a 2x2 weight


def test_shot_prints_no_offscreen_plugin_noise(tmp_path):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-m", "gradstudio", "shot",
                           str(EXAMPLES / "basic_grad.json"), "-o", str(tmp_path / "g.png")],
                          capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "propagateSizeHints" not in done.stderr
    assert (tmp_path / "g.png").stat().st_size > 10_000
