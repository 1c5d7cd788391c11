"""Expressions to graphs: lines of math become nodes and edges that run with the right grads."""
from __future__ import annotations

import numpy as np
import pytest

from gradstudio.graph import fileio
from gradstudio.graph.document import Document
from gradstudio.graph.expressions import (
    ExpressionError, apply_construction, parse_expressions)
from gradstudio.runtime.session import Session


def build(text: str, doc: Document | None = None) -> tuple[Document, dict[str, str]]:
    doc = doc or Document()
    construction = parse_expressions(text, known=[n.label for n in doc.nodes.values()])
    return doc, apply_construction(construction, doc)


def kinds_and_inputs(doc: Document) -> dict[str, tuple]:
    """label -> (kind, {port: source label}) for a compact picture of the graph."""
    picture = {}
    for node in doc.nodes.values():
        inputs = {e.dst_port: doc.nodes[e.src].label for e in doc.edges_into(node.id)}
        picture[node.label] = (node.kind, inputs)
    return picture


def fill(doc: Document, **values) -> None:
    for label, value in values.items():
        doc.set_param(doc.node_by_label(label).id, "value", value)


def test_basic_gradient_example_builds_the_tutorial_graph():
    construction = parse_expressions("z = x*y + y**2")
    assert construction.to_fill == ["x", "y"]
    doc, _ = build("z = x*y + y**2")
    assert kinds_and_inputs(doc) == {
        "x": ("tensor", {}), "y": ("tensor", {}),
        "x * y": ("mul", {"input": "x", "other": "y"}),
        "y ** 2": ("pow", {"input": "y"}),
        "z": ("add", {"input": "x * y", "other": "y ** 2"})}
    assert doc.node_by_label("y ** 2").params["scalar"] == 2.0
    assert doc.node_by_label("x").params["requires_grad"] is True


def test_basic_gradient_example_runs_to_the_tutorial_gradients():
    doc, _ = build("z = x*y + y**2\nz.backward()")
    fill(doc, x=2.0, y=3.0)
    session = Session(doc)
    assert session.run(), session.errors
    assert session.info("z").data == 15.0
    assert session.info("x").grad == 3.0 and session.info("y").grad == 8.0


def test_mean_squared_error_line_builds_and_differentiates():
    doc, _ = build("loss = ((w*x + b - y)**2).mean()")
    picture = kinds_and_inputs(doc)
    assert picture["loss"] == ("mean", {"input": "pow"})
    assert picture["pow"] == ("pow", {"input": "w * x + b - y"})
    assert picture["w * x + b - y"] == ("sub", {"input": "w * x + b", "other": "y"})
    leaves = sorted(n.label for n in doc.nodes.values() if n.kind == "tensor")
    assert leaves == ["b", "w", "x", "y"]
    w, b = 2.0, 0.5
    x, y = np.array([1.0, 2.0, 3.0]), np.array([2.0, 4.0, 7.0])
    fill(doc, w=w, b=b, x=x.tolist(), y=y.tolist())
    doc.set_meta("root", "loss")
    session = Session(doc)
    assert session.run(), session.errors
    residual = w * x + b - y
    assert session.info("loss").data == pytest.approx(np.mean(residual ** 2))
    assert session.info("w").grad == pytest.approx(np.mean(2 * residual * x))
    assert session.info("b").grad == pytest.approx(np.mean(2 * residual))
    np.testing.assert_allclose(session.info("y").grad, -2 * residual / 3, rtol=1e-6)


def test_names_are_reused_and_document_labels_are_referred_to():
    doc, _ = build("a = x * 2\nb = a + x\nc = b * b")
    assert [n.label for n in doc.nodes.values()].count("x") == 1
    assert kinds_and_inputs(doc)["c"] == ("mul", {"input": "b", "other": "b"})
    _, ids = build("d = c - x", doc)
    assert kinds_and_inputs(doc)["d"] == ("sub", {"input": "c", "other": "x"})
    assert set(ids) == {"d"}                       # nothing else added: c and x exist


def test_numbers_become_scalars_or_constant_leaves():
    doc, _ = build("y = 3*x**3 + 2*x**2 + x\nv = 1 / x")
    assert doc.node_by_label("3 * x ** 3").params["scalar"] == 3.0   # 3*... is mul(..., 3)
    constant = doc.node_by_label("const(1)")
    assert constant.kind == "tensor" and constant.params["requires_grad"] is False
    assert kinds_and_inputs(doc)["v"] == ("div", {"input": "const(1)", "other": "x"})
    doc.set_meta("root", "y")
    fill(doc, x=3.0)
    session = Session(doc)
    assert session.run(), session.errors
    assert session.info("x").grad == 94.0                # the polynomial example


def test_calls_methods_parameters_indexing_and_leaves():
    doc, _ = build("w = torch.tensor([[1., 2.], [3., 4.]], requires_grad=True)\n"
                   "s = torch.sum(w.exp(), dim=0, keepdim=True)\n"
                   "r = w.reshape(4)[1:3]\n"
                   "c = torch.cat([r, r], 0).clamp(min=0.0)\n"
                   "m = F.mse_loss(c, torch.zeros(4), reduction='sum')\n"
                   "m.backward()")
    assert doc.node_by_label("s").params == {"dim": 0, "keepdim": True, "retain_grad": False}
    assert doc.node_by_label("r").kind == "index"
    assert doc.node_by_label("r").params["index"] == "1:3"
    assert doc.node_by_label("c").params["min"] == 0.0
    assert doc.node_by_label("m").params["reduction"] == "sum"
    session = Session(doc)
    assert session.run(), session.errors
    # m = sum of c**2 where c holds w[0,1] and w[1,0] twice: dm/dw = 4 w there, 0 elsewhere
    np.testing.assert_allclose(session.info("w").grad, [[0, 8], [12, 0]])
    text = fileio.dumps(doc)                                               # a valid file
    assert fileio.loads(text).node_by_label("m").kind == "mse_loss"


@pytest.mark.parametrize("text, message", [
    ("z = x < y", "line 1, column 5: comparisons are not supported"),
    ("z = x +", "line 1, column 8: invalid syntax"),
    ("a = 1\nz = foo(a)", "line 2, column 5: unknown function 'foo'"),
    ("z = np.exp(x)", "line 1, column 5: write torch.exp(...) or x.exp()"),
    ("z = x.sum(dim='a')", "line 1, column 15: sum: 'dim' must be a whole number"),
    ("z = x.sum(axis=0)", "line 1, column 16: sum has no argument 'axis'"),
    ("z = x % 2", "line 1, column 5: the operator % is not supported"),
    ("z = x if c else y", "line 1, column 5: conditional expressions are not supported"),
    ("z = x * 'a'", "line 1, column 9: 'a' is not a number"),
    ("z = " + "+".join(["x"] * 20000), "line 1, column 1: the expression is nested too deeply"),
    ("import os", "line 1, column 1: Import statements are not supported"),
    ("a, b = x", "line 1, column 1: assign to one name"),
    ("z = torch.matmul(x)", "line 1, column 5: matmul needs other"),
    ("z = x[foo]", "line 1, column 7: 'foo' is not an integer"),
])
def test_unsupported_text_is_one_line_with_the_column(text, message):
    with pytest.raises(ExpressionError) as caught:
        parse_expressions(text)
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)


def test_nodes_are_laid_out_left_to_right():
    construction = parse_expressions("z = x*y + y**2", origin=(100.0, 50.0))
    pos = {n.label: n.pos for n in construction.nodes}
    assert pos["x"][0] == pos["y"][0] == 100.0
    assert pos["x"][0] < pos["x * y"][0] < pos["z"][0]
    assert pos["x"] != pos["y"] and pos["x * y"] != pos["y ** 2"]
    assert pos["x"][1] == 50.0
