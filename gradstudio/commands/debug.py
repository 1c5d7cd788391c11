"""`gradstudio debug FILE [--stop-on-nan] [--norm-above X] [--norm-below X] [--break LABEL]`:
the backward pass printed step by step, as the debugger dock shows it.
`gradstudio debug FILE --why NAME`: runs forward and backward, then prints why NAME's
gradient is None or zero (runtime.why_grad), or the gradient it has; an unknown NAME is a
UsageError.

Prints the planned schedule (the engine's order), then for each executed node its
grad_fn, formula, the gradients it received, the chain rule with numbers for each
gradient it passed on (runtime.chain_rule: local derivative × upstream = product, merges
as contributions and their sum), saved tensors, hooks that fired and .grad accumulations. With a breakpoint condition it stops at the first step
that meets it and says why; stopped at a NaN/Inf, it also says where it came from
(runtime.nan_origin: the op's inputs and the values at fault). A bad file or a graph without a backward root raises
UsageError: exit code 2 and one line on stderr.
"""
from __future__ import annotations

import os

from gradstudio.cli import UsageError
from gradstudio.graph import fileio
from gradstudio.graph.document import GraphError
from gradstudio.runtime.chain_rule import chain_links, merge_text
from gradstudio.runtime.debugger import BackwardDebugger, Breakpoints, TraceStep, grad_text
from gradstudio.runtime.nan_origin import step_origin
from gradstudio.runtime.session import Session
from gradstudio.runtime.why_grad import UnknownName, why_grad


def main(args) -> int:
    from gradstudio.commands.import_script import is_script, recorded
    try:
        if is_script(args.file):         # a script: the backward of its last iteration
            doc = recorded(args.file, quiet_stdout=True)[0]
        else:
            doc = fileio.load(args.file)
    except GraphError as exc:
        raise UsageError(f"{args.file}: {exc}") from None
    session = Session(doc, base_dir=os.path.dirname(os.path.abspath(args.file)))
    if getattr(args, "why", None):
        return explain(session, args.why)
    breakpoints = Breakpoints(nan_or_inf=args.stop_on_nan, norm_above=args.norm_above,
                              norm_below=args.norm_below)
    for label in args.breakpoint or ():
        node = doc.node_by_label(label)
        if node is None:
            raise UsageError(f"--break: no node is labelled '{label}'")
        breakpoints.node_ids.add(node.id)
    debugger = BackwardDebugger(session)
    if not debugger.start():
        raise UsageError(f"{args.file}: {debugger.error}")
    print(f"plan: {len(debugger.plan)} backward nodes, in the order the engine runs them")
    for planned in debugger.plan:
        print(f"  {planned.index + 1:>3}. {planned.title()}")
    print(f"seed gradient {grad_text(debugger.seed)}")
    reason = None
    while reason is None and (step := debugger.step()) is not None:
        print(step_text(debugger, step))
        reason = breakpoints.reason(step)
    for message in session.messages:
        print(f"  log: {message}")
    if reason:
        origin = step_origin(session, debugger) if "NaN" in reason or "Inf" in reason else None
        if origin is not None:
            print("where it came from: " + "\n  ".join(origin.text().splitlines()))
        print(f"stopped: {reason}")
    elif debugger.error:
        print(debugger.error)
    return 0


def explain(session: Session, name: str) -> int:
    """Prints the answer to "why is NAME's gradient None or zero?" after a run."""
    session.run()
    try:
        answer = why_grad(session, name)
    except UnknownName as exc:
        labels = ", ".join(sorted(n.label for n in session.document.nodes.values()))
        raise UsageError(f"--why: {exc} (nodes: {labels})") from None
    print(answer.text())
    return 0


def step_text(debugger: BackwardDebugger, step: TraceStep) -> str:
    """One step as a few indented lines."""
    doc = debugger.document
    lines = [f"step {step.index + 1}: {step.planned.title()}"]
    if step.formula:
        lines.append(f"    {step.formula}")
    lines.append(f"    received {', '.join(grad_text(g) for g in step.grads_in) or '-'}")
    for link in chain_links(debugger, step):
        lines.append(f"    -> {link.formula()}")
    for flow in step.flows:
        if flow.target is None and flow.grad is None:
            lines.append("    -> (an input that needs no grad)")
    merged = set()
    for flow in step.flows:
        key = None if flow.target is None else \
            debugger.output_key(debugger.engine_node(flow.target), flow.input_nr)
        text = merge_text(debugger, key, step.index + 1) if key and key not in merged else None
        if text:
            merged.add(key)
            lines.append(f"    merge {text}")
    if step.saved:
        lines.append("    saved " + ", ".join(f"{name} = {text}" for name, text in step.saved))
    for hook in step.hooks:
        before = ", ".join(grad_text(g) for g in hook.before)
        after = ", ".join(grad_text(g) for g in hook.after)
        lines.append(f"    {hook.description}: {before} -> {after}")
    for acc in step.accumulations:
        lines.append(f"    {acc.label}.grad {grad_text(acc.before)} -> {grad_text(acc.after)}")
    return "\n".join(lines)
