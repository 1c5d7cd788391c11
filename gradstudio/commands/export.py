"""`gradstudio export FILE --to python|torch [-o OUT]`: write a graph as a runnable script.

`--to python` writes a script for gradstudio's engine (`import engine as torch`), `--to torch`
one for PyTorch; both rebuild the graph, run it and print what `gradstudio run` prints (see
`gradstudio.runtime.export`). Without -o the script goes to stdout. A bad file, a graph
that cannot run or an unwritable OUT raises UsageError: exit code 2 and one line on stderr.
"""
from __future__ import annotations

import os
import sys

from gradstudio.cli import UsageError
from gradstudio.graph import fileio
from gradstudio.graph.document import GraphError
from gradstudio.runtime.export import export_script


def main(args) -> int:
    base_dir = os.path.dirname(os.path.abspath(args.file))
    try:
        doc = fileio.load(args.file)
        text = export_script(doc, args.to, source=args.file, base_dir=base_dir)
    except GraphError as exc:
        raise UsageError(f"{args.file}: {exc}") from None
    if args.output is None:
        sys.stdout.write(text)
        return 0
    try:
        with open(args.output, "w", encoding="utf-8") as f:
            f.write(text)
    except OSError as exc:
        raise UsageError(f"cannot write {args.output}: {exc.strerror or exc}") from None
    return 0
