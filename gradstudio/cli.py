"""Command line: `gradstudio [FILE]` opens the editor; `run`, `shot`, `export` work headless."""
from __future__ import annotations

import argparse
import sys

SUBCOMMANDS = ("run", "shot", "export", "debug")


class UsageError(Exception):
    """A problem the user can fix: printed as one line, exit code 2, never a traceback."""


def _editor_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="gradstudio",
        description="Open the gradstudio editor. Subcommands: "
                    "run FILE (headless forward/backward/training), "
                    "shot FILE -o PNG (render a screenshot), "
                    "export FILE --to python|torch (write a script), "
                    "debug FILE (print the backward pass step by step).")
    p.add_argument("file", nargs="?", help="graph file (.json); the default example when omitted")
    return p


def _sub_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="gradstudio")
    sub = p.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run a graph headless: forward, backward, training")
    run.add_argument("file")
    run.add_argument("--device", default="cpu", help="cpu or cuda")
    run.add_argument("--cpu-fallback", action="store_true",
                     help="run on the cpu (with a warning) when cuda is not available, "
                          "instead of exiting with code 2")
    run.add_argument("--steps", type=int, default=None, help="training steps (default: the document's)")
    run.add_argument("--json", action="store_true", help="print one JSON object")
    run.add_argument("--detect-anomaly", action="store_true",
                     help="stop at the node whose forward or backward first makes NaN/Inf")
    shot = sub.add_parser("shot", help="render the main window with FILE loaded and run to a PNG")
    shot.add_argument("file")
    shot.add_argument("-o", "--output", required=True, metavar="PNG", help="the .png to write")
    shot.add_argument("--size", default="1400x900", help="window size WxH in pixels (1400x900)")
    shot.add_argument("--theme", choices=("light", "dark"), default="light",
                      help="colour theme (light)")
    shot.add_argument("--select", default=None, metavar="LABEL",
                      help="select this node, so the Inspector shows it")
    shot.add_argument("--why", default=None, metavar="NAME",
                      help="ask why NAME's gradient is None or zero: the answer's dock and "
                           "its path on the canvas")
    shot.add_argument("--detect-anomaly", action="store_true",
                      help="run with anomaly mode on: stop at the node that first makes "
                           "NaN/Inf, the Inspector showing where it came from")
    shown = shot.add_mutually_exclusive_group()
    shown.add_argument("--debug-step", type=int, default=None, metavar="N",
                       help="open the debugger, plan the backward pass and take N steps")
    shown.add_argument("--train-steps", type=int, default=None, metavar="N",
                       help="open the training dashboard and train N steps first")
    export = sub.add_parser("export", help="write the graph as an engine or PyTorch script")
    export.add_argument("file")
    export.add_argument("--to", choices=("python", "torch"), required=True)
    export.add_argument("-o", "--output", default=None)
    debug = sub.add_parser("debug", help="print the backward pass node by node, as the debugger")
    debug.add_argument("file")
    debug.add_argument("--stop-on-nan", action="store_true", help="stop at the first NaN/Inf")
    debug.add_argument("--norm-above", type=float, default=None, help="stop at a gradient norm above")
    debug.add_argument("--norm-below", type=float, default=None, help="stop at a gradient norm below")
    debug.add_argument("--break", dest="breakpoint", action="append", metavar="LABEL",
                       help="stop after the step of this node (repeatable)")
    debug.add_argument("--why", metavar="NAME", default=None,
                       help="run forward and backward, then say why NAME's gradient is None "
                            "or zero (a node label, or LABEL.weight for a layer's parameter)")
    return p


def _dispatch(args: argparse.Namespace) -> int:
    import importlib

    # imported on demand: only `shot` (and the editor) load Qt
    return importlib.import_module(f"gradstudio.commands.{args.command}").main(args)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        if argv and argv[0] in SUBCOMMANDS:
            return _dispatch(_sub_parser().parse_args(argv))
        args = _editor_parser().parse_args(argv)
        from gradstudio.ui.app import launch

        return launch(args.file)
    except UsageError as exc:
        print(f"gradstudio: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
