"""Groups in the document: nesting, ungroup as the exact inverse, summaries, the file format."""
import json

import pytest

from gradstudio.graph import Document, FileFormatError, GraphError, dumps, loads


def chain(n=4):
    doc = Document()
    x = doc.add_node("tensor", label="x", params={"value": [1.0, 2.0], "requires_grad": True})
    w = doc.add_node("parameter", label="w", params={"init": "randn", "shape": [3, 2]})
    ids = [x.id, w.id]
    prev = x.id
    for k in range(n):
        node = doc.add_node("exp" if k % 2 else "neg", label=f"op{k}")
        doc.add_edge(prev, "out", node.id, "input")
        ids.append(node.id)
        prev = node.id
    return doc, ids


def state(doc):
    return {g.id: (g.label, sorted(g.node_ids), g.parent) for g in doc.groups.values()}


def test_group_then_nest_then_ungroup_restores_each_state():
    doc, ids = chain()
    outer = doc.group_items(ids[2:6], label="body")
    assert outer.parent is None and outer.node_ids == ids[2:6]
    before = state(doc)
    inner = doc.group_items(ids[3:5], label="middle")
    assert inner.parent == outer.id                      # inside the common group
    assert sorted(doc.groups[outer.id].node_ids) == sorted([ids[2], ids[5]])
    assert doc.group_chain(doc.group_of_node(ids[3]).id) == [inner.id, outer.id]
    assert sorted(doc.group_nodes(outer.id)) == sorted(ids[2:6])
    doc.ungroup(inner.id)
    assert state(doc) == before


def test_grouping_a_node_inside_a_group_with_an_outside_node_takes_the_whole_inner_group():
    doc, ids = chain()
    inner = doc.group_items(ids[3:5], label="inner")
    wrapper = doc.group_items([ids[2], ids[3]], label="wrapper")   # ids[3] is inside inner
    assert wrapper.parent is None
    assert wrapper.node_ids == [ids[2]]
    assert doc.groups[inner.id].parent == wrapper.id
    doc.ungroup(wrapper.id)
    assert doc.groups[inner.id].parent is None and doc.group_of_node(ids[2]) is None


def test_group_summary_counts_ops_and_parameter_elements():
    doc, ids = chain()
    group = doc.group_items(ids, label="all")
    ops, params = doc.group_summary(group.id)
    assert ops == 4
    assert params == 2 + 6          # x (requires_grad, 2 values) and w (shape 3x2)


def test_removing_a_node_leaves_its_group_and_errors_are_messages():
    doc, ids = chain()
    group = doc.group_items(ids[2:4])
    doc.remove_node(ids[2])
    assert doc.groups[group.id].node_ids == [ids[3]]
    with pytest.raises(GraphError, match="select nodes"):
        doc.group_items([])
    with pytest.raises(GraphError, match="no group"):
        doc.ungroup("nope")
    with pytest.raises(GraphError, match="cannot be empty"):
        doc.set_group_label(group.id, "  ")


def test_groups_round_trip_through_the_file_and_raise_the_version():
    doc, ids = chain()
    assert json.loads(dumps(doc))["version"] == 1          # no groups: still readable by v1
    outer = doc.group_items(ids[2:6], label="body", info={"module": "body", "type": "Seq"})
    doc.group_items(ids[3:5], label="middle", collapsed=True)
    text = dumps(doc)
    assert json.loads(text)["version"] == 2
    again = loads(text)
    assert state(again) == state(doc)
    assert again.groups[outer.id].info == {"module": "body", "type": "Seq"}
    assert [g.collapsed for g in again.groups.values()] == [g.collapsed for g in doc.groups.values()]
    assert dumps(again) == text


@pytest.mark.parametrize("groups, message", [
    ([{"id": "g1", "label": "a", "nodes": ["nope"]}], "no node has the id"),
    ([{"id": "g1", "label": "a", "nodes": ["n1"], "parent": "g9"}], "no parent group"),
    ([{"id": "g1", "label": "a", "nodes": ["n1"], "parent": "g2"},
      {"id": "g2", "label": "b", "nodes": [], "parent": "g1"}], "cycle"),
    ([{"id": "g1", "label": "a", "nodes": ["n1"]},
      {"id": "g2", "label": "b", "nodes": ["n1"]}], "already in group"),
    ([{"id": "g1", "label": "a", "collapsed": "yes"}], "collapsed: expected true or false"),
    ([{"id": "g1", "label": "a", "colour": 1}], "unknown field"),
])
def test_bad_groups_are_refused_with_a_message(groups, message):
    raw = {"format": "gradstudio-graph", "version": 2,
           "nodes": [{"id": "n1", "kind": "tensor", "label": "x"}], "groups": groups}
    with pytest.raises(FileFormatError, match=message):
        loads(json.dumps(raw))


def test_a_version_1_file_cannot_hold_groups():
    raw = {"format": "gradstudio-graph", "version": 1,
           "nodes": [{"id": "n1", "kind": "tensor", "label": "x"}],
           "groups": [{"id": "g1", "label": "a", "nodes": ["n1"]}]}
    with pytest.raises(FileFormatError, match="version 1"):
        loads(json.dumps(raw))
