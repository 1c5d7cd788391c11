"""The runtime Session: forward in topological order, backward from the root, incremental
re-runs, shape errors that mark one node, detach edges, no_grad regions, layers' modules."""
import importlib

import numpy as np
import pytest

from gradstudio.graph.catalog import CATALOG, engine_attr
from gradstudio.graph.catalog_types import NodeSpec, PortSpec
from gradstudio.graph.document import Document
from gradstudio.runtime import RunError, Session

ENGINES = [m for m in (importlib.import_module(n) for n in ("engine", "torch")
                       if importlib.util.find_spec(n)) if hasattr(m, "tensor")]


@pytest.fixture(params=ENGINES, ids=lambda m: m.__name__)
def E(request):
    return request.param


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


def z_graph():
    """z = x*y + y**2 with x=2, y=3, backward from z."""
    doc = Document()
    x, y = leaf(doc, "x", 2.0), leaf(doc, "y", 3.0)
    z = op(doc, "add", "z", op(doc, "mul", "xy", x, y), op(doc, "pow", "y2", y, scalar=2.0))
    op(doc, "backward", "backward", z)
    return doc


def grad(session, label):
    return session.info(label).grad.tolist()


def test_z_graph_gives_the_tutorial_gradients(E):
    s = Session(z_graph(), engine=E)
    assert s.run() and s.errors == {}
    assert (grad(s, "x"), grad(s, "y")) == (3.0, 8.0)
    z = s.info("z")
    assert z.data.tolist() == 15.0 and z.shape == () and z.dtype == "float32"
    assert z.grad_fn == "AddBackward0" and z.next_functions == ("MulBackward0", "PowBackward0")
    assert (z.is_leaf, z.requires_grad, z.grad) == (False, True, None)
    x = s.info("x")
    assert (x.is_leaf, x.requires_grad, x.grad_fn, x.device) == (True, True, None, "cpu")


def test_run_again_accumulates_and_zero_grad_clears(E):
    s = Session(z_graph(), engine=E)
    s.run()
    s.run()
    assert (grad(s, "x"), grad(s, "y")) == (6.0, 16.0)
    s.zero_grad()
    assert s.info("x").grad is None
    s.run()
    assert grad(s, "x") == 3.0


def test_backward_twice_needs_retain_graph(E):
    doc = z_graph()
    s = Session(doc, engine=E)
    s.forward()
    assert s.backward()
    assert not s.backward()
    assert "second time" in s.errors[doc.node_by_label("backward").id]
    doc.set_param(doc.node_by_label("backward").id, "retain_graph", True)
    s.forward()
    assert s.backward() and s.backward()
    assert grad(s, "x") == 3.0 * 3          # the first backward and these two accumulate


def test_only_what_changed_runs_again(E):
    doc = z_graph()
    s = Session(doc, engine=E)
    assert len(s.forward()) == 6
    assert s.forward() == []                     # nothing changed, nothing freed
    labels = lambda ids: sorted(doc.nodes[i].label for i in ids)
    doc.set_param(doc.node_by_label("y2").id, "scalar", 3.0)
    assert labels(s.forward()) == ["backward", "y2", "z"]
    doc.set_label(doc.node_by_label("xy").id, "product")
    assert s.forward() == []
    doc.set_param(doc.node_by_label("x").id, "value", 5.0)
    assert labels(s.forward()) == ["backward", "product", "x", "z"]
    assert s.run_counts[doc.node_by_label("y").id] == 1


def test_backward_frees_the_graph_so_its_nodes_rerun_but_leaves_stay(E):
    doc = z_graph()
    s = Session(doc, engine=E)
    s.run()
    x_before = s.value("x")
    assert sorted(doc.nodes[i].label for i in s.forward()) == ["backward", "xy", "y2", "z"]
    assert s.value("x") is x_before


def test_shape_error_marks_the_node_and_the_rest_stays_usable(E):
    doc = Document()
    a = leaf(doc, "a", np.ones((2, 3)).tolist())
    b = leaf(doc, "b", [1.0, 2.0, 3.0, 4.0])
    bad = op(doc, "mul", "bad", a, b)
    after = op(doc, "sum", "after", bad)
    good = op(doc, "sum", "good", a)
    op(doc, "backward", "backward", good)
    s = Session(doc, engine=E)
    assert not s.run()
    assert s.errors[bad] == "mul: shapes (2, 3) and (4,) cannot broadcast"
    assert s.errors[after] == "input unavailable: 'bad' has an error"
    assert good not in s.errors
    assert grad(s, "a") == np.ones((2, 3)).tolist()
    assert s.info("bad").error and s.info("bad").data is None


def test_matmul_error_names_both_shapes(E):
    doc = Document()
    op(doc, "matmul", "m", leaf(doc, "a", np.ones((2, 3)).tolist()),
       leaf(doc, "b", np.ones((4, 2)).tolist()))
    s = Session(doc, engine=E)
    s.forward()
    message = s.errors[doc.node_by_label("m").id]
    assert message.startswith("matmul: ") and "(2, 3)" in message and "(4, 2)" in message


def test_unconnected_input_is_named(E):
    doc = Document()
    op(doc, "matmul", "m", leaf(doc, "a", [1.0]))
    s = Session(doc, engine=E)
    s.forward()
    assert s.errors[doc.node_by_label("m").id] == "input 'other' is not connected"


def test_detach_edge_and_no_grad_region(E):
    doc = Document()
    x = leaf(doc, "x", [2.0])
    y = op(doc, "mul", "y", x, scalar=3.0)
    z = op(doc, "mul", "z", None, scalar=2.0)
    doc.add_edge(y, "out", z, "input", detach=True)
    w = op(doc, "mul", "w", x, scalar=2.0)
    doc.add_region("no_grad", [w])
    s = Session(doc, engine=E)
    s.forward()
    assert s.info("y").requires_grad and s.info("y").grad_fn == "MulBackward0"
    for label in ("z", "w"):
        info = s.info(label)
        assert (info.requires_grad, info.grad_fn, info.is_leaf) == (False, None, True)
    assert s.info("z").data.tolist() == [12.0]
    doc.set_edge_detach(next(iter(doc.edges_into(z))).id, False)
    assert [doc.nodes[i].label for i in s.forward()] == ["z"]
    assert s.info("z").requires_grad


def test_retain_grad_and_vector_backward_with_gradient(E):
    doc = Document()
    inp = doc.add_node("tensor", "inp", {"init": "eye", "shape": [3],
                                         "requires_grad": True}).id
    plus = op(doc, "add", "plus", inp, scalar=1.0, retain_grad=True)
    out = op(doc, "pow", "out", plus, scalar=2.0)
    ones = doc.add_node("tensor", "ones", {"init": "ones", "shape": [3, 3]}).id
    root = doc.add_node("backward", "backward").id
    doc.add_edge(out, "out", root, "input")
    doc.add_edge(ones, "out", root, "gradient")
    s = Session(doc, engine=E)
    assert s.run(), s.errors
    expected = (2 * (np.eye(3) + 1)).tolist()
    assert grad(s, "inp") == expected and grad(s, "plus") == expected
    assert s.info("plus").retains_grad


def test_non_scalar_backward_without_gradient_marks_the_root(E):
    doc = Document()
    op(doc, "backward", "backward", op(doc, "mul", "y", leaf(doc, "x", [1.0, 2.0])))
    s = Session(doc, engine=E)
    assert not s.run()
    assert s.errors[doc.node_by_label("backward").id].startswith("backward: ")


def test_root_from_meta_label(E):
    doc = Document()
    x = leaf(doc, "x", 3.0)
    op(doc, "mul", "y", x, x)
    doc.set_meta("root", "y")
    s = Session(doc, engine=E)
    assert s.run()
    assert grad(s, "x") == 6.0
    doc.set_meta("root", "nobody")
    with pytest.raises(RunError, match="nobody"):
        s.run()


def test_no_root_means_forward_only(E):
    doc = Document()
    op(doc, "neg", "n", leaf(doc, "x", 1.0))
    s = Session(doc, engine=E)
    assert s.run() and s.info("x").grad is None
    with pytest.raises(RunError, match="no backward root"):
        s.backward()


def test_layer_module_is_kept_until_its_parameters_change(E):
    doc = Document()
    x = doc.add_node("tensor", "x", {"init": "ones", "shape": [4, 3]}).id
    lin = op(doc, "nn.Linear", "lin", x, in_features=3, out_features=2, seed=1)
    op(doc, "backward", "backward", op(doc, "sum", "loss", lin))
    s = Session(doc, engine=E)
    assert s.run(), s.errors
    module = s.modules[lin]
    weight = module.weight.detach().numpy().copy()
    assert module.weight.grad is not None
    assert len(s.parameters()) == 2
    s.run()
    assert s.modules[lin] is module
    doc.set_param(lin, "retain_grad", True)
    s.run()
    assert s.modules[lin] is module
    doc.set_param(lin, "seed", 2)
    s.run()
    assert s.modules[lin] is not module
    doc.set_param(lin, "seed", 1)
    s.run()
    assert np.array_equal(s.modules[lin].weight.detach().numpy(), weight)
    s.zero_grad()
    assert s.modules[lin].weight.grad is None


def test_a_new_table_row_runs_with_no_other_edit(E):
    square = NodeSpec("square", "square", "Math", inputs=(PortSpec("input"),),
                      build=lambda engine, i, p: {"out": i["input"] * i["input"]})
    missing = NodeSpec("frobnicate", "frobnicate", "Math", inputs=(PortSpec("input"),),
                       build=lambda engine, i, p: {"out": engine_attr(engine, "frobnicate")(i["input"])})
    doc = Document({**CATALOG, "square": square, "frobnicate": missing})
    x = leaf(doc, "x", 3.0)
    sq = doc.add_node("square", "sq").id
    fr = doc.add_node("frobnicate", "fr").id
    doc.add_edge(x, "out", sq, "input")
    doc.add_edge(x, "out", fr, "input")
    doc.set_meta("root", "sq")
    s = Session(doc, engine=E)
    s.run()
    assert grad(s, "x") == 6.0
    assert s.errors == {fr: "engine has no frobnicate"}


def test_removed_nodes_are_forgotten(E):
    doc = z_graph()
    s = Session(doc, engine=E)
    s.run()
    xy = doc.node_by_label("xy").id
    doc.remove_node(xy)
    s.forward()
    assert xy not in s.outputs and xy not in s.run_counts
    assert s.errors[doc.node_by_label("z").id] == "input 'input' is not connected"
    doc.remove_node(doc.node_by_label("y2").id)     # add's second operand is optional
    doc.add_edge(doc.node_by_label("x").id, "out", doc.node_by_label("z").id, "input")
    s.forward()
    assert s.errors == {} and s.info("z").data.tolist() == 2.0


def test_cuda_falls_back_to_cpu_with_a_message(E):
    if engine_attr(E, "cuda").is_available():
        pytest.skip("a GPU is present")
    s = Session(z_graph(), device="cuda", engine=E)
    assert s.device == "cpu" and s.messages[0].startswith("cuda is not available")
    with pytest.raises(RunError, match="cuda is not available"):
        Session(z_graph(), device="cuda", engine=E, fallback=False)
    with pytest.raises(RunError, match="unknown device"):
        Session(z_graph(), device="tpu", engine=E, fallback=False)


def test_backward_steps_yield_one_step_per_node(E):
    if not hasattr(getattr(E, "autograd", None), "backward_steps"):
        pytest.skip(f"{E.__name__} has no autograd.backward_steps")
    s = Session(z_graph(), engine=E)
    s.forward()
    names = [type(step.node).__name__ if not hasattr(step.node, "name") else step.node.name()
             for step in s.backward_steps()]
    assert names[0] == "AddBackward0" and len(names) >= 4
    assert (grad(s, "x"), grad(s, "y")) == (3.0, 8.0)
    assert s.forward()                           # the stepped graph was freed: forward reruns


def test_csv_paths_are_relative_to_the_document_folder(E, tmp_path):
    if not hasattr(getattr(E, "datasets", None), "load_csv"):
        pytest.skip(f"{E.__name__} has no datasets.load_csv")
    (tmp_path / "data.csv").write_text("a,b,y\n1,2,3\n4,5,6\n")
    doc = Document()
    doc.add_node("csv", "table", {"path": "data.csv", "target": "y"})
    s = Session(doc, engine=E)
    s.forward()
    assert "data.csv" in s.errors[doc.node_by_label("table").id]
    s.base_dir = str(tmp_path)
    s.forward()
    assert s.info("table", "x").data.tolist() == [[1, 2], [4, 5]]
    assert s.info("table", "y").data.tolist() == [3, 6]


def test_dataset_node(E):
    if not hasattr(getattr(E, "datasets", None), "xor"):
        pytest.skip(f"{E.__name__} has no datasets")
    doc = Document()
    doc.add_node("dataset", "data", {"name": "moons", "n_samples": 20})
    s = Session(doc, engine=E)
    s.forward()
    assert s.info("data", "x").shape == (20, 2) and s.info("data", "y").shape == (20,)


RUNNABLE = sorted(kind for kind, spec in CATALOG.items() if spec.sample_inputs)


@pytest.mark.parametrize("kind", RUNNABLE)
def test_every_op_runs_forward_and_backward_in_a_session(E, kind):
    """The table row alone makes a kind runnable: leaves hold its sample inputs."""
    spec = CATALOG[kind]
    doc = Document()
    node = doc.add_node(kind, "op", dict(spec.sample_params)).id
    for k, (port, sample) in enumerate(spec.sample_inputs):
        dtype = "float32" if spec.make_module else "float64"   # layers' weights are float32
        params = {"dtype": dtype, "requires_grad": k == 0}
        if isinstance(sample, tuple):
            params.update(init="randn", shape=list(sample), seed=k)
        else:
            params.update(value=sample)
        doc.add_edge(doc.add_node("tensor", port, params).id, "out", node, port)
    s = Session(doc, engine=E)
    s.forward()
    if s.errors.get(node, "").startswith("engine"):
        pytest.skip(s.errors[node])
    assert s.errors == {}
    info = s.info("op")
    assert info.data is not None and info.dtype in ("float32", "float64")
    if info.requires_grad:
        total = doc.add_node("sum", "total").id
        doc.add_edge(node, "out", total, "input")
        doc.set_meta("root", "total")
        assert s.run(), s.errors
        first_port, first_sample = spec.sample_inputs[0]
        if isinstance(first_sample, tuple):
            assert s.info(first_port).grad.shape == first_sample
