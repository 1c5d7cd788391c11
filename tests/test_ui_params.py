"""The small pure pieces under the UI: parameter text both ways, which parameters show,
the search ranking, the layered auto-layout and tensor previews."""
import math
import numpy as np
import pytest

from gradstudio.graph.catalog import CATALOG
from gradstudio.graph.document import Document
from gradstudio.ui.layout import layered_positions
from gradstudio.ui.node_search import search_catalog
from gradstudio.ui.param_values import format_value, parse_value, visible_params
from gradstudio.ui.tensor_text import preview

TENSOR = CATALOG["tensor"]


def param(kind, name):
    return CATALOG[kind].param(name)


@pytest.mark.parametrize("kind,name,text,value", [
    ("tensor", "value", "2", 2.0),
    ("tensor", "value", "[[1, 2], [3, 4]]", [[1.0, 2.0], [3.0, 4.0]]),
    ("tensor", "value", "(1, 2)", [1.0, 2.0]),
    ("tensor", "shape", "2, 3", [2, 3]),
    ("tensor", "shape", "(4,)", [4]),
    ("tensor", "init", "randn", "randn"),
    ("sum", "dim", "", None),
    ("sum", "dim", "1", 1),
    ("add", "scalar", "-0.5", -0.5),
])
def test_parse_value_reads_what_people_type(kind, name, text, value):
    assert parse_value(param(kind, name), text) == value


@pytest.mark.parametrize("kind,name,text,message", [
    ("tensor", "value", "two", r"^value: 'two' is not a number or a nested list of numbers, "
                               r"such as 2.5 or \[\[1, 2\], \[3, 4\]\]$"),
    ("tensor", "value", "[[1, 2], [3]]", "same length"),
    ("tensor", "value", "__import__('os')", "is not a number or a nested list"),
    ("tensor", "init", "sometimes", "'sometimes' is not one of value, "),
    ("tensor", "shape", "100000x100000", "is not sizes separated by commas, such as 2, 3"),
    ("tensor", "shape", "100000, 100000", "makes 10,000,000,000 elements, more than"),
    ("tensor", "requires_grad", "maybe", "'maybe' is not on or off, such as on"),
    ("sum", "dim", "1.5", "'1.5' is not a whole number, such as 3"),
    ("nn.Linear", "in_features", "0", "at least 1"),
    ("index", "index", "1:2:3:4", "too many"),
])
def test_parse_value_refuses_with_a_reason(kind, name, text, message):
    with pytest.raises(ValueError, match=message):
        parse_value(param(kind, name), text)


def test_format_then_parse_round_trips():
    for kind, name, value in (("tensor", "value", [[1.5, -2.0]]), ("tensor", "shape", [2, 3]),
                              ("sum", "dim", None), ("add", "scalar", 0.1)):
        spec = param(kind, name)
        assert parse_value(spec, format_value(spec, value)) == value


def test_leaf_parameters_follow_init_and_scalar_hides_when_connected():
    names = lambda spec, params, connected=(): [p.name for p in visible_params(spec, params, connected)]  # noqa: E731
    assert "shape" not in names(TENSOR, {"init": "value"})
    assert "value" not in names(TENSOR, {"init": "randn"}) and "seed" in names(TENSOR, {"init": "randn"})
    assert "fill_value" in names(TENSOR, {"init": "full"})
    assert "scalar" in names(CATALOG["mul"], {})
    assert "scalar" not in names(CATALOG["mul"], {}, ["other"])


def test_search_ranks_exact_names_first_and_finds_keywords():
    assert search_catalog(CATALOG, "mul")[0].kind == "mul"
    assert search_catalog(CATALOG, "Linear")[0].kind == "nn.Linear"
    assert "mse_loss" in [s.kind for s in search_catalog(CATALOG, "squared error")]
    assert search_catalog(CATALOG, "zzzz") == []
    assert len(search_catalog(CATALOG, "")) == len(CATALOG)


def test_layered_layout_puts_each_node_right_of_its_inputs():
    doc = Document()
    a = doc.add_node("tensor", "a", pos=(0, 100))
    b = doc.add_node("tensor", "b", pos=(0, 0))
    m = doc.add_node("mul")
    r = doc.add_node("relu")
    doc.add_edge(a.id, "out", m.id, "input")
    doc.add_edge(b.id, "out", m.id, "other")
    doc.add_edge(m.id, "out", r.id, "input")
    pos = layered_positions(doc, lambda n: (200, 100))
    assert pos[a.id][0] == pos[b.id][0] < pos[m.id][0] < pos[r.id][0]
    assert pos[b.id][1] < pos[a.id][1]          # sources keep their vertical order
    assert abs(pos[a.id][1] - pos[b.id][1]) >= 100   # no overlap


@pytest.mark.parametrize("value,text", [
    (2.0, "2.0"), (np.float32(0.1), "0.1"), ([1.0, 2.0], "[1.0, 2.0]"),
    (np.arange(6.0).reshape(2, 3), "0.0 … 5.0"), (np.array([1.0, np.nan, 3.0, 4.0, 5.0]),
                                                  "1.0 … 5.0  (1 nan/inf)"), (None, "—"),
])
def test_previews_are_one_short_line(value, text):
    assert preview(value) == text


def test_a_refusal_never_repeats_a_long_input():
    """Issue 17.10: a 2,000-character value was quoted back whole (2,053 characters)."""
    long_text = "x" * 2000
    for kind, name, text in (("tensor", "value", long_text), ("tensor", "shape", long_text),
                             ("sum", "dim", long_text), ("tensor", "init", long_text),
                             ("index", "index", long_text), ("tensor", "shape", "1" * 400),
                             ("index", "index", "1:" + long_text)):
        with pytest.raises(ValueError) as refused:
            parse_value(param(kind, name), text)
        assert len(str(refused.value)) < 200, str(refused.value)


@pytest.mark.parametrize("text,check", [
    ("nan", math.isnan), ("inf", lambda v: v == math.inf), ("-inf", lambda v: v == -math.inf)])
def test_float_fields_take_what_files_take(text, check):
    """Issue 17.10: the Inspector refused nan/inf for float parameters that graph files accept."""
    assert check(parse_value(param("tensor", "fill_value"), text))
