"""The chain rule with numbers: local derivatives read off the engine's own backward, times the
upstream gradient, equal to what the engine passed on; merges as contributions and a sum."""
import numpy as np
import pytest

import engine
from gradstudio import EXAMPLES
from gradstudio.graph import fileio
from gradstudio.graph.catalog import CATALOG
from gradstudio.graph.document import Document
from gradstudio.graph.grad_hooks import make_hook
from gradstudio.runtime import Session
from gradstudio.runtime.chain_rule import (chain_links, contributions, links_on_edge,
                                           local_jacobians, merge_text)
from gradstudio.runtime.debugger import BackwardDebugger


def leaf(doc, label, value, requires_grad=True):
    return doc.add_node("tensor", label, {"value": value, "requires_grad": requires_grad}).id


def op(doc, kind, label, *sources, **params):
    node = doc.add_node(kind, label, params)
    for port, source in zip([p.name for p in CATALOG[kind].inputs], sources):
        if source is not None:
            doc.add_edge(source, "out", node.id, port)
    return node.id


def stepped(doc):
    debugger = BackwardDebugger(Session(doc))
    assert debugger.start()
    debugger.run()
    return debugger


def step_of(debugger, label):
    return next(s for s in debugger.trace if s.planned.label == label and
                not s.planned.name.endswith("AccumulateGrad"))


def test_the_tutorial_graph_reads_as_numbers_and_merges_at_w():
    """leaf_and_grad_fn: a = w + x, b = w + 1, y = a * b with w = 1, x = 2."""
    debugger = stepped(fileio.load(EXAMPLES / "leaf_and_grad_fn.json"))
    formulas = [link.formula() for link in chain_links(debugger, step_of(debugger, "y"))]
    assert formulas == ["∂y/∂a = 2 × upstream 1 = 2", "∂y/∂b = 3 × upstream 1 = 3"]
    w = debugger.document.node_by_label("w").id
    assert merge_text(debugger, (w, "out")) == "w: 3 from b + 2 from a = 5"
    assert [label for label, _ in contributions(debugger, (w, "out"), upto=2)] == ["b"]
    assert merge_text(debugger, (w, "out"), upto=2) is None     # one contribution so far


@pytest.mark.parametrize("kind, value, params", [
    ("exp", [0.5, -1.0], {}), ("tanh", [0.3, 2.0], {}), ("sigmoid", [0.1, -0.4], {}),
    ("relu", [-1.0, 2.0], {}), ("log", [0.5, 3.0], {}), ("sqrt", [4.0, 9.0], {}),
    ("pow", [1.5, -2.0], {"scalar": 3.0}), ("div", [1.0, 2.0], {"scalar": 4.0}),
    ("sum", [1.0, 2.0, 3.0], {}), ("mean", [1.0, 2.0, 3.0, 4.0], {}),
    ("clamp", [-3.0, 0.5], {"min": -1.0, "max": 1.0}),
])
def test_upstream_times_the_local_derivative_is_what_the_engine_passed_on(kind, value, params):
    doc = Document()
    x = leaf(doc, "x", value)
    f = op(doc, kind, "f", x, **params)
    y = op(doc, "mul", "y", f, scalar=-2.5)            # an upstream gradient that is not 1
    op(doc, "backward", "backward", op(doc, "sum", "loss", y))
    debugger = stepped(doc)
    (link,) = chain_links(debugger, step_of(debugger, "f"))
    assert link.local is not None and link.consistent
    assert np.allclose(link.expected(), link.product.array, rtol=1e-5)
    # the local derivative is the op's derivative, checked against finite differences
    base = np.asarray(value, dtype=np.float64)
    fn = {"exp": np.exp, "tanh": np.tanh, "sigmoid": lambda v: 1 / (1 + np.exp(-v)),
          "relu": lambda v: np.maximum(v, 0), "log": np.log, "sqrt": np.sqrt,
          "pow": lambda v: v ** 3, "div": lambda v: v / 4, "sum": np.sum, "mean": np.mean,
          "clamp": lambda v: np.clip(v, -1, 1)}[kind]
    eps = 1e-6
    numeric = np.stack([(np.ravel(fn(base + eps * e)) - np.ravel(fn(base - eps * e))) / (2 * eps)
                        for e in np.eye(base.size)], axis=-1)
    assert np.allclose(link.local.reshape(numeric.shape), numeric, atol=1e-3)


def test_elementwise_and_scalar_outputs_read_differently():
    doc = Document()
    x = leaf(doc, "x", [1.0, 2.0])
    e = op(doc, "exp", "e", x)
    op(doc, "backward", "backward", op(doc, "sum", "s", e))
    debugger = stepped(doc)
    (to_e,) = chain_links(debugger, step_of(debugger, "s"))
    assert to_e.kind() == "vector" and to_e.formula() == "∂s/∂e = [1, 1] × upstream 1 = [1, 1]"
    (to_x,) = chain_links(debugger, step_of(debugger, "e"))
    assert to_x.kind() == "elementwise"
    assert to_x.formula() == "∂e/∂x = [2.718, 7.389] ⊙ upstream [1, 1] = [2.718, 7.389]"


def test_a_matrix_product_reads_as_upstream_dot_jacobian():
    doc = Document()
    a = leaf(doc, "a", [[1.0, 2.0]])
    b = leaf(doc, "b", [[3.0, 4.0], [5.0, 6.0]])
    m = op(doc, "matmul", "m", a, b)
    op(doc, "backward", "backward", op(doc, "sum", "s", m))
    links = chain_links(stepped(doc), step_of(stepped(doc), "m"))
    assert [link.kind() for link in links] == ["matrix", "matrix"]
    assert all(link.consistent for link in links)
    assert links[0].formula().startswith("∂m/∂a: upstream [1, 1] · J [3, 5; 4, 6] = [7, 11]")


def test_large_tensors_give_no_jacobian_but_shapes_and_norms():
    doc = Document()
    x = leaf(doc, "x", np.linspace(-1, 1, 12).reshape(3, 4).tolist())
    t = op(doc, "tanh", "t", x)
    op(doc, "backward", "backward", op(doc, "sum", "s", t))
    debugger = stepped(doc)
    (link,) = chain_links(debugger, step_of(debugger, "t"))
    assert link.local is None and link.kind() == "large"
    assert link.formula().startswith("∂t/∂x: upstream (3, 4) ‖3.46‖ → passes on (3, 4) ‖")


def test_a_hook_that_changes_the_gradient_is_said():
    doc = Document()
    x = leaf(doc, "x", 2.0)
    y = op(doc, "mul", "y", x, scalar=3.0)
    doc.set_hooks(x, [make_hook("scale", k=10.0)])
    op(doc, "backward", "backward", y)
    debugger = stepped(doc)
    (link,) = chain_links(debugger, step_of(debugger, "y"))
    assert link.formula() == "∂y/∂x = 3 × upstream 1 = 3"     # the hook runs at x's sink
    assert debugger.session.value("x").grad.item() == 30.0


def test_links_on_a_canvas_edge_follow_the_steps_shown():
    doc = fileio.load(EXAMPLES / "leaf_and_grad_fn.json")
    debugger = BackwardDebugger(Session(doc))
    debugger.start()
    a, y = doc.node_by_label("a").id, doc.node_by_label("y").id
    edge = next(e.id for e in doc.edges_into(y) if e.src == a)
    assert links_on_edge(debugger, edge) == []
    debugger.step()
    (link,) = links_on_edge(debugger, edge)
    assert link.formula() == "∂y/∂a = 2 × upstream 1 = 2"
    debugger.seek(0)
    assert links_on_edge(debugger, edge) == []


def test_local_jacobians_of_a_node_too_large_are_not_computed():
    x = engine.ones(3, 3, requires_grad=True)
    y = x.exp()
    assert local_jacobians(y.grad_fn, engine) == ()
    a = engine.tensor([1.0, 4.0], requires_grad=True)
    jac = local_jacobians((a * a).grad_fn, engine)       # d(a*a)/da from each side: a
    assert [j.tolist() for j in jac] == [[[1.0, 0.0], [0.0, 4.0]]] * 2


def test_the_debug_command_prints_the_chain_rule_and_the_merge(capsys):
    from gradstudio.cli import main
    assert main(["debug", str(EXAMPLES / "leaf_and_grad_fn.json")]) == 0
    out = capsys.readouterr().out
    assert "    -> ∂y/∂a = 2 × upstream 1 = 2" in out
    assert "    merge w: 3 from b + 2 from a = 5" in out


def test_an_infinite_derivative_still_reads_as_elementwise():
    doc = Document()
    x = leaf(doc, "x", [0.0, 4.0])
    r = op(doc, "sqrt", "r", x)
    op(doc, "backward", "backward", op(doc, "sum", "s", r))
    debugger = stepped(doc)
    (link,) = chain_links(debugger, step_of(debugger, "r"))
    assert link.formula() == "∂r/∂x = [inf, 0.25] ⊙ upstream [1, 1] = [inf, 0.25]"
