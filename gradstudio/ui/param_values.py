"""Parameter values as text: how an editor shows a value and reads back what was typed.

One place for both directions, used by the canvas's inline editors and by the inspector.
`parse_value` raises ValueError with a message for the person; it never evaluates code.
Its messages, and the limits behind them, are the file format's (`gradstudio.graph.validation`):
what a file may hold, a field accepts.
"""
from __future__ import annotations

import json
import math
from typing import Any, Iterable

from gradstudio.graph.catalog_types import (BOOL, CHOICE, FLOAT, INT, SHAPE, STR, TENSOR_VALUE,
                                            NodeSpec, ParamSpec)
from gradstudio.graph.document import GraphError
from gradstudio.graph.validation import accepted_form, brief, check_param


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


def parse_value(spec: ParamSpec, text: str) -> Any:
    text = text.strip()
    kind = spec.type
    if spec.nullable and text in ("", "None", "none"):
        return None
    try:
        if kind == FLOAT:
            value: Any = float(text)
        elif kind == INT:
            try:
                value = int(text)
            except ValueError:
                number = float(text)
                if not number.is_integer():
                    raise ValueError from None
                value = int(number)
        elif kind == BOOL:
            if text.lower() not in ("1", "0", "true", "false", "on", "off", "yes", "no"):
                raise ValueError
            value = text.lower() in ("1", "true", "on", "yes")
        elif kind == SHAPE:
            inner = text.strip("()[] ")
            value = [int(p) for p in inner.replace(",", " ").split()] if inner else []
        elif kind == TENSOR_VALUE:
            try:
                value = float(text)
            except ValueError:
                value = json.loads(text.replace("(", "[").replace(")", "]"))
        elif kind == CHOICE:
            if spec.choices and text not in [str(c) for c in spec.choices]:
                raise ValueError
            value = next((c for c in spec.choices if str(c) == text), text)
        elif kind == STR:
            value = text
        else:
            value = text
    except (ValueError, RecursionError):
        form = "on or off, such as on" if kind == BOOL else accepted_form(spec)
        raise ValueError(f"{spec.name}: {brief(text)} is not {form}") from None
    try:     # the file format's own check: the same limits as a file that loads
        return check_param(spec, value, spec.name)
    except GraphError as exc:
        raise ValueError(str(exc)) from None
