"""`gradstudio import SCRIPT.py -o GRAPH.json [--iteration K] [--steps N]`: record a script.

Runs the script on the engine (gradstudio.runtime.script_run), turns the recorded iteration
(the last by default) into a document and saves it: an ordinary graph file, groups included,
that `gradstudio run GRAPH.json` runs to the same values and gradients.

`recorded(path, ...)` is what every command that takes a graph file uses for a .py: the
script's output goes to stdout (stderr with `quiet_stdout`, so --json keeps stdout for the
one JSON object); a script that fails prints its own traceback to stderr and raises
UsageError with the one line a person reads.
"""
from __future__ import annotations

import os
import sys

from gradstudio.cli import UsageError


def is_script(path: str | os.PathLike) -> bool:
    return os.fspath(path).lower().endswith(".py")


def recorded(path: str | os.PathLike, steps: int | None = None, iteration: int | None = None,
             quiet_stdout: bool = False, keep_partial: bool = False):
    """(document, ScriptResult) for a script run to its end."""
    from gradstudio.runtime.script_run import run_script
    if not os.path.isfile(path):
        raise UsageError(f"no such file: {path}")
    if steps is not None and steps < 1:
        raise UsageError("--steps must be 1 or more for a script")

    def echo(stream: str, text: str) -> None:
        out = sys.stderr if (stream == "stderr" or quiet_stdout) else sys.stdout
        out.write(text)
        out.flush()

    result = run_script(path, steps=steps, iteration=iteration, echo=echo)
    if result.error:
        if result.details:
            sys.stderr.write(result.details if result.details.endswith("\n")
                             else result.details + "\n")
        if not (keep_partial and result.document is not None):
            raise UsageError(f"{os.path.basename(os.fspath(path))}: {result.error}")
    if iteration is not None and result.iteration != iteration:
        raise UsageError(f"--iteration {iteration}: the script ran {result.iterations} "
                         f"iteration{'s' if result.iterations != 1 else ''} (0 to "
                         f"{max(result.iterations - 1, 0)})")
    if result.document is None or not result.document.nodes:
        raise UsageError(f"{os.path.basename(os.fspath(path))}: the script ran no engine ops "
                         f"to show")
    return result.document, result


def main(args) -> int:
    from gradstudio.graph import fileio
    output = args.output
    if not output.lower().endswith(".json"):
        raise UsageError(f"the output must be a .json graph file, not '{output}'")
    doc, result = recorded(args.file, steps=args.steps, iteration=args.iteration,
                           keep_partial=True)
    try:
        fileio.save(doc, output)
    except (OSError, fileio.FileFormatError) as exc:
        raise UsageError(f"cannot write {output}: {getattr(exc, 'strerror', None) or exc}") \
            from None
    groups = len(doc.groups)
    print(f"gradstudio: wrote {output}: {len(doc.nodes)} nodes, {len(doc.edges)} edges, "
          f"{groups} group{'s' if groups != 1 else ''} (iteration {result.iteration} of "
          f"{result.iterations})", file=sys.stderr)
    return 1 if result.error else 0
