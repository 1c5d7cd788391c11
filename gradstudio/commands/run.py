"""`gradstudio run FILE [--device cpu|cuda] [--cpu-fallback] [--steps N] [--json] [--detect-anomaly]`:
run a graph headless. A device that cannot be used is an error (exit 2) unless --cpu-fallback
is given: then the run goes to the cpu with a warning on stderr.

Loads the file, runs forward and backward (and training when the document defines it),
then prints each node's data, grad, grad_fn, is_leaf and requires_grad as a table, or as
one JSON object with --json:

    {"device": "cpu", "nodes": {LABEL: {"shape", "dtype", "data", "grad", "grad_fn",
                                        "is_leaf", "requires_grad"}}, "loss": [...]}

data and grad are nested lists (non-finite numbers as "nan", "inf", "-inf", as in graph
files); "loss" is present only when training ran: when the document's meta has "training",
`training.train(session, steps=N or None)` runs and returns the per-step losses, with
"training": {"steps", "final_loss", "accuracy", "val_loss", "grad_norms",
"mean_grad_norms"} (per-parameter norms: at the last step and averaged over the steps)
and "health": [{"step", "layers": {LABEL: {"kind", "activation_mean", "activation_std",
"dead_fraction", "saturated_fraction", "grad_norm", "grad_ratio"}}, "verdicts": [...]}]
sampled about ten times over the run (runtime.health).
A bad file, a bad graph or a node that fails raises UsageError: exit code 2 and one line
on stderr. With --detect-anomaly the run stops at the node whose forward or backward first
made NaN/Inf (the window's Run > Detect anomalies) and names it that way; training, if any,
then runs under engine.autograd.detect_anomaly, so a NaN in a step names its op.
"""
from __future__ import annotations

import json
import os
import sys
from typing import Any

import numpy as np

from gradstudio.cli import UsageError
from gradstudio.graph import fileio
from gradstudio.graph.document import GraphError
from gradstudio.runtime import training
from gradstudio.runtime.anomaly import run_detecting_anomaly
from gradstudio.runtime.session import (NodeInfo, Session, default_engine, device_problem,
                                        tensor_info)


def main(args) -> int:
    if args.steps is not None and args.steps < 0:
        raise UsageError("--steps must be zero or more")
    try:
        doc = fileio.load(args.file)
    except GraphError as exc:
        raise UsageError(f"{args.file}: {exc}") from None
    problem = device_problem(default_engine(), args.device)
    if problem and not (args.cpu_fallback and args.device.startswith("cuda")):
        # a script asked for this device: it must not get another one by surprise
        hint = "; add --cpu-fallback to run on the cpu instead" \
            if args.device.startswith("cuda") else ""
        raise UsageError(f"{problem}{hint}")
    try:
        session = Session(doc, device=args.device, fallback=True,
                          base_dir=os.path.dirname(os.path.abspath(args.file)))
        for message in session.messages:
            print(f"gradstudio: {message}", file=sys.stderr)
        anomaly = getattr(args, "detect_anomaly", False)
        if anomaly:
            run_detecting_anomaly(session)
        else:
            session.run()
        if session.errors:
            trained = None
        else:
            with session.engine.autograd.set_detect_anomaly(anomaly):
                trained = _train(session, args.steps)
        losses = None if trained is None else trained.losses
        for warning in [] if trained is None else trained.warnings:
            print(f"gradstudio: {warning}", file=sys.stderr)
    except GraphError as exc:
        raise UsageError(f"{args.file}: {exc}") from None
    failure = first_failure(session)
    if failure:
        raise UsageError(f"{args.file}: {failure}")
    infos = node_infos(session)
    result = as_json(session.device, infos, losses)
    if trained is not None:
        result["training"] = fileio.json_safe(trained.summary())
        result["health"] = fileio.json_safe([h.as_json() for h in trained.health])
    text = json.dumps(result) if args.json else as_table(session.device, infos, losses)
    try:
        print(text, flush=True)
    except BrokenPipeError:                 # e.g. `gradstudio run g.json | head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


def _train(session: Session, steps: int | None) -> Any:
    """The TrainingResult when the document defines training, else None."""
    if "training" not in session.document.meta:
        return None
    return training.train(session, steps=steps, health_every=-1)


def first_failure(session: Session) -> str | None:
    """The first failing node in run order, as "node 'LABEL': why"."""
    for node_id in session.document.topological_order():
        if node_id in session.errors:
            label = session.document.nodes[node_id].label
            return f"node '{label}': {session.errors[node_id]}"
    return None


def node_infos(session: Session) -> dict[str, NodeInfo]:
    """LABEL (first output) or LABEL.PORT (further outputs) -> NodeInfo, in run order; a
    layer's Parameters follow it as LABEL.weight, LABEL.bias, ... (their .grad is what
    training and the optimizer use)."""
    infos: dict[str, NodeInfo] = {}
    doc = session.document
    for node_id in doc.topological_order():
        node = doc.nodes[node_id]
        for k, port in enumerate(doc.spec(node).outputs):
            info = session.info(node_id, port.name)
            if info.shape is not None:
                infos[node.label if k == 0 else f"{node.label}.{port.name}"] = info
        module = session.modules.get(node_id)
        for name, parameter in module.named_parameters() if module is not None else ():
            infos[f"{node.label}.{name}"] = tensor_info(node, name, parameter)
    return infos


def _plain(array: np.ndarray | None) -> Any:
    return None if array is None else fileio.json_safe(array.tolist())


def as_json(device: str, infos: dict[str, NodeInfo], losses: list[float] | None) -> dict:
    result: dict[str, Any] = {"device": device, "nodes": {
        label: {"shape": list(info.shape), "dtype": info.dtype, "data": _plain(info.data),
                "grad": _plain(info.grad), "grad_fn": info.grad_fn, "is_leaf": info.is_leaf,
                "requires_grad": info.requires_grad}
        for label, info in infos.items()}}
    if losses is not None:
        result["loss"] = fileio.json_safe(losses)
    return result


def _brief(array: np.ndarray | None, width: int = 40) -> str:
    if array is None:
        return "None"
    text = np.array2string(array, precision=4, threshold=6, edgeitems=2,
                           max_line_width=10_000).replace("\n", "")
    return text if len(text) <= width else text[:width - 3] + "..."


def as_table(device: str, infos: dict[str, NodeInfo], losses: list[float] | None) -> str:
    header = ("node", "shape", "dtype", "data", "grad", "grad_fn", "is_leaf", "requires_grad")
    rows = [header] + [(label, str(info.shape), info.dtype, _brief(info.data), _brief(info.grad),
                        str(info.grad_fn), str(info.is_leaf), str(info.requires_grad))
                       for label, info in infos.items()]
    widths = [max(len(row[c]) for row in rows) for c in range(len(header))]
    lines = [f"device: {device}"]
    lines += ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    if losses:
        lines.append(f"loss: {losses[0]:.6g} -> {losses[-1]:.6g} over {len(losses)} steps")
    return "\n".join(lines)
