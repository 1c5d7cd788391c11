"""The graph file format: round trips, atomic saves, and refusals with one-line messages."""
import json
import math
import os

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from gradstudio.graph import fileio
from gradstudio.graph.catalog import CATALOG
from gradstudio.graph.document import Document
from gradstudio.graph.fileio import FileFormatError


def z_graph() -> Document:
    doc = Document()
    x = doc.add_node("tensor", "x", {"value": 2.0, "requires_grad": True}, pos=(0, 0))
    y = doc.add_node("tensor", "y", {"value": 3.0, "requires_grad": True}, pos=(0, 220))
    xy = doc.add_node("mul", "xy", pos=(220, 0))
    y2 = doc.add_node("pow", "y2", {"scalar": 2.0}, pos=(220, 220))
    z = doc.add_node("add", "z", pos=(440, 110))
    root = doc.add_node("backward", "backward", pos=(660, 110))
    doc.add_edge(x.id, "out", xy.id, "input")
    doc.add_edge(y.id, "out", xy.id, "other")
    doc.add_edge(y.id, "out", y2.id, "input", detach=True)
    doc.add_edge(xy.id, "out", z.id, "input")
    doc.add_edge(y2.id, "out", z.id, "other")
    doc.add_edge(z.id, "out", root.id, "input")
    doc.add_region("no_grad", [y2.id])
    doc.set_meta("title", "z = x*y + y**2")
    return doc


def same(a: Document, b: Document) -> bool:
    return fileio.to_json(a) == fileio.to_json(b)


def minimal(**extra) -> dict:
    return {"format": "gradstudio-graph", "version": 1, **extra}


def refused(raw) -> str:
    text = raw if isinstance(raw, (str, bytes)) else json.dumps(raw)
    with pytest.raises(FileFormatError) as info:
        fileio.loads(text)
    message = str(info.value)
    assert "\n" not in message
    return message


# --------------------------------------------------------------------------- round trips
def test_save_load_round_trip_is_equal(tmp_path):
    doc = z_graph()
    path = tmp_path / "z.json"
    fileio.save(doc, path)
    again = fileio.load(path)
    assert same(doc, again)
    assert again.nodes.keys() == doc.nodes.keys()
    assert [e.detach for e in again.edges.values()] == [e.detach for e in doc.edges.values()]
    assert again.node_by_label("y2").params["scalar"] == 2.0
    assert fileio.dumps(again) == path.read_text()


def test_file_is_readable_and_stable():
    text = fileio.dumps(z_graph())
    raw = json.loads(text)
    assert list(raw) == ["format", "version", "meta", "nodes", "edges", "regions"]
    assert [n["id"] for n in raw["nodes"]] == ["n1", "n2", "n3", "n4", "n5", "n6"]
    assert '\n  "nodes": [\n    {\n      "id": "n1",' in text
    assert fileio.dumps(fileio.loads(text)) == text


def test_nodes_sort_naturally_by_id():
    doc = Document()
    for k in (10, 2, 1):
        doc.add_node("tensor", f"t{k}", node_id=f"n{k}")
    assert [n["id"] for n in fileio.to_json(doc)["nodes"]] == ["n1", "n2", "n10"]


def test_tensor_values_stay_on_one_line_and_non_finite_become_strings():
    doc = Document()
    doc.add_node("tensor", "m", {"value": [[1.0, math.nan], [math.inf, -math.inf]]})
    text = fileio.dumps(doc)
    assert '"value": [[1.0, "nan"], ["inf", "-inf"]]' in text
    value = fileio.loads(text).node_by_label("m").params["value"]
    assert math.isnan(value[0][1]) and value[1] == [math.inf, -math.inf]


def test_every_catalog_kind_round_trips():
    doc = Document()
    for k, kind in enumerate(CATALOG):
        doc.add_node(kind, pos=(220 * k, 0))
    again = fileio.loads(fileio.dumps(doc))
    assert same(doc, again)
    assert {n.kind for n in again.nodes.values()} == set(CATALOG)


def test_missing_params_take_defaults():
    raw = minimal(nodes=[{"id": "a", "kind": "tensor", "label": "x"}])
    node = fileio.loads(json.dumps(raw)).nodes["a"]
    assert node.params == CATALOG["tensor"].default_params()


# --------------------------------------------------------------------------- saving
def test_save_keeps_a_backup_of_the_previous_version(tmp_path):
    path = tmp_path / "g.json"
    first = z_graph()
    fileio.save(first, path)
    second = z_graph()
    second.set_meta("title", "second")
    fileio.save(second, path)
    assert fileio.load(path).meta["title"] == "second"
    assert fileio.load(str(path) + ".bak").meta["title"] == "z = x*y + y**2"
    assert sorted(os.listdir(tmp_path)) == ["g.json", "g.json.bak"]


def test_failed_save_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "g.json"
    fileio.save(z_graph(), path)
    before = path.read_bytes()

    def broken_fsync(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    changed = z_graph()
    changed.set_meta("title", "never written")
    with pytest.raises(OSError):
        fileio.save(changed, path)
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["g.json"]


# --------------------------------------------------------------------------- refusals
def test_not_a_graph_file():
    assert refused("") == "the file is empty"
    assert refused(b"\x89PNG\r\n\x1a\n\xff") .startswith("the file is not UTF-8")
    assert refused("{\"format\": ").startswith("not valid JSON at line 1")
    assert refused([1, 2]) == "the file must hold a JSON object, not a list"
    assert "not a gradstudio graph" in refused({"format": "other", "version": 1})


def test_newer_version_is_named():
    message = refused(minimal(version=7))
    assert "made by a newer gradstudio (version 7)" in message


def test_wrong_types_name_the_place():
    bad_value = minimal(nodes=[{"id": "a", "kind": "tensor", "label": "x",
                                "params": {"value": {"x": 1}}}])
    assert refused(bad_value) == ("nodes[0].params.value: '{\"x\": 1}' is not a number or a "
                                  "nested list of numbers, such as 2.5 or [[1, 2], [3, 4]]")
    assert refused(minimal(nodes={})) == "nodes: expected a list, found an object"
    assert refused(minimal(nodes=[{"id": 3, "kind": "tensor", "label": "x"}])) == (
        "nodes[0].id: expected a non-empty string, found a number")
    bad_bool = minimal(nodes=[{"id": "a", "kind": "tensor", "label": "x",
                               "params": {"requires_grad": "yes"}}])
    assert refused(bad_bool) == ("nodes[0].params.requires_grad: 'yes' is not true or false, "
                                 "such as true")
    bad_choice = minimal(nodes=[{"id": "a", "kind": "tensor", "label": "x",
                                 "params": {"dtype": "int8"}}])
    assert refused(bad_choice) == ("nodes[0].params.dtype: 'int8' is not one of float32, "
                                   "float64")


def test_unknown_kinds_params_and_fields():
    assert refused(minimal(nodes=[{"id": "a", "kind": "os.system", "label": "x"}])) == (
        "nodes[0].kind: unknown node kind 'os.system'")
    assert refused(minimal(nodes=[{"id": "a", "kind": "add", "label": "x",
                                   "params": {"alpha": 2}}])) == (
        "nodes[0].params: add has no parameter 'alpha'")
    assert refused(minimal(nodes=[{"id": "a", "kind": "add", "label": "x", "code": "1"}])) == (
        "nodes[0]: unknown field 'code'")
    assert "unknown field" in refused(minimal(extra=1))


def test_bad_index_expression_is_refused():
    raw = minimal(nodes=[{"id": "a", "kind": "index", "label": "i",
                          "params": {"index": "__import__('os')"}}])
    assert refused(raw).startswith("nodes[0].params.index: ")


def two_nodes(edges, nodes=None):
    nodes = nodes or [{"id": "a", "kind": "tensor", "label": "x"},
                      {"id": "b", "kind": "neg", "label": "n"},
                      {"id": "c", "kind": "neg", "label": "m"}]
    return minimal(nodes=nodes, edges=edges)


def edge(eid, src, dst, src_port="out", dst_port="input"):
    return {"id": eid, "src": src, "src_port": src_port, "dst": dst, "dst_port": dst_port}


def test_duplicates_dangling_and_cycles():
    assert refused(minimal(nodes=[{"id": "a", "kind": "tensor", "label": "x"},
                                  {"id": "a", "kind": "tensor", "label": "y"}])) == (
        "nodes[1].id: the id 'a' is used twice")
    assert refused(minimal(nodes=[{"id": "a", "kind": "tensor", "label": "x"},
                                  {"id": "b", "kind": "tensor", "label": "x"}])) == (
        "nodes[1].label: the label 'x' is used twice")
    assert refused(two_nodes([edge("e1", "a", "zz")])) == "edges[0].dst: no node has the id 'zz'"
    assert refused(two_nodes([edge("e1", "a", "b"), edge("e1", "a", "c")])) == (
        "edges[1].id: the id 'e1' is used twice")
    assert refused(two_nodes([edge("e1", "a", "b"), edge("e2", "a", "b")])) == (
        "edges[1]: n.input already has an input")
    assert refused(two_nodes([edge("e1", "b", "c"), edge("e2", "c", "b")])) == (
        "edges[1]: connecting m to n would make a cycle")
    assert refused(two_nodes([edge("e1", "a", "b", src_port="x")])) == (
        "edges[0]: x has no output 'x'")
    region = minimal(nodes=[{"id": "a", "kind": "tensor", "label": "x"}],
                     regions=[{"id": "r", "kind": "no_grad", "label": "r", "nodes": ["q"]}])
    assert refused(region) == "regions[0].nodes[0]: no node has the id 'q'"


def test_absurd_sizes_and_nan_literals():
    big = minimal(nodes=[{"id": "a", "kind": "tensor", "label": "x",
                          "params": {"init": "zeros", "shape": [100000, 100000]}}])
    assert "more than" in refused(big)
    deep = minimal(nodes=[{"id": "a", "kind": "tensor", "label": "x",
                           "params": {"value": [[[[[[[[[[1.0]]]]]]]]]]}}])
    assert "nested deeper" in refused(deep)
    assert "too deeply" in refused("[" * 200_000 + "]" * 200_000)
    nan_text = json.dumps(minimal(nodes=[{"id": "a", "kind": "tensor", "label": "x",
                                          "params": {"value": 1.0}}])).replace("1.0", "NaN")
    assert "literal NaN" in refused(nan_text)
    ragged = minimal(nodes=[{"id": "a", "kind": "tensor", "label": "x",
                             "params": {"value": [[1.0], [1.0, 2.0]]}}])
    assert "different lengths" in refused(ragged)
    assert "root" in refused(minimal(meta={"root": "nobody"}))


def test_unreadable_path_is_a_format_error(tmp_path):
    with pytest.raises(FileFormatError, match="cannot read"):
        fileio.load(tmp_path / "missing.json")


# --------------------------------------------------------------------------- fuzz
def load_or_refuse(data):
    try:
        doc = fileio.loads(data)
    except FileFormatError as exc:
        assert str(exc) and "\n" not in str(exc)
        return None
    assert isinstance(doc, Document)
    return doc


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=300))
def test_fuzz_raw_bytes(data):
    load_or_refuse(data)


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=60))
def test_fuzz_bytes_spliced_into_a_valid_file(data):
    text = fileio.dumps(z_graph()).encode()
    cut = len(data) * 7 % len(text)
    load_or_refuse(text[:cut] + data + text[cut + len(data) // 2:])


json_leaf = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
                      st.text(max_size=8), st.sampled_from(["nan", "inf", "out", "input",
                                                            "tensor", "a", "b", "no_grad"]))
json_value = st.recursive(json_leaf, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=6), inner, max_size=4)),
    max_leaves=6)
param_values = st.dictionaries(
    st.sampled_from(sorted({p.name for s in CATALOG.values() for p in s.params})),
    json_value, max_size=3)
node = st.fixed_dictionaries(
    {"id": st.sampled_from(["a", "b", "c", ""]), "kind": st.sampled_from(sorted(CATALOG)),
     "label": st.sampled_from(["x", "y", "z", " "])},
    optional={"params": param_values, "pos": json_value,
              "hooks": st.lists(st.one_of(json_leaf, st.fixed_dictionaries(
                  {"kind": st.sampled_from(["scale", "clamp", "zero", "normalize", "log", "x"])},
                  optional={"k": json_leaf, "min": json_leaf, "max": json_leaf,
                            "port": st.sampled_from(["out", "x", "indices"])})), max_size=3)})
edge_strategy = st.fixed_dictionaries(
    {"id": st.sampled_from(["e1", "e2", "e3"]), "src": st.sampled_from(["a", "b", "c", "q"]),
     "src_port": st.sampled_from(["out", "x", "y", "indices"]),
     "dst": st.sampled_from(["a", "b", "c"]),
     "dst_port": st.sampled_from(["input", "other", "exponent", "gradient", "t0"])},
    optional={"detach": json_value})
region_strategy = st.fixed_dictionaries(
    {"id": st.sampled_from(["r1", "r2"]), "kind": st.sampled_from(["no_grad", "other"])},
    optional={"nodes": st.lists(st.sampled_from(["a", "b", "c", 1]), max_size=3),
              "label": json_value})
document = st.fixed_dictionaries(
    {"format": st.sampled_from(["gradstudio-graph"] * 9 + ["x"]),
     "version": st.sampled_from([1] * 12 + [2, 0, "1", True])},
    optional={"nodes": st.lists(node, max_size=4), "edges": st.lists(edge_strategy, max_size=4),
              "regions": st.lists(region_strategy, max_size=2),
              "meta": st.dictionaries(st.sampled_from(["title", "root", "training", "x"]),
                                      json_value, max_size=3)})
training_meta = st.fixed_dictionaries(
    {"data": st.sampled_from(["data", "data", "x"]), "loss": st.sampled_from(["z", "z", "q"])},
    optional={key: st.one_of(json_leaf, json_value) for key in (
        "prediction", "optimizer", "steps", "epochs", "batch_size", "validation_split", "seed",
        "device", "clipping", "frozen", "eval_every", "lr")})


@settings(max_examples=800, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(document)
def test_fuzz_schema(raw):
    doc = load_or_refuse(json.dumps(raw))
    if doc is not None:  # whatever loads saves and loads back the same
        assert fileio.to_json(fileio.loads(fileio.dumps(doc))) == fileio.to_json(doc)


def z_graph_with_data() -> Document:
    doc = z_graph()
    doc.add_node("dataset", "data", pos=(0, 440))
    return doc


Z_FILE = fileio.to_json(z_graph_with_data())


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(training_meta)
def test_fuzz_training_setup(setup):
    load_or_refuse(json.dumps({**Z_FILE, "meta": {"training": setup}}))


def test_meta_is_written_in_one_order_whatever_the_order_of_edits():
    """Undo of a cleared meta.root put the key back last, so undo-all gave other file text."""
    doc = Document()
    doc.add_node("tensor", "x")
    doc.set_meta("title", "t")
    doc.set_meta("root", "x")
    doc.set_meta("dashboard", {"plots": []})
    before = fileio.dumps(doc)
    old = doc.set_meta("root", None)
    doc.set_meta("root", old)
    assert fileio.dumps(doc) == before
