"""One check for every value that enters a document, whoever brings it: a file being loaded,
Edit > Paste, the Expressions box, and the Inspector or the canvas's inline editors.

    value = check_param(param, value, "value")      # the value as the document keeps it
    node = check_node_entry(catalog, item, "nodes[3]")   # a node as a file or clipboard has it
    check_references(doc)                           # meta.root, meta.training name nodes

A refusal raises `InvalidValue` (a GraphError) with one short sentence in the person's terms:
where, what was given (quoted, at most 40 characters: a 2,000-character input is never
repeated), and an example of what is accepted:

    value: 'abc' is not a number or a nested list of numbers, such as 2.5 or [[1, 2], [3, 4]]

Callers add nothing but the place (`where`): the file loader passes "nodes[3].params.value",
the Inspector the parameter's name. Non-finite floats are data, not errors: a float parameter
or a tensor value may be nan, inf or -inf (written as the strings "nan", "inf", "-inf" in a
file); a node's position must be two finite numbers.
"""
from __future__ import annotations

import copy
import json
import math
from dataclasses import dataclass
from typing import Any

from gradstudio.graph.catalog import MAX_ELEMENTS, MAX_RANK, MAX_VALUE_ELEMENTS
from gradstudio.graph.catalog_types import (
    BOOL, CHOICE, FLOAT, INT, PATH, SHAPE, STR, TENSOR_VALUE, NodeSpec, ParamSpec)
from gradstudio.graph.document import Document, GraphError
from gradstudio.graph.grad_hooks import check_hooks

MAX_TEXT = 10_000              # characters in one label, id, string parameter or meta text
MAX_COORD = 1e9               # a node position's farthest x or y from the origin
MAX_SHOWN = 40                 # characters of a refused input quoted back in a message
NON_FINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}
NODE_KEYS = ("id", "kind", "label", "pos", "params", "hooks")


class InvalidValue(GraphError):
    """A value a document cannot take; the message is one sentence for the person."""


# =========================================================================== messages
def brief(value: Any) -> str:
    """The value as the person wrote it, quoted and cut to MAX_SHOWN characters."""
    if isinstance(value, str):
        text = value
    else:
        try:
            text = json.dumps(value, allow_nan=True, default=str)
        except (TypeError, ValueError, RecursionError):
            text = type(value).__name__
    text = " ".join(text.split())
    if len(text) > MAX_SHOWN:
        text = text[:MAX_SHOWN - 1] + "…"
    return f"'{text}'"


def accepted_form(param: ParamSpec) -> str:
    """What the parameter takes, with an example: the end of every refusal's sentence."""
    kind = param.type
    if kind == FLOAT:
        return "a number, such as 0.5 (nan, inf and -inf are allowed)"
    if kind == INT:
        return "a whole number, such as 3"
    if kind == BOOL:
        return "true or false, such as true"
    if kind in (STR, PATH):
        return f"text of at most {MAX_TEXT:,} characters"
    if kind == CHOICE:
        return "one of " + ", ".join(str(c) for c in param.choices)
    if kind == SHAPE:
        return (f"sizes separated by commas, such as 2, 3 (at most {MAX_RANK} sizes and "
                f"{MAX_ELEMENTS:,} elements; -1 for a size to infer)")
    if kind == TENSOR_VALUE:
        return "a number or a nested list of numbers, such as 2.5 or [[1, 2], [3, 4]]"
    return "a value of the expected kind"


def _refuse(where: str, value: Any, param: ParamSpec) -> InvalidValue:
    return InvalidValue(f"{_at(where)}{brief(value)} is not {accepted_form(param)}")


def _at(where: str) -> str:
    return f"{where}: " if where else ""


# =========================================================================== parameters
def check_param(param: ParamSpec, value: Any, where: str = "") -> Any:
    """The value as the document keeps it, or InvalidValue saying what is accepted."""
    where = where or param.name
    if value is None:
        if param.nullable:
            return None
        raise InvalidValue(f"{_at(where)}a value is required: {accepted_form(param)}")
    kind = param.type
    if kind == FLOAT:
        if isinstance(value, str) and value.strip().lower() in NON_FINITE:
            value = NON_FINITE[value.strip().lower()]
        elif not is_number(value):
            raise _refuse(where, value, param)
        try:
            value = float(value)
        except OverflowError:
            raise InvalidValue(f"{_at(where)}the number is too large; "
                               f"write inf for an infinite value") from None
    elif kind == INT:
        if type(value) is not int or abs(value) > 2**63:
            raise _refuse(where, value, param)
    elif kind == BOOL:
        if not isinstance(value, bool):
            raise _refuse(where, value, param)
    elif kind in (STR, PATH):
        if not isinstance(value, str) or len(value) > MAX_TEXT:
            raise _refuse(where, value, param)
    elif kind == CHOICE:
        if not any(value == c and type(value) is type(c) for c in param.choices):
            raise _refuse(where, value, param)
    elif kind == SHAPE:
        value = _shape(param, value, where)
    elif kind == TENSOR_VALUE:
        value = _tensor_value(param, value, where)
    if kind in (FLOAT, INT) and not (isinstance(value, float) and math.isnan(value)):
        if param.minimum is not None and value < param.minimum:
            raise InvalidValue(f"{_at(where)}must be at least {param.minimum:g}, "
                               f"not {brief(value)}")
        if param.maximum is not None and value > param.maximum:
            raise InvalidValue(f"{_at(where)}must be at most {param.maximum:g}, "
                               f"not {brief(value)}")
    if param.validate is not None:
        problem = param.validate(value)
        if problem:
            if isinstance(value, str) and len(value) > MAX_SHOWN:   # never the whole input
                problem = problem.replace(f"'{value}'", brief(value)).replace(value, brief(value))
            raise InvalidValue(f"{_at(where)}{problem}")
    return value


def check_params(spec: NodeSpec, params: Any, where: str) -> dict[str, Any]:
    """A node's parameters (an object of name -> value), each checked; unknown names refused."""
    params = object_field(params, where)
    checked = {}
    for key, value in params.items():
        param = spec.param(key)
        if param is None:
            raise InvalidValue(f"{_at(where)}{spec.title} has no parameter {brief(key)}")
        checked[key] = check_param(param, value, f"{where}.{key}" if where else key)
    return checked


def _shape(param: ParamSpec, value: Any, where: str) -> list[int]:
    if isinstance(value, tuple):
        value = list(value)
    if (not isinstance(value, list) or len(value) > MAX_RANK
            or not all(type(n) is int and n >= -1 for n in value)):
        raise _refuse(where, value, param)
    elements = math.prod(n for n in value if n > 0)
    if elements > MAX_ELEMENTS:
        count = f"{elements:,}" if elements < 10**15 else "over 10^15"
        raise InvalidValue(f"{_at(where)}{brief(', '.join(map(str, value)))} makes {count} "
                           f"elements, more than the {MAX_ELEMENTS:,} a tensor may have here; "
                           f"use a smaller shape such as 1000, 1000")
    return list(value)


def _tensor_value(param: ParamSpec, value: Any, where: str) -> Any:
    """A number or a rectangular nested list of numbers; "nan", "inf", "-inf" read as floats."""
    counted = [0]

    def walk(item: Any, depth: int) -> tuple[Any, tuple[int, ...]]:
        if isinstance(item, (list, tuple)):
            if depth >= MAX_RANK:
                raise InvalidValue(f"{_at(where)}nested deeper than {MAX_RANK} levels; a tensor "
                                   f"value has at most {MAX_RANK} dimensions, such as [[1, 2]]")
            for v in item:
                if type(v) is not float and type(v) is not int:
                    break
            else:                                     # a row of plain numbers: as they are
                counted[0] += len(item)
                if counted[0] > MAX_VALUE_ELEMENTS:
                    raise InvalidValue(f"{_at(where)}more than {MAX_VALUE_ELEMENTS:,} numbers "
                                       f"written out; for a large tensor choose an init such as "
                                       f"randn and a shape")
                return list(item), (len(item),)
            converted = [walk(v, depth + 1) for v in item]
            shapes = {shape for _, shape in converted}
            if len(shapes) > 1:
                raise InvalidValue(f"{_at(where)}the nested lists have different lengths; rows "
                                   f"must be the same length, such as [[1, 2], [3, 4]]")
            inner = shapes.pop() if shapes else ()
            return [v for v, _ in converted], (len(item),) + inner
        if isinstance(item, str) and item.strip().lower() in NON_FINITE:
            item = NON_FINITE[item.strip().lower()]
        elif not is_number(item):
            raise _refuse(where, value, param)
        counted[0] += 1
        if counted[0] > MAX_VALUE_ELEMENTS:
            raise InvalidValue(f"{_at(where)}more than {MAX_VALUE_ELEMENTS:,} numbers written "
                               f"out; for a large tensor choose an init such as randn and a shape")
        try:
            return (float(item) if isinstance(item, float) else item), ()
        except OverflowError:
            raise InvalidValue(f"{_at(where)}a number is too large; write inf for an "
                               f"infinite value") from None

    return walk(value, 0)[0]


# =========================================================================== nodes
@dataclass
class NodeEntry:
    """A node as a file or the clipboard describes it, every field checked."""
    id: str
    kind: str
    label: str
    pos: tuple[float, float]
    params: dict[str, Any]
    hooks: list[dict[str, Any]]


def check_node_entry(catalog: dict[str, NodeSpec], item: Any, where: str) -> NodeEntry:
    """One node object of a file or a paste: its fields, kind, position, parameters and hooks.
    (Uniqueness of ids and labels is the caller's: a paste renames, a file refuses.)"""
    item = object_field(item, where)
    known_keys(item, NODE_KEYS, where)
    node_id = text_field(item.get("id"), f"{where}.id")
    kind = text_field(item.get("kind"), f"{where}.kind")
    label = check_label(item.get("label"), f"{where}.label")
    if kind not in catalog:
        raise InvalidValue(f"{where}.kind: unknown node kind {brief(kind)}")
    pos = check_pos(item.get("pos", [0.0, 0.0]), f"{where}.pos")
    spec = catalog[kind]
    params = check_params(spec, item.get("params", {}), f"{where}.params")
    hooks = item.get("hooks", [])
    if hooks is None:
        hooks = []
    if not isinstance(hooks, list):
        raise InvalidValue(f"{where}.hooks: expected a list, such as [{{\"kind\": \"scale\", "
                           f"\"k\": 10}}]")
    problem = check_hooks(hooks, tuple(p.name for p in spec.outputs))
    if problem:
        raise InvalidValue(f"{where}.{problem}")
    return NodeEntry(node_id, kind, label, pos, params, [dict(h) for h in hooks])


def check_label(value: Any, where: str = "label") -> str:
    """A node's label: text of 1 to MAX_TEXT characters, spaces at the ends dropped."""
    if isinstance(value, str) and value.strip() and len(value) <= MAX_TEXT:
        return value.strip()
    raise InvalidValue(f"{_at(where)}{brief(value)} is not a label; a label is a name of 1 to "
                       f"{MAX_TEXT:,} characters, such as x or loss")


def check_pos(value: Any, where: str) -> tuple[float, float]:
    """[x, y] on the canvas: two finite numbers within MAX_COORD of the origin."""
    if isinstance(value, (list, tuple)) and len(value) == 2:
        x, y = finite_number(value[0]), finite_number(value[1])
        if x is not None and y is not None and abs(x) <= MAX_COORD and abs(y) <= MAX_COORD:
            return x, y
    raise InvalidValue(f"{_at(where)}{brief(value)} is not a position; expected [x, y], two "
                       f"numbers between -{MAX_COORD:g} and {MAX_COORD:g}, such as [120, -40]")


# =========================================================================== references
def label_references(meta: dict) -> list[tuple[str, str]]:
    """Every (field, label) by which meta names a node: meta.root and the training setup's
    data, loss, prediction and frozen (the one list the reference-keeping rule walks)."""
    found = []
    if isinstance(meta.get("root"), str):
        found.append(("meta.root", meta["root"]))
    training = meta.get("training")
    if isinstance(training, dict):
        for key in ("data", "loss", "prediction"):
            if isinstance(training.get(key), str):
                found.append((f"training.{key}", training[key]))
        frozen = training.get("frozen")
        if isinstance(frozen, list):
            found += [("training.frozen", label) for label in frozen if isinstance(label, str)]
    return found


def follow_references(meta: dict, renamed: dict[str, str | None]) -> dict[str, Any]:
    """The reference-keeping rule for edits: `renamed` maps old label -> new label, or None for
    a deleted node. Returns the top-level meta keys to change and their new values (None
    removes the key): a reference follows a rename; on delete meta.root and
    training.prediction are cleared, frozen loses the label, and a setup whose data or loss
    node is deleted is removed whole (it cannot train without them; undo brings it back)."""
    changes: dict[str, Any] = {}
    root = meta.get("root")
    if isinstance(root, str) and root in renamed:
        changes["root"] = renamed[root]
    training = meta.get("training")
    if not isinstance(training, dict):
        return changes
    new: dict | None = copy.deepcopy(training)
    for key in ("data", "loss", "prediction"):
        label = new.get(key)
        if isinstance(label, str) and label in renamed:
            if renamed[label] is not None:
                new[key] = renamed[label]
            elif key == "prediction":
                del new[key]
            else:
                new = None
                break
    if new is not None and isinstance(new.get("frozen"), list):
        frozen = [renamed.get(label, label) if isinstance(label, str) else label
                  for label in new["frozen"]]
        new["frozen"] = [label for label in frozen if label is not None]
    if new != training:
        changes["training"] = new
    return changes


def check_references(doc: Document) -> None:
    """Every label meta names is a node of `doc`, and the training setup is valid."""
    from gradstudio.graph.training_setup import check_training_meta

    for key in ("title", "description", "root"):
        if key in doc.meta and not isinstance(doc.meta[key], str):
            raise InvalidValue(f"meta.{key}: expected a string")
    if "root" in doc.meta and doc.node_by_label(doc.meta["root"]) is None:
        raise InvalidValue(f"meta.root: no node is labelled {brief(doc.meta['root'])}")
    check_training_meta(doc)


# =========================================================================== small checks
def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def finite_number(value: Any) -> float | None:
    """The value as a finite float, or None when it is not a finite number."""
    if not is_number(value):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def kind_of(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "true/false",
            type(None): "null"}.get(type(value), "a number")


def object_field(value: Any, where: str) -> dict:
    if not isinstance(value, dict):
        raise InvalidValue(f"{_at(where)}expected an object, found {kind_of(value)}")
    return value


def text_field(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidValue(f"{_at(where)}expected a non-empty string, found {kind_of(value)}")
    if len(value) > MAX_TEXT:
        raise InvalidValue(f"{_at(where)}longer than {MAX_TEXT:,} characters")
    return value


def known_keys(item: dict, allowed: tuple[str, ...], where: str) -> None:
    for key in item:
        if key not in allowed:
            raise InvalidValue(f"{_at(where)}unknown field {brief(key)}")
