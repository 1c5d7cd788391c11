"""The document model: mutators, change notifications, refused edits with messages."""
import pytest

from gradstudio.graph.catalog import CATALOG
from gradstudio.graph.catalog_types import DATASET, NodeSpec, PortSpec
from gradstudio.graph.document import Document, GraphError


@pytest.fixture
def doc():
    d = Document()
    d.changes = []
    d.subscribe(d.changes.append)
    return d


def whats(doc):
    return [(c.what, c.key) for c in doc.changes]


def test_add_nodes_and_edges_notify_once_each(doc):
    x = doc.add_node("tensor", "x", {"value": 2.0, "requires_grad": True})
    m = doc.add_node("mul")
    e = doc.add_edge(x.id, "out", m.id, "input")
    assert whats(doc) == [("node_added", None), ("node_added", None), ("edge_added", None)]
    assert doc.changes[2].item is e
    assert x.params == CATALOG["tensor"].default_params() | {"value": 2.0, "requires_grad": True}
    assert m.label == "mul"


def test_labels_stay_unique(doc):
    labels = [doc.add_node("add").label for _ in range(3)]
    assert labels[0] == "add" and len(set(labels)) == 3
    a = doc.node_by_label("add")
    with pytest.raises(GraphError, match="already used"):
        doc.set_label(a.id, labels[1])
    with pytest.raises(GraphError, match="cannot be empty"):
        doc.set_label(a.id, "  ")
    assert doc.set_label(a.id, "sum_of") == "add"


def test_setters_return_the_old_value_for_undo(doc):
    x = doc.add_node("tensor", "x")
    doc.changes.clear()
    assert doc.set_param(x.id, "value", 5.0) == 0.0
    assert doc.set_pos(x.id, (10, 20)) == (0.0, 0.0)
    assert doc.set_meta("title", "t") is None
    assert whats(doc) == [("node_changed", "value"), ("node_changed", "pos"),
                          ("meta_changed", "title")]
    with pytest.raises(GraphError, match="has no parameter 'nope'"):
        doc.set_param(x.id, "nope", 1)


def test_remove_node_takes_its_edges_and_region_membership(doc):
    x = doc.add_node("tensor", "x")
    n = doc.add_node("neg")
    e = doc.add_edge(x.id, "out", n.id, "input")
    r = doc.add_region("no_grad", [n.id])
    doc.changes.clear()
    node, edges = doc.remove_node(n.id)
    assert node is n and edges == [e]
    assert r.node_ids == [] and doc.edges == {}
    assert whats(doc) == [("edge_removed", None), ("region_changed", "node_ids"),
                          ("node_removed", None)]
    doc.insert_node(node)
    doc.insert_edge(e)
    assert doc.edges_into(n.id) == [e]


def test_edges_into_follow_the_input_ports_not_the_order_they_were_added(doc):
    x, y, m = doc.add_node("tensor", "x"), doc.add_node("tensor", "y"), doc.add_node("mul")
    other = doc.add_edge(y.id, "out", m.id, "other")
    first = doc.add_edge(x.id, "out", m.id, "input")
    assert doc.edges_into(m.id) == [first, other]
    doc.remove_edge(first.id)
    assert doc.edges_into(m.id) == [other]
    assert doc.edges_into(x.id) == [] and doc.edges_into("no such node") == []


def test_cycle_is_refused_with_a_message(doc):
    a, b, c = (doc.add_node("neg", label) for label in "abc")
    doc.add_edge(a.id, "out", b.id, "input")
    doc.add_edge(b.id, "out", c.id, "input")
    revision = doc.revision
    with pytest.raises(GraphError, match="^connecting c to a would make a cycle$"):
        doc.add_edge(c.id, "out", a.id, "input")
    with pytest.raises(GraphError, match="cannot feed itself"):
        doc.add_edge(a.id, "out", a.id, "input")
    assert len(doc.edges) == 2 and doc.revision == revision
    assert doc.topological_order() == [a.id, b.id, c.id]


def test_incompatible_ports_and_taken_inputs_are_refused():
    source = NodeSpec("source", "Source", "Data", outputs=(PortSpec("data", DATASET),))
    doc = Document({**CATALOG, "source": source})
    s = doc.add_node("source")
    n = doc.add_node("neg")
    p = doc.add_node("pow")
    assert doc.check_edge(s.id, "data", n.id, "input") is None      # samples into an op
    assert doc.check_edge(s.id, "data", p.id, "exponent") == (
        "cannot connect source.data to pow.exponent: an exponent is a number or a tensor of "
        "exponents, not a dataset's samples")
    x = doc.add_node("tensor", "x")
    doc.add_edge(x.id, "out", n.id, "input")
    with pytest.raises(GraphError, match="neg.input already has an input"):
        doc.add_edge(x.id, "out", n.id, "input")
    with pytest.raises(GraphError, match="has no output 'y'"):
        doc.add_edge(x.id, "y", n.id, "input")


def test_unknown_kind_is_refused(doc):
    with pytest.raises(GraphError, match="unknown node kind 'magic'"):
        doc.add_node("magic")


def test_detach_and_regions_notify(doc):
    x = doc.add_node("tensor", "x")
    n = doc.add_node("neg")
    e = doc.add_edge(x.id, "out", n.id, "input")
    doc.changes.clear()
    assert doc.set_edge_detach(e.id, True) is False
    r = doc.add_region("no_grad", [n.id])
    assert doc.in_no_grad(n.id) and not doc.in_no_grad(x.id)
    doc.remove_region(r.id)
    assert whats(doc) == [("edge_changed", "detach"), ("region_added", None),
                          ("region_removed", None)]
    with pytest.raises(GraphError, match="unknown region kind"):
        doc.add_region("enable_grad", [n.id])


def test_every_notification_moves_the_revision(doc):
    before = doc.revision
    doc.add_node("tensor", "x")
    doc.set_meta("title", "t")
    doc.clear()
    assert doc.revision == before + 3


def test_label_and_edge_indexes_follow_every_mutation():
    doc = Document()
    x = doc.add_node("tensor", label="x")
    m = doc.add_node("mul")
    doc.add_edge(x.id, "out", m.id, "input")
    assert doc.check_edge(x.id, "out", m.id, "input") == "mul.input already has an input"
    doc.set_label(x.id, "w")
    assert doc.node_by_label("x") is None and doc.node_by_label("w") is x
    assert doc.add_node("tensor", label="x").label == "x"       # the old label is free again
    node, removed = doc.remove_node(m.id)
    assert doc.node_by_label("mul") is None
    doc.insert_node(node)
    for edge in removed:
        doc.insert_edge(edge)
    assert doc.check_edge(m.id, "out", x.id, "input") is not None   # a cycle once more
    twin = doc.copy()
    assert twin.node_by_label("w").id == x.id
    assert twin.check_edge(x.id, "out", m.id, "input") == "mul.input already has an input"


def test_a_long_chain_round_trips():
    """A 3,000-node chain (the edge and label indexes keep loading linear; see bench_canvas)."""
    from gradstudio.graph import fileio

    doc = Document()
    prev = doc.add_node("tensor", params={"value": 1.0})
    for _ in range(3000):
        node = doc.add_node("add")
        doc.add_edge(prev.id, "out", node.id, "input")
        prev = node
    loaded = fileio.loads(fileio.dumps(doc))
    assert len(loaded.edges) == 3000
    assert loaded.node_by_label("add3000") is not None
