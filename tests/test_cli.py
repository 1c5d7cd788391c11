import subprocess
import sys


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "gradstudio", *args], capture_output=True, text=True)


def test_help_lists_subcommands():
    out = run_cli("--help")
    assert out.returncode == 0
    for name in ("run", "shot", "export"):
        assert name in out.stdout


def test_subcommand_missing_file_is_usage_error():
    out = run_cli("run")
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
