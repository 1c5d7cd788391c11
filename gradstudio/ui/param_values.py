"""Parameter values as text: how an editor shows a value and reads back what was typed.

One place for both directions, used by the canvas's inline editors and by the inspector.
`parse_value` raises ValueError with a message for the person; it never evaluates code.
"""
from __future__ import annotations

import json
import math
from typing import Any, Iterable

from gradstudio.graph.catalog_types import (BOOL, CHOICE, FLOAT, INT, SHAPE, STR, TENSOR_VALUE,
                                            NodeSpec, ParamSpec)
from gradstudio.graph.document import GraphError
from gradstudio.graph.fileio import check_param


def format_number(x: float) -> str:
    if isinstance(x, bool):
        return str(x)
    if isinstance(x, int):
        return str(x)
    if math.isfinite(x) and x == int(x) and abs(x) < 1e15:
        return f"{x:.1f}"
    return f"{x:.6g}"


def format_value(spec: ParamSpec, value: Any) -> str:
    if value is None:
        return "None" if spec.nullable else ""
    if spec.type == BOOL:
        return "on" if value else "off"
    if spec.type == FLOAT and isinstance(value, (int, float)):
        return format_number(float(value))
    if spec.type == SHAPE:
        return ", ".join(str(int(v)) for v in value) if isinstance(value, (list, tuple)) else str(value)
    if spec.type == TENSOR_VALUE:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return format_number(float(value))
        return json.dumps(value, separators=(", ", ": "))
    return str(value)


def visible_params(spec: NodeSpec, params: dict,
                   connected: Iterable[str] = ()) -> list[ParamSpec]:
    """The parameters that matter for the current values: a leaf made from a value hides
    shape/fill/seed, one made from a shape hides value (see the catalog's leaf params), and
    `scalar` hides once the optional input it stands in for is connected."""
    init = params.get("init")
    hidden: set[str] = set()
    if any(spec.input(name) is not None and spec.input(name).optional for name in connected):
        hidden.add("scalar")
    if init is not None:
        if init == "value":
            hidden |= {"shape", "fill_value", "seed"}
        else:
            hidden.add("value")
            if init != "full":
                hidden.add("fill_value")
            if init not in ("randn", "rand"):
                hidden.add("seed")
    return [p for p in spec.params if p.name not in hidden]


def _check_nested_numbers(value: Any) -> None:
    if isinstance(value, list):
        lengths = {len(v) if isinstance(v, list) else -1 for v in value}
        if len(lengths) > 1:
            raise ValueError("rows of a tensor value must have the same length")
        for v in value:
            _check_nested_numbers(v)
    elif not isinstance(value, (int, float)) or isinstance(value, bool):
        raise ValueError("a tensor value is a number or a nested list of numbers")


# A parameter type in the person's words (for "'abc' is not a valid number").
_WORDS = {FLOAT: "number", INT: "whole number", BOOL: "switch value (on or off)",
          SHAPE: "shape", TENSOR_VALUE: "number or list of numbers", CHOICE: "choice"}


def parse_value(spec: ParamSpec, text: str) -> Any:
    text = text.strip()
    kind = spec.type
    if spec.nullable and text in ("", "None", "none"):
        return None
    try:
        if kind == FLOAT:
            value: Any = float(text)
        elif kind == INT:
            number = float(text)
            if not number.is_integer():
                raise ValueError
            value = int(number)
        elif kind == BOOL:
            if text.lower() not in ("1", "0", "true", "false", "on", "off", "yes", "no"):
                raise ValueError
            value = text.lower() in ("1", "true", "on", "yes")
        elif kind == SHAPE:     # "2, 3", "(2, 3)", "[2, 3]", "2 3" or "2x3"
            inner = text.strip("()[] ")
            value = [int(p) for p in inner.replace(",", " ").replace("x", " ")
                     .replace("×", " ").split()] if inner else []
        elif kind == TENSOR_VALUE:
            try:
                value = float(text)
            except ValueError:
                value = json.loads(text.replace("(", "[").replace(")", "]"))
                _check_nested_numbers(value)
        elif kind == CHOICE:
            if spec.choices and text not in [str(c) for c in spec.choices]:
                raise ValueError
            value = next((c for c in spec.choices if str(c) == text), text)
        elif kind == STR:
            value = text
        else:
            value = text
    except (ValueError, json.JSONDecodeError) as exc:
        detail = f": {exc}" if str(exc) and "could not convert" not in str(exc) \
            and "invalid literal" not in str(exc) and "Expecting" not in str(exc) else ""
        raise ValueError(f"{spec.name}: '{text}' is not a valid {_WORDS.get(kind, kind)}"
                         f"{detail}") from None
    try:     # the file format's own check: the same limits as a file that loads
        return check_param(spec, value, spec.name)
    except GraphError as exc:
        raise ValueError(str(exc)) from None
