"""Why is this gradient None or zero? One small graph per cause, asked as a person would."""
import numpy as np
import pytest

from gradstudio import EXAMPLES
from gradstudio.graph import fileio
from gradstudio.graph.catalog import CATALOG
from gradstudio.graph.document import Document
from gradstudio.graph.grad_hooks import make_hook
from gradstudio.runtime import Session
from gradstudio.runtime.why_grad import HAS_GRAD, NONE, ZERO, UnknownName, why_grad


def leaf(doc, label, value, requires_grad=True, **params):
    return doc.add_node("tensor", label, {"value": value, "requires_grad": requires_grad,
                                          **params}).id


def op(doc, kind, label, *sources, **params):
    node = doc.add_node(kind, label, params)
    ports = [p.name for p in CATALOG[kind].inputs]
    for port, source in zip(ports, sources):
        if source is not None:
            doc.add_edge(source, "out", node.id, port)
    return node.id


def kinds(answer):
    return [c.kind for c in answer.causes]


def ran(doc):
    session = Session(doc)
    session.run()
    return session


def test_a_tensor_with_a_gradient_says_so_and_shows_it():
    doc = Document()
    x = leaf(doc, "x", [2.0])
    op(doc, "backward", "backward", op(doc, "mul", "y", x, scalar=3.0))
    answer = why_grad(ran(doc), "x")
    assert answer.status == HAS_GRAD and answer.causes == []
    assert answer.grad.tolist() == [3.0]
    assert answer.headline() == "x has a gradient: 3"
    assert [doc.nodes[n].label for n in answer.path_nodes] == ["x", "y", "backward"]
    assert len(answer.path_edges) == 2


def test_a_leaf_no_path_reaches_is_not_on_any_path():
    doc = Document()
    x, unused = leaf(doc, "x", 1.0), leaf(doc, "unused", 5.0)
    op(doc, "mul", "other", unused, scalar=2.0)
    op(doc, "backward", "backward", op(doc, "mul", "y", x, scalar=3.0))
    answer = why_grad(ran(doc), "unused")
    assert answer.status == NONE and kinds(answer) == ["not_on_path"]
    assert "not on any path to the backward root 'backward'" in answer.causes[0].text
    assert answer.path_nodes == ()


def test_a_detached_edge_on_the_only_path_is_named():
    doc = Document()
    x, w = leaf(doc, "x", 1.0), leaf(doc, "w", 2.0)
    y = op(doc, "mul", "y", x, scalar=3.0)
    z = op(doc, "add", "z", y, w)
    cut = next(e for e in doc.edges_into(z) if e.src == y)
    doc.set_edge_detach(cut.id, True)
    op(doc, "backward", "backward", z)
    answer = why_grad(ran(doc), "x")
    assert kinds(answer) == ["detach"] and answer.causes[0].edge_id == cut.id
    assert "'y' -> 'z'" in answer.causes[0].text
    assert cut.id in answer.path_edges          # the cut path is still drawn


def test_a_second_path_around_a_detach_means_the_detach_is_not_why():
    doc = Document()
    x = leaf(doc, "x", 1.0)
    y = op(doc, "mul", "y", x, scalar=3.0)
    z = op(doc, "add", "z", y, x)
    doc.set_edge_detach(next(e for e in doc.edges_into(z) if e.src == y).id, True)
    op(doc, "backward", "backward", z)
    assert why_grad(ran(doc), "x").status == HAS_GRAD


def test_no_grad_region_on_the_path_says_where():
    doc = Document()
    x, w = leaf(doc, "x", 1.0), leaf(doc, "w", 2.0)
    y = op(doc, "mul", "y", x, scalar=3.0)
    doc.add_region("no_grad", [y], label="frozen part")
    op(doc, "backward", "backward", op(doc, "add", "z", y, w))
    answer = why_grad(ran(doc), "x")
    assert kinds(answer) == ["no_grad"] and answer.causes[0].node_id == y
    assert "'frozen part'" in answer.causes[0].text


def test_requires_grad_off_at_the_source_for_the_leaf_and_what_it_feeds():
    doc = Document()
    x, w = leaf(doc, "x", 1.0, requires_grad=False), leaf(doc, "w", 2.0)
    y = op(doc, "mul", "y", x, scalar=3.0)
    op(doc, "backward", "backward", op(doc, "add", "z", y, w))
    session = ran(doc)
    for name in ("x", "y"):
        answer = why_grad(session, name)
        assert kinds(answer) == ["source"] and answer.causes[0].node_id == x
        assert "requires_grad is False at its source" in answer.causes[0].text


def test_several_causes_are_listed_in_path_order():
    doc = Document()
    x, w = leaf(doc, "x", 1.0), leaf(doc, "w", 2.0)
    a = op(doc, "mul", "a", x, scalar=2.0)
    b = op(doc, "mul", "b", a, scalar=2.0)
    c = op(doc, "add", "c", b, w)
    doc.add_region("no_grad", [b])
    doc.set_edge_detach(next(e for e in doc.edges_into(a)).id, True)
    op(doc, "backward", "backward", c)
    answer = why_grad(ran(doc), "x")
    assert kinds(answer) == ["detach", "no_grad"]
    assert [c.node_id for c in answer.causes] == [a, b]
    answer = why_grad(ran(doc), "a")            # its own input is detached, then b
    assert kinds(answer) == ["detach", "no_grad"]
    doc.set_edge_detach(next(e for e in doc.edges_into(a)).id, False)
    doc.set_edge_detach(next(e for e in doc.edges_into(c) if e.src == b).id, True)
    answer = why_grad(ran(doc), "x")
    assert kinds(answer) == ["no_grad", "detach"]
    assert [c.node_id for c in answer.causes] == [b, c]


def test_every_relu_unit_inactive_gives_zero_and_the_fraction():
    doc = Document()
    x = leaf(doc, "x", [-1.0, -2.0, -0.5])
    h = op(doc, "relu", "h", x)
    op(doc, "backward", "backward", op(doc, "sum", "loss", h))
    answer = why_grad(ran(doc), "x")
    assert answer.status == ZERO and kinds(answer) == ["inactive"]
    cause = answer.causes[0]
    assert cause.node_id == h and cause.fraction == 1.0
    assert "3 of 3 (100%)" in cause.text and "relu 'h'" in cause.text


def test_clamp_and_where_report_what_fraction_is_inactive():
    doc = Document()
    x = leaf(doc, "x", [5.0, 7.0])
    c = op(doc, "clamp", "c", x, min=-1.0, max=1.0)
    op(doc, "backward", "backward", op(doc, "sum", "loss", c))
    answer = why_grad(ran(doc), "x")
    assert kinds(answer) == ["inactive"] and answer.causes[0].fraction == 1.0
    assert "outside [-1.0, 1.0]" in answer.causes[0].text

    doc = Document()
    x, other = leaf(doc, "x", [1.0, 2.0]), leaf(doc, "other", [0.0, 0.0])
    cond = leaf(doc, "cond", [0.0, 0.0], requires_grad=False)
    pick = op(doc, "where", "pick", cond, x, other)
    op(doc, "backward", "backward", op(doc, "sum", "loss", pick))
    answer = why_grad(ran(doc), "x")
    assert kinds(answer) == ["inactive"] and answer.causes[0].node_id == pick
    assert "condition picks the other branch" in answer.causes[0].text


def test_a_zero_hook_is_named_on_the_node_it_sits_on():
    doc = Document()
    x = leaf(doc, "x", [1.0, 2.0])
    y = op(doc, "mul", "y", x, scalar=2.0)
    doc.set_hooks(y, [make_hook("zero")])
    op(doc, "backward", "backward", op(doc, "sum", "loss", y))
    answer = why_grad(ran(doc), "x")
    assert answer.status == ZERO and kinds(answer) == ["hook"]
    assert answer.causes[0].node_id == y and "zero hook on 'y'" in answer.causes[0].text


def test_a_multiply_by_zero_is_a_zero_local_derivative():
    doc = Document()
    x = leaf(doc, "x", 1.0)
    op(doc, "backward", "backward", op(doc, "mul", "y", x, scalar=0.0))
    answer = why_grad(ran(doc), "x")
    assert kinds(answer) == ["zero_factor"] and "'y' (mul)" in answer.causes[0].text


def test_integer_dtype_cannot_require_grad():
    doc = Document()
    x = leaf(doc, "x", [[1.0, 5.0], [3.0, 2.0]])
    m = op(doc, "max", "m", x, dim=1)
    op(doc, "backward", "backward", op(doc, "sum", "loss", m))
    session = ran(doc)
    answer = why_grad(session, "m.indices")
    assert kinds(answer) == ["integer"] and "int64" in answer.causes[0].text
    assert why_grad(session, "m").status in (NONE,)      # a non-leaf: see the next test


def test_a_non_leaf_explains_retain_grad_and_shows_what_reaches_it():
    doc = Document()
    x = leaf(doc, "x", 2.0)
    y = op(doc, "mul", "y", x, scalar=3.0)
    op(doc, "backward", "backward", op(doc, "mul", "z", y, scalar=5.0))
    answer = why_grad(ran(doc), "y")
    assert kinds(answer) == ["non_leaf"] and "retain_grad" in answer.causes[0].text
    assert answer.reaching.tolist() == 5.0
    doc.set_param(y, "retain_grad", True)
    assert why_grad(ran(doc), "y").status == HAS_GRAD


def test_backward_not_run_then_cleared():
    doc = Document()
    x = leaf(doc, "x", 2.0)
    op(doc, "backward", "backward", op(doc, "mul", "y", x, scalar=3.0))
    session = Session(doc)
    session.forward()
    answer = why_grad(session, "x")
    assert kinds(answer) == ["not_run"] and answer.reaching.tolist() == 3.0
    assert session.value("x").grad is None          # asking wrote no gradient
    session.backward()
    assert why_grad(session, "x").status == HAS_GRAD
    session.zero_grad()
    assert kinds(why_grad(session, "x")) == ["cleared"]


def test_asking_twice_after_a_backward_that_freed_the_graph_works():
    doc = Document()
    x = leaf(doc, "x", 2.0)
    y = op(doc, "mul", "y", x, scalar=3.0)
    op(doc, "backward", "backward", op(doc, "mul", "z", y, scalar=5.0))
    session = ran(doc)
    assert kinds(why_grad(session, "y")) == ["non_leaf"]
    assert kinds(why_grad(session, "y")) == ["non_leaf"]
    assert session.value("x").grad.item() == 15.0       # asking wrote no gradient
    assert session.run() and session.value("x").grad.item() == 30.0   # leaves accumulate


def test_a_layer_parameter_by_dotted_name():
    doc = Document()
    x = leaf(doc, "x", [[0.0, 0.0]], requires_grad=False)
    fc = op(doc, "nn.Linear", "fc", x, in_features=2, out_features=1)
    op(doc, "backward", "backward", op(doc, "sum", "loss", fc))
    session = ran(doc)
    assert why_grad(session, "fc.bias").status == HAS_GRAD
    answer = why_grad(session, "fc.weight")
    assert answer.status == ZERO and kinds(answer) == ["zero_factor"]
    assert answer.causes[0].node_id == fc


def test_unknown_names_raise():
    doc = Document()
    leaf(doc, "x", 1.0)
    with pytest.raises(UnknownName, match="'nope'"):
        why_grad(Session(doc), "nope")
    with pytest.raises(UnknownName):
        why_grad(Session(doc), "x.nope")


def test_no_root_is_a_cause():
    doc = Document()
    leaf(doc, "x", 1.0)
    answer = why_grad(ran(doc), "x")
    assert kinds(answer) == ["no_root"]


def test_the_text_lists_numbered_causes():
    doc = Document()
    x = leaf(doc, "x", np.full(3, -1.0).tolist())
    op(doc, "backward", "backward", op(doc, "sum", "loss", op(doc, "relu", "h", x)))
    text = why_grad(ran(doc), "x").text()
    assert text.splitlines()[0] == "x.grad is zero"
    assert text.splitlines()[1].startswith("  1. every unit of relu 'h' is inactive")


# ---------------------------------------------------------------------------- the command
EXAMPLES = __import__("pathlib").Path(__file__).parent.parent / "resources" / "examples"


def test_debug_why_prints_the_answer_and_exits_0(capsys):
    from gradstudio.cli import main
    assert main(["debug", str(EXAMPLES / "detach_no_grad.json"), "--why", "z"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "z.grad is None"
    assert "not on any path to the backward root 'backward'" in out
    assert main(["debug", str(EXAMPLES / "detach_no_grad.json"), "--why", "x"]) == 0
    assert capsys.readouterr().out.strip() == "x has a gradient: 3"


def test_debug_why_an_unknown_name_is_one_line_and_exit_2(capsys):
    from gradstudio.cli import main
    assert main(["debug", str(EXAMPLES / "detach_no_grad.json"), "--why", "nope"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and "'nope'" in lines[0] and "nodes: backward, w, x, y, z" in lines[0]


def test_gradients_that_cancel_are_shown_as_contributions():
    doc = Document()
    x = leaf(doc, "x", 2.0)
    a = op(doc, "mul", "a", x, scalar=3.0)
    b = op(doc, "mul", "b", x, scalar=-3.0)
    op(doc, "backward", "backward", op(doc, "add", "s", a, b))
    answer = why_grad(ran(doc), "x")
    assert answer.status == ZERO and kinds(answer) == ["cancel"]
    assert "3 from 'a' + -3 from 'b' = 0" in answer.causes[0].text


def test_a_saturated_tanh_is_an_inactive_unit():
    doc = Document()
    x = leaf(doc, "x", [3.0, -4.0])
    t = op(doc, "tanh", "t", op(doc, "mul", "m", x, scalar=30.0))
    op(doc, "backward", "backward", op(doc, "sum", "loss", t))
    answer = why_grad(ran(doc), "x")
    assert kinds(answer) == ["inactive"] and answer.causes[0].node_id == t
    assert "2 of 2 (100%) have a saturated output" in answer.causes[0].text


def test_a_gradient_that_vanished_to_an_underflow_is_called_so():
    doc = Document()
    previous = leaf(doc, "x", [1.0])
    for k in range(5):                  # 1e-40 reaches m0: times 1e-10 is below float32's range
        previous = op(doc, "mul", f"m{k}", previous, scalar=1e-10)
    op(doc, "backward", "backward", op(doc, "sum", "loss", previous))
    answer = why_grad(ran(doc), "x")
    assert answer.status == ZERO and kinds(answer) == ["vanished"]
    assert "'m0' (mul) has already vanished" in answer.causes[0].text


def test_a_tensor_changed_in_place_after_it_was_used_is_named():
    doc = Document()
    x = leaf(doc, "x", [1.0, 2.0])
    y = op(doc, "mul", "y", x, x)               # saves x for its backward
    op(doc, "backward", "backward", op(doc, "sum", "loss", y))
    session = Session(doc)
    session.forward()
    with session.engine.no_grad():
        session.value("x").mul_(2.0)            # what a script's x *= 2 does
    answer = why_grad(session, "x")
    assert kinds(answer) == ["in_place"]
    assert "changed in place after it was used" in answer.causes[0].text


def test_a_leaf_replaced_after_the_graph_was_built_is_named():
    doc = Document()
    x = leaf(doc, "x", [1.0, 2.0])
    op(doc, "backward", "backward", op(doc, "sum", "loss", op(doc, "mul", "y", x, scalar=2.0)))
    session = Session(doc)
    session.forward()
    fresh = session.engine.tensor([1.0, 2.0], requires_grad=True)
    session.outputs[x]["out"] = fresh           # what a script's x = x.detach()... does
    answer = why_grad(session, "x")
    assert kinds(answer) == ["replaced"]
    assert "was replaced after the graph was built" in answer.causes[0].text


def test_every_name_in_every_example_gets_an_answer_with_a_cause():
    import os
    for path in sorted(EXAMPLES.glob("*.json")):
        doc = fileio.load(path)
        session = Session(doc, base_dir=os.path.dirname(path))
        session.run()
        for node in doc.nodes.values():
            names = [node.label] + [f"{node.label}.{name}" for name, _ in
                                    getattr(session.modules.get(node.id), "named_parameters",
                                            lambda: [])()]
            for name in names:
                answer = why_grad(session, name)
                assert answer.status == HAS_GRAD or answer.causes, (path.name, name)


def test_the_backward_node_and_a_seed_gradient_say_what_they_are():
    doc = fileio.load(EXAMPLES / "vector_jacobian.json")
    session = Session(doc)
    session.run()
    assert kinds(why_grad(session, "backward")) == ["no_tensor"]
    answer = why_grad(session, "ones")
    assert "only feeds the gradient port of 'backward'" in answer.causes[0].text
