"""Where a NaN or Inf came from: the op's inputs, the elements at fault, and the values that
made them, for a forward (log of a negative number, 0/0) and a backward (sqrt at 0)."""
import numpy as np

from gradstudio.graph.catalog import CATALOG
from gradstudio.graph.document import Document
from gradstudio.runtime import Session
from gradstudio.runtime.anomaly import run_detecting_anomaly
from gradstudio.runtime.nan_origin import backward_origin, forward_origin, nan_origin


def leaf(doc, label, value, requires_grad=True):
    return doc.add_node("tensor", label, {"value": value, "requires_grad": requires_grad}).id


def op(doc, kind, label, *sources, **params):
    node = doc.add_node(kind, label, params)
    for port, source in zip([p.name for p in CATALOG[kind].inputs], sources):
        if source is not None:
            doc.add_edge(source, "out", node.id, port)
    return node.id


def origin_of(doc):
    session = Session(doc)
    found = run_detecting_anomaly(session)
    assert found is not None
    return found, nan_origin(session, found)


def test_log_of_a_negative_number_names_the_value_and_marks_it():
    doc = Document()
    x = leaf(doc, "x", [0.5, -0.3, 2.0])
    y = op(doc, "log", "y", x)
    op(doc, "backward", "backward", op(doc, "sum", "s", y))
    found, origin = origin_of(doc)
    assert found.node_id == y and origin.phase == "forward" and origin.bad == "NaN"
    assert origin.summary() == "log 'y' made NaN in the forward: log of -0.3 = nan (1 of 3 elements)"
    assert origin.marks["input"].tolist() == [False, True, False]
    assert origin.result_mark.tolist() == [False, True, False]


def test_zero_over_zero_and_x_over_zero_through_broadcasting():
    doc = Document()
    a = leaf(doc, "a", [[0.0, 1.0], [2.0, 3.0]])
    b = leaf(doc, "b", [0.0, 1.0])
    q = op(doc, "div", "q", a, b)
    op(doc, "backward", "backward", op(doc, "sum", "s", q))
    _, origin = origin_of(doc)
    assert origin.culprits == ["0/0 = nan", "2/0 = inf"]
    assert origin.bad == "NaN" and origin.count == 2 and origin.total == 4
    assert origin.marks["input"].tolist() == [[True, False], [True, False]]
    assert origin.marks["other"].tolist() == [True, False]          # the broadcast b[0]


def test_a_scalar_operand_counts_as_an_input():
    doc = Document()
    x = leaf(doc, "x", [-1.0, 4.0])
    p = op(doc, "pow", "p", x, scalar=0.5)
    op(doc, "backward", "backward", op(doc, "sum", "s", p))
    _, origin = origin_of(doc)
    assert origin.culprits == ["-1 ** 0.5 = nan"] and float(origin.inputs["other"]) == 0.5


def test_sqrt_at_zero_is_found_in_the_backward_with_its_input_and_upstream():
    doc = Document()
    x = leaf(doc, "x", [0.0, 4.0])
    r = op(doc, "sqrt", "r", x)
    op(doc, "backward", "backward", op(doc, "sum", "s", r))
    found, origin = origin_of(doc)
    assert found.node_id == r and origin.phase == "backward" and origin.bad == "Inf"
    assert origin.culprits == ["∂r/∂input at input = 0: upstream 1 → inf"]
    assert origin.marks["input"].tolist() == [True, False]
    assert origin.upstream.tolist() == [1.0, 1.0]
    assert "sqrt 'r' made Inf in the backward" in origin.text()


def test_a_clean_graph_has_no_origin():
    doc = Document()
    x = leaf(doc, "x", [1.0, 4.0])
    op(doc, "backward", "backward", op(doc, "sum", "s", op(doc, "sqrt", "r", x)))
    session = Session(doc)
    session.run()
    assert forward_origin(session, doc.node_by_label("r").id) is None
    assert backward_origin(session) is None


def test_the_debug_command_says_where_the_nan_came_from(tmp_path, capsys):
    from gradstudio.cli import main
    from gradstudio.graph import fileio
    doc = Document()
    x = leaf(doc, "x", [0.0, 4.0])
    op(doc, "backward", "backward", op(doc, "sum", "s", op(doc, "sqrt", "r", x)))
    path = tmp_path / "sqrt.json"
    fileio.save(doc, path)
    assert main(["debug", str(path), "--stop-on-nan"]) == 0
    out = capsys.readouterr().out.rstrip().splitlines()
    assert out[-1] == "stopped: Inf gradient from SqrtBackward0  (r)"
    assert out[-4] == ("where it came from: sqrt 'r' made Inf in the backward: ∂r/∂input at "
                       "input = 0: upstream 1 → inf (1 of 2 elements)")
    assert out[-3] == "    input: [0, 4]  <- 1 element(s) at fault"
