"""The `call` node: a recorded engine op call, replayed from data, and nothing but engine ops."""
import json

import pytest

from gradstudio.graph import Document, FileFormatError, loads
from gradstudio.graph.script_call import call_ports
from gradstudio.runtime.session import Session


def doc_with_call(function, args):
    doc = Document()
    a = doc.add_node("tensor", label="a", params={"value": [[1.0, 2.0]], "requires_grad": True})
    b = doc.add_node("tensor", label="b", params={"value": [[3.0], [4.0]]})
    call = doc.add_node("call", label="mm", params={"function": function, "args": json.dumps(args)})
    doc.add_edge(a.id, "out", call.id, "in0")
    doc.add_edge(b.id, "out", call.id, "in1")
    doc.meta["root"] = "mm"
    return doc, call


def test_a_call_node_runs_its_engine_op_with_its_arguments():
    doc, call = doc_with_call("engine.matmul",
                              {"args": [{"$in": 0}, {"$in": 1}], "kwargs": {}, "outputs": 1})
    session = Session(doc)
    assert session.run(), session.errors
    assert session.value("mm").tolist() == [[11.0]]
    assert session.value("a").grad.tolist() == [[3.0, 4.0]]
    assert call_ports(call.params) == (("in0", "in1"), ("out",))


def test_tagged_arguments_and_several_outputs():
    doc, call = doc_with_call("engine.max", {"args": [{"$in": 0}], "kwargs": {"dim": 1},
                                                 "outputs": 2})
    doc.remove_edge(doc.edges_into(call.id)[1].id)
    doc.meta.pop("root")
    session = Session(doc)
    session.forward()
    assert session.value("mm", "out").tolist() == [2.0]
    assert session.value("mm", "out1").tolist() == [1]
    assert call_ports(call.params) == (("in0",), ("out", "out1"))


@pytest.mark.parametrize("function, message", [
    ("os.system", "engine op"),
    ("engine.backend.xp_of", "not an engine op"),
    ("engine.nothing_here", "engine has no"),
])
def test_only_recorded_engine_ops_can_be_called(function, message):
    args = {"args": [{"$in": 0}, {"$in": 1}], "kwargs": {}}
    raw = json.loads(__import__("gradstudio.graph.fileio", fromlist=["dumps"]).dumps(
        doc_with_call("engine.matmul", args)[0]))
    for node in raw["nodes"]:
        if node["kind"] == "call":
            node["params"]["function"] = function
    try:
        doc = loads(json.dumps(raw))
    except FileFormatError as exc:
        assert message in str(exc)
        return
    session = Session(doc)
    session.forward()
    assert message in session.errors[doc.node_by_label("mm").id]
