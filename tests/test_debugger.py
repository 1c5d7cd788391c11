"""The step-through backward debugger (runtime level): the engine's order, accumulation as it
arrives, detach, hooks, breakpoints, stepping back and forth, layers, errors."""
import importlib.util
from pathlib import Path

import numpy as np
import pytest

from gradstudio.graph import fileio
from gradstudio.graph.catalog import CATALOG
from gradstudio.graph.document import Document, GraphError
from gradstudio.graph.grad_hooks import check_hooks, make_hook
from gradstudio.runtime.debugger import BackwardDebugger, Breakpoints, ForwardWalk
from gradstudio.runtime.session import Session


def leaf(doc, label, value, requires_grad=True):
    return doc.add_node("tensor", label, {"value": value, "requires_grad": requires_grad}).id


def op(doc, kind, label, *sources, **params):
    node = doc.add_node(kind, label, params)
    for port, source in zip([p.name for p in CATALOG[kind].inputs], sources):
        if source is not None:
            doc.add_edge(source, "out", node.id, port)
    return node.id


def xw_graph(a_first=True):
    """y = (w + x) * (w + 1) with w=[1.] (requires grad), x=[2.]. With a_first the forward
    runs a = w + x before b = w + 1, as the PyTorch script does; else b runs first (each is
    added to the document, and so built, in that order)."""
    doc = Document()
    if a_first:
        x, w = leaf(doc, "x", [2.0], requires_grad=False), leaf(doc, "w", [1.0])
        a = op(doc, "add", "a", w, x)
        b = op(doc, "add", "b", w, None, scalar=1.0)
    else:
        w, x = leaf(doc, "w", [1.0]), leaf(doc, "x", [2.0], requires_grad=False)
        b = op(doc, "add", "b", w, None, scalar=1.0)
        a = op(doc, "add", "a", w, x)
    y = op(doc, "mul", "y", a, b)
    op(doc, "backward", "backward", y)
    return doc


def started(doc):
    debugger = BackwardDebugger(Session(doc))
    assert debugger.start(), debugger.error
    return debugger


def labels(debugger):
    return [(p.name, p.label) for p in debugger.plan]


def torch_order(a_first):
    """The node order PyTorch itself runs for the same script, observed with prehooks."""
    import torch
    w, x = torch.tensor([1.0], requires_grad=True), torch.tensor([2.0])
    if a_first:
        a = torch.add(w, x)
        b = torch.add(w, 1)
    else:
        b = torch.add(w, 1)
        a = torch.add(w, x)
    y = torch.mul(a, b)
    ran = []
    for t, name in ((y, "y"), (a, "a"), (b, "b")):
        t.grad_fn.register_prehook(lambda g, n=name: ran.append(n))
    y.backward()
    return ran


@pytest.mark.parametrize("a_first", [True, False])
def test_schedule_is_the_engines_order(a_first):
    debugger = started(xw_graph(a_first))
    later, earlier = ("b", "a") if a_first else ("a", "b")   # the later-created add runs first
    expected = [("MulBackward0", "y"), ("AddBackward0", later), ("AddBackward0", earlier),
                ("AccumulateGrad", "w")]
    assert labels(debugger) == expected
    debugger.run()
    assert [(s.planned.name, s.planned.label) for s in debugger.trace] == expected
    if importlib.util.find_spec("torch"):
        assert [label for _, label in expected[:3]] == torch_order(a_first)


def test_w_accumulates_3_then_5_as_pytorch_orders_it():
    debugger = started(xw_graph(a_first=True))
    w = (debugger.document.node_by_label("w").id, "out")
    received = []
    while (step := debugger.step()) is not None:
        received.append([g.value for g in step.state.contributions.get(w, ())])
    # b's AddBackward0 sends 3 first, a's sends 2: the pending sum is 3, then 5
    assert received[-1] == [3.0, 5.0]
    last = debugger.trace[-1]
    assert [(a.label, a.before, a.after.value) for a in last.accumulations] == [("w", None, 5.0)]
    assert last.state.grad_attrs[w].value == 5.0
    assert debugger.session.value("w").grad.tolist() == [5.0]
    # until AccumulateGrad ran, w.grad was still None
    assert debugger.trace[-2].state.grad_attrs[w] is None


def test_other_forward_order_gives_2_then_5():
    debugger = started(xw_graph(a_first=False))
    debugger.run()
    w = (debugger.document.node_by_label("w").id, "out")
    assert [g.value for g in debugger.state.contributions[w]] == [2.0, 5.0]


def test_step_details_name_formula_saved_and_flows():
    debugger = started(xw_graph())
    doc = debugger.document
    mul = debugger.step()
    assert mul.formula.startswith("MulBackward0:") and "grad * other" in mul.formula
    assert dict(mul.saved) == {"self": "3", "other": "2"}              # a = 3, b = 2
    assert [g.value for g in mul.grads_in] == [1.0]
    flows = {doc.nodes[f.target_node_id].label: f.grad.value for f in mul.flows}
    assert flows == {"a": 2.0, "b": 3.0}
    edge_ends = {(doc.edges[e].src, doc.edges[e].dst_port) for f in mul.flows for e in f.edge_ids}
    assert edge_ends == {(doc.node_by_label("a").id, "input"), (doc.node_by_label("b").id, "other")}
    b_out = (doc.node_by_label("b").id, "out")
    assert b_out in mul.state.final and mul.state.grads[b_out].value == 3.0


def test_detached_edge_leaves_upstream_grads_none():
    doc = xw_graph()
    b = doc.node_by_label("b").id
    edge = next(e for e in doc.edges.values() if e.src == b)
    doc.set_edge_detach(edge.id, True)
    debugger = started(doc)
    assert labels(debugger) == [("MulBackward0", "y"), ("AddBackward0", "a"),
                                ("AccumulateGrad", "w")]
    debugger.run()
    assert (b, "out") in debugger.unreached()
    assert debugger.session.info("b").grad is None
    assert debugger.session.value("w").grad.tolist() == [2.0]


def test_scale_by_10_hook_multiplies_the_leaf_grad():
    doc = xw_graph()
    w = doc.node_by_label("w").id
    doc.set_hooks(w, [make_hook("scale", k=10.0)])
    debugger = started(doc)
    debugger.run()
    assert debugger.session.value("w").grad.tolist() == [50.0]
    (firing,) = [h for s in debugger.trace for h in s.hooks]
    assert "scale ×10" in firing.description
    assert (firing.before[0].value, firing.after[0].value) == (5.0, 50.0)


def test_hook_on_an_intermediate_and_log_hook_message():
    doc = xw_graph()
    doc.set_hooks(doc.node_by_label("b").id, [make_hook("zero"), make_hook("log")])
    debugger = started(doc)
    debugger.run()
    assert debugger.session.value("w").grad.tolist() == [2.0]       # only a's path counts
    assert any("hook on b" in m and "norm 0" in m for m in debugger.session.messages)


def sqrt_graph():
    """s = sum(3 * sqrt(x)) with x = [-1, 4]: sqrt(-1) is NaN, and so is its gradient."""
    doc = Document()
    x = leaf(doc, "x", [-1.0, 4.0])
    q = op(doc, "sqrt", "q", x)
    m = op(doc, "mul", "m", q, None, scalar=3.0)
    op(doc, "backward", "backward", op(doc, "sum", "s", m))
    return doc


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_nan_breakpoint_stops_at_the_node_that_produced_it():
    debugger = started(sqrt_graph())
    reason = debugger.run(Breakpoints(nan_or_inf=True))
    assert reason is not None and "NaN" in reason
    assert (debugger.current.planned.name, debugger.current.planned.label) == ("SqrtBackward0", "q")
    assert all(g.finite for s in debugger.trace[:-1] for g in s.grads())
    assert not debugger.finished
    assert debugger.run() is None and debugger.finished


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_norm_thresholds_and_run_to_node():
    doc = xw_graph()
    debugger = started(doc)
    assert "> 2.5" in debugger.run(Breakpoints(norm_above=2.5))
    assert debugger.current.planned.name == "MulBackward0"           # it passed on 3
    debugger.start()
    assert "< 2.5" in debugger.run(Breakpoints(norm_below=2.5))
    assert debugger.current.planned.name == "MulBackward0"           # it passed on 2
    debugger.start()
    assert debugger.run_to_node(doc.node_by_label("a").id) == "breakpoint on a"
    assert debugger.current.planned.label == "a" and debugger.position == 3


def test_step_back_and_forward_reproduce_the_same_states():
    debugger = started(xw_graph())
    debugger.run()
    taken = list(debugger.trace)
    runs = dict(debugger.session.run_counts)
    debugger.seek(0)
    assert debugger.current is None and debugger.state is debugger.initial
    again = [debugger.step() for _ in taken]
    assert again == taken and debugger.step() is None                  # re-shown, not re-run
    debugger.step_back()
    debugger.step_back()
    assert debugger.current is taken[1]
    assert debugger.session.run_counts == runs
    fresh = started(xw_graph())
    fresh.run()
    for old, new in zip(taken, fresh.trace):
        assert old.planned == new.planned
        assert {k: g.array.tolist() for k, g in old.state.grads.items()} == \
               {k: g.array.tolist() for k, g in new.state.grads.items()}


def test_restart_after_partial_steps_runs_forward_again_and_clears_grads():
    debugger = started(xw_graph())
    debugger.step()
    debugger.step()
    assert debugger.start()
    debugger.run()
    assert debugger.session.value("w").grad.tolist() == [5.0]
    assert debugger.start()                                          # grads do not pile up
    debugger.run()
    assert debugger.session.value("w").grad.tolist() == [5.0]


def test_retain_grad_shows_the_intermediate_grad():
    doc = xw_graph()
    a = doc.node_by_label("a").id
    doc.set_param(a, "retain_grad", True)
    debugger = started(doc)
    debugger.run()
    assert debugger.state.grad_attrs[(a, "out")].value == 2.0


def test_layer_parameters_and_inner_nodes_map_to_their_document_nodes():
    doc = Document()
    x = doc.add_node("tensor", "x", {"init": "randn", "shape": [4, 3]}).id
    t = doc.add_node("tensor", "t", {"init": "zeros", "shape": [4, 2]}).id
    fc = op(doc, "nn.Linear", "fc", x, in_features=3, out_features=2)
    loss = op(doc, "mse_loss", "loss", fc, t)
    op(doc, "backward", "backward", loss)
    debugger = started(doc)
    assert {p.node_id for p in debugger.plan} <= {fc, loss}
    debugger.run()
    written = {a.key for s in debugger.trace for a in s.accumulations}
    assert written == {(fc, "weight"), (fc, "bias")}
    assert debugger.key_label((fc, "weight")) == "fc.weight"


def test_no_root_is_a_sentence_not_a_crash():
    doc = Document()
    leaf(doc, "w", 1.0)
    debugger = BackwardDebugger(Session(doc))
    assert not debugger.start()
    assert "no backward root" in debugger.error
    assert debugger.step() is None


def test_forward_walk_lists_nodes_in_run_order():
    walk = ForwardWalk(Session(xw_graph()))
    walk.start()
    assert [s.label for s in walk.steps] == ["x", "w", "a", "b", "y", "backward"]
    walk.step()
    walk.step()
    assert walk.shown() == [walk.steps[0].node_id, walk.steps[1].node_id]
    assert "grad_fn AddBackward0" in walk.steps[2].text
    assert "leaf, requires grad" in walk.steps[1].text


def test_hooks_are_checked_and_survive_save_and_load(tmp_path):
    doc = xw_graph()
    w = doc.node_by_label("w").id
    with pytest.raises(GraphError, match="unknown hook kind"):
        doc.set_hooks(w, [{"kind": "exec", "code": "import os"}])
    with pytest.raises(GraphError, match="min <= max"):
        doc.set_hooks(w, [make_hook("clamp", min=1.0, max=0.0)])
    assert check_hooks([make_hook("scale", k=2.0)]) is None
    doc.set_hooks(w, [make_hook("scale", k=10.0), make_hook("clamp", min=-3.0, max=3.0)])
    path = tmp_path / "g.json"
    fileio.save(doc, path)
    loaded = fileio.load(path)
    assert loaded.nodes[w].hooks == doc.nodes[w].hooks
    debugger = started(loaded)
    debugger.run()
    assert debugger.session.value("w").grad.tolist() == [3.0]        # 5 * 10, clamped to 3
    text = path.read_text().replace('"k": 10.0', '"k": "10; import os"')
    with pytest.raises(fileio.FileFormatError, match=r"nodes\[\d\]\.hooks\[0\]: scale.k"):
        fileio.loads(text)


def test_saved_tensors_are_read_before_the_node_frees_them():
    debugger = started(xw_graph())
    step = debugger.step()
    assert ("saved tensors", "freed") not in step.saved
    assert np.isclose(float(dict(step.saved)["self"]), 3.0)


EXAMPLES = sorted((Path(__file__).parent.parent / "resources" / "examples").glob("*.json"))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_every_example_steps_to_the_grads_a_plain_backward_gives(path):
    """Stepping to the end leaves the same .grad as Session.run(), and the plan is the
    order PyTorch runs the same graph in (where torch can run the example's nodes)."""
    debugger = BackwardDebugger(Session(fileio.load(path)))
    if not debugger.start():
        pytest.skip(debugger.error)
    debugger.run()
    assert debugger.finished and debugger.error is None
    assert [s.planned for s in debugger.trace] == debugger.plan
    plain = Session(fileio.load(path))
    plain.run()
    for ours, theirs in zip(debugger.session.parameters(), plain.parameters()):
        assert (ours.grad is None) == (theirs.grad is None)
        if ours.grad is not None:
            np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-5, atol=1e-7)
    if importlib.util.find_spec("torch"):
        order = torch_run_order(path)
        if order is not None:
            assert [p.name for p in debugger.plan] == order


def torch_run_order(path):
    """The grad_fn names PyTorch runs for the example, in order (None if torch cannot run it)."""
    import torch
    session = Session(fileio.load(path), engine=torch)
    session.forward()
    if session.errors:
        return None
    _, tensor, gradient, retain = session.backward_arguments()
    ran, seen, stack = [], set(), [tensor.grad_fn]
    while stack:
        fn = stack.pop()
        if fn is None or fn in seen:
            continue
        seen.add(fn)
        fn.register_prehook(lambda grads, fn=fn: ran.append(fn.name().rsplit("::", 1)[-1]))
        stack.extend(nxt for nxt, _ in fn.next_functions)
    tensor.backward(gradient, retain_graph=retain)
    return ran


def test_cli_debug_prints_the_steps_and_stops_on_nan(tmp_path, capsys):
    from gradstudio.cli import main
    path = tmp_path / "xw.json"
    fileio.save(xw_graph(), path)
    assert main(["debug", str(path)]) == 0
    out = capsys.readouterr().out
    assert out.index("step 1: MulBackward0  (y)") < out.index("step 2: AddBackward0  (b)") \
        < out.index("step 3: AddBackward0  (a)")
    assert "w.grad None -> 5" in out
    fileio.save(sqrt_graph(), path)
    with pytest.warns(RuntimeWarning):
        assert main(["debug", str(path), "--stop-on-nan"]) == 0
    out = capsys.readouterr().out
    assert out.rstrip().endswith("stopped: NaN gradient from SqrtBackward0  (q)")
    assert main(["debug", str(path), "--break", "nope"]) == 2
    assert "no node is labelled 'nope'" in capsys.readouterr().err
