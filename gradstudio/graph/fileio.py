"""The graph file format: JSON on disk, validated on load, written atomically.

    {"format": "gradstudio-graph", "version": 1,
     "meta": {"title": ..., "description": ..., "root": LABEL, ...},
     "nodes": [{"id", "kind", "label", "pos": [x, y], "params": {...}, "hooks": [...]}, ...],
     "edges": [{"id", "src", "src_port", "dst", "dst_port", "detach"}, ...],
     "regions": [{"id", "kind": "no_grad", "label", "nodes": [ids]}, ...],
     "groups": [{"id", "label", "nodes": [ids], "parent": ID or null, "collapsed", "info"}]}

Version 2 added "groups" (gradstudio.graph.groups: named, nested sets of nodes); a file
without groups is still written as version 1, so older gradstudio versions read it.

A node's optional "hooks" list holds gradient hooks as data, never code: built-ins such as
{"kind": "scale", "k": 10} (gradstudio.graph.grad_hooks lists them); it is written only
when not empty.

Files are written with indent 2, keys in a fixed order, nodes/edges/regions sorted by id and
lists of numbers on one line, so they read well and diff well. `save` writes a temporary file
in the same folder, flushes and fsyncs it, keeps the previous version as PATH.bak (copied
the same way: a temporary file, then a rename) and
replaces PATH in one step, so a crash leaves either the old file or the new one.

Loading never runs code (plain `json`, no pickle, no eval) and checks everything: the format
name and version, every field's type, node kinds and parameters against the catalog, edges
(dangling, duplicate, cycles, incompatible ports), labels, sizes. A problem raises
`FileFormatError` with one sentence naming what and where ("nodes[3].params.value: ...").

Non-finite numbers: JSON has none, and the NaN/Infinity literals Python would accept are
refused. Where a number is expected (a float parameter or a tensor value) the strings
"nan", "inf" and "-inf" may be written on purpose; they load as floats and `dumps` writes
non-finite floats back the same way.
"""
from __future__ import annotations

import json
import math
import os
import re
import shutil
import tempfile
from typing import Any

from gradstudio.graph.catalog import MAX_ELEMENTS, MAX_RANK, MAX_VALUE_ELEMENTS
from gradstudio.graph.catalog_types import (
    BOOL, CHOICE, FLOAT, INT, PATH, SHAPE, STR, TENSOR_VALUE, NodeSpec, ParamSpec)
from gradstudio.graph.document import Document, GraphError
from gradstudio.graph.training_setup import check_training_meta
from gradstudio.graph.grad_hooks import check_hooks
from gradstudio.graph.groups import Group, check_groups

FORMAT = "gradstudio-graph"
VERSION = 2            # the newest version read and written (1: before groups)

MAX_FILE_BYTES = 64 * 1024 * 1024
MAX_ITEMS = 100_000            # nodes, edges or regions in one file
MAX_TEXT = 10_000              # characters in one label, id, string parameter or meta text
MAX_META_DEPTH = 16
NON_FINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}

_TOP_KEYS = ("format", "version", "meta", "nodes", "edges", "regions", "groups")
_NODE_KEYS = ("id", "kind", "label", "pos", "params", "hooks")
_EDGE_KEYS = ("id", "src", "src_port", "dst", "dst_port", "detach")
_REGION_KEYS = ("id", "kind", "label", "nodes")
_GROUP_KEYS = ("id", "label", "nodes", "parent", "collapsed", "info")


class FileFormatError(GraphError):
    """A graph file that cannot be loaded; the message names what is wrong and where."""


# =========================================================================== loading
def load(path: str | os.PathLike) -> Document:
    try:
        size = os.path.getsize(path)
        if size > MAX_FILE_BYTES:
            raise FileFormatError(f"{os.fspath(path)}: the file is {size} bytes, "
                                  f"more than the {MAX_FILE_BYTES} a graph file may have")
        with open(path, "rb") as f:
            data = f.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise FileFormatError(f"cannot read {os.fspath(path)}: {exc.strerror or exc}") from None
    return loads(data)


def loads(text: str | bytes) -> Document:
    """Parses and validates a whole file's text; returns a new Document."""
    if isinstance(text, (bytes, bytearray)):
        if len(text) > MAX_FILE_BYTES:
            raise FileFormatError(f"the file is larger than {MAX_FILE_BYTES} bytes")
        try:
            text = bytes(text).decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise FileFormatError(f"the file is not UTF-8 text (byte {exc.start})") from None
    if len(text) > MAX_FILE_BYTES:
        raise FileFormatError(f"the file is larger than {MAX_FILE_BYTES} bytes")
    if not text.strip():
        raise FileFormatError("the file is empty")
    try:
        raw = json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        raise FileFormatError(f"not valid JSON at line {exc.lineno} column {exc.colno}: "
                              f"{exc.msg}") from None
    except FileFormatError:
        raise
    except RecursionError:
        raise FileFormatError("the file nests lists or objects too deeply") from None
    except ValueError as exc:  # e.g. an integer with thousands of digits
        raise FileFormatError(f"not valid JSON: {str(exc).split(';')[0]}") from None
    return from_json(raw)


def _refuse_constant(name: str) -> Any:
    raise FileFormatError(f"the file contains the literal {name}, which JSON does not allow; "
                          f"write \"nan\", \"inf\" or \"-inf\" as a string where meant")


def from_json(raw: Any) -> Document:
    """Validates an already parsed file (dicts and lists) and builds its Document."""
    try:
        return _from_json(raw)
    except FileFormatError:
        raise
    except GraphError as exc:  # a document rule the checks above did not name first
        raise FileFormatError(str(exc)) from None


def _from_json(raw: Any) -> Document:
    if not isinstance(raw, dict):
        raise FileFormatError(f"the file must hold a JSON object, not {_kind_of(raw)}")
    if raw.get("format") != FORMAT:
        raise FileFormatError(f"not a gradstudio graph: 'format' must be \"{FORMAT}\"")
    version = raw.get("version")
    if type(version) is not int:
        raise FileFormatError("version: expected an integer")
    if version > VERSION:
        raise FileFormatError(f"this file was made by a newer gradstudio (version {version}); "
                              f"this one reads version {VERSION}")
    if version < 1:
        raise FileFormatError(f"version: {version} is not a gradstudio file version")
    _known_keys(raw, _TOP_KEYS, "the file")
    meta = _dict(raw.get("meta", {}), "meta")
    nodes = _list(raw.get("nodes", []), "nodes")
    edges = _list(raw.get("edges", []), "edges")
    regions = _list(raw.get("regions", []), "regions")
    groups = _list(raw.get("groups", []), "groups")
    if groups and version < 2:
        raise FileFormatError("groups: a version 1 file cannot hold groups")

    doc = Document()
    for i, item in enumerate(nodes):
        _load_node(doc, item, f"nodes[{i}]")
    for i, item in enumerate(edges):
        _load_edge(doc, item, f"edges[{i}]")
    for i, item in enumerate(regions):
        _load_region(doc, item, f"regions[{i}]")
    for i, item in enumerate(groups):
        _load_group(doc, item, f"groups[{i}]")
    problem = check_groups(doc, doc.groups)
    if problem:
        raise FileFormatError(f"groups: {problem}")
    for key, value in meta.items():
        _check_json(value, f"meta.{key}", MAX_META_DEPTH)
    for key in ("title", "description", "root"):
        if key in meta and not isinstance(meta[key], str):
            raise FileFormatError(f"meta.{key}: expected a string")
    if "root" in meta and doc.node_by_label(meta["root"]) is None:
        raise FileFormatError(f"meta.root: no node is labelled '{meta['root']}'")
    doc.meta = meta
    check_training_meta(doc)
    return doc


def _load_node(doc: Document, item: Any, where: str) -> None:
    item = _dict(item, where)
    _known_keys(item, _NODE_KEYS, where)
    node_id = _text(item.get("id"), f"{where}.id")
    kind = _text(item.get("kind"), f"{where}.kind")
    label = _text(item.get("label"), f"{where}.label").strip()
    if not label:
        raise FileFormatError(f"{where}.label: a label cannot be empty")
    if kind not in doc.catalog:
        raise FileFormatError(f"{where}.kind: unknown node kind '{kind}'")
    if node_id in doc.nodes:
        raise FileFormatError(f"{where}.id: the id '{node_id}' is used twice")
    if doc.node_by_label(label) is not None:
        raise FileFormatError(f"{where}.label: the label '{label}' is used twice")
    pos = item.get("pos", [0.0, 0.0])
    if not isinstance(pos, list) or len(pos) != 2 or None in map(_as_float, pos):
        raise FileFormatError(f"{where}.pos: expected [x, y], two finite numbers")
    spec = doc.catalog[kind]
    params = _dict(item.get("params", {}), f"{where}.params")
    checked = {}
    for key, value in params.items():
        param = spec.param(key)
        if param is None:
            raise FileFormatError(f"{where}.params: {spec.title} has no parameter '{key}'")
        checked[key] = check_param(param, value, f"{where}.params.{key}")
    if len(doc.nodes) >= MAX_ITEMS:
        raise FileFormatError(f"{where}: more than {MAX_ITEMS} nodes")
    hooks = _list(item.get("hooks", []), f"{where}.hooks")
    problem = check_hooks(hooks, tuple(p.name for p in spec.outputs))
    if problem:
        raise FileFormatError(f"{where}.{problem}")
    node = doc.add_node(kind, label=label, params=checked,
                        pos=(_as_float(pos[0]), _as_float(pos[1])), node_id=node_id)
    node.hooks = [dict(hook) for hook in hooks]


def _load_edge(doc: Document, item: Any, where: str) -> None:
    item = _dict(item, where)
    _known_keys(item, _EDGE_KEYS, where)
    fields = {key: _text(item.get(key), f"{where}.{key}") for key in _EDGE_KEYS[:5]}
    detach = item.get("detach", False)
    if not isinstance(detach, bool):
        raise FileFormatError(f"{where}.detach: expected true or false")
    if fields["id"] in doc.edges:
        raise FileFormatError(f"{where}.id: the id '{fields['id']}' is used twice")
    for end in ("src", "dst"):
        if fields[end] not in doc.nodes:
            raise FileFormatError(f"{where}.{end}: no node has the id '{fields[end]}'")
    problem = doc.check_edge(fields["src"], fields["src_port"], fields["dst"], fields["dst_port"])
    if problem:
        raise FileFormatError(f"{where}: {problem}")
    if len(doc.edges) >= MAX_ITEMS:
        raise FileFormatError(f"{where}: more than {MAX_ITEMS} edges")
    doc.add_edge(fields["src"], fields["src_port"], fields["dst"], fields["dst_port"],
                 detach=detach, edge_id=fields["id"])


def _load_region(doc: Document, item: Any, where: str) -> None:
    item = _dict(item, where)
    _known_keys(item, _REGION_KEYS, where)
    region_id = _text(item.get("id"), f"{where}.id")
    kind = _text(item.get("kind"), f"{where}.kind")
    label = _text(item.get("label", kind), f"{where}.label")
    if kind != "no_grad":
        raise FileFormatError(f"{where}.kind: unknown region kind '{kind}'")
    if region_id in doc.regions:
        raise FileFormatError(f"{where}.id: the id '{region_id}' is used twice")
    members = _list(item.get("nodes", []), f"{where}.nodes")
    for k, node_id in enumerate(members):
        if not isinstance(node_id, str) or node_id not in doc.nodes:
            raise FileFormatError(f"{where}.nodes[{k}]: no node has the id {node_id!r:.60}")
    if len(set(members)) != len(members):
        raise FileFormatError(f"{where}.nodes: a node is listed twice")
    if len(doc.regions) >= MAX_ITEMS:
        raise FileFormatError(f"{where}: more than {MAX_ITEMS} regions")
    doc.add_region(kind, members, label=label, region_id=region_id)


def _load_group(doc: Document, item: Any, where: str) -> None:
    item = _dict(item, where)
    _known_keys(item, _GROUP_KEYS, where)
    group_id = _text(item.get("id"), f"{where}.id")
    label = _text(item.get("label"), f"{where}.label")
    if group_id in doc.groups or group_id in doc.nodes:
        raise FileFormatError(f"{where}.id: the id '{group_id}' is used twice")
    members = _list(item.get("nodes", []), f"{where}.nodes")
    for k, node_id in enumerate(members):
        if not isinstance(node_id, str) or node_id not in doc.nodes:
            raise FileFormatError(f"{where}.nodes[{k}]: no node has the id {node_id!r:.60}")
    parent = item.get("parent")
    if parent is not None:
        parent = _text(parent, f"{where}.parent")
    collapsed = item.get("collapsed", False)
    if not isinstance(collapsed, bool):
        raise FileFormatError(f"{where}.collapsed: expected true or false")
    info = _dict(item.get("info", {}), f"{where}.info")
    _check_json(info, f"{where}.info", MAX_META_DEPTH)
    if len(doc.groups) >= MAX_ITEMS:
        raise FileFormatError(f"{where}: more than {MAX_ITEMS} groups")
    doc.groups[group_id] = Group(group_id, label, list(members), parent, collapsed, info)


# =========================================================================== parameter checks
def check_param(param: ParamSpec, value: Any, where: str) -> Any:
    """The value as the document keeps it, or FileFormatError saying what was expected."""
    if value is None:
        if param.nullable:
            return None
        raise FileFormatError(f"{where}: a value is required")
    kind = param.type
    if kind == FLOAT:
        if isinstance(value, str) and value in NON_FINITE:
            value = NON_FINITE[value]
        elif _as_float(value) is None:
            raise FileFormatError(f"{where}: expected a number")
        value = float(value)
    elif kind == INT:
        if type(value) is not int or abs(value) > 2**63:
            raise FileFormatError(f"{where}: expected an integer")
    elif kind == BOOL:
        if not isinstance(value, bool):
            raise FileFormatError(f"{where}: expected true or false")
    elif kind in (STR, PATH):
        if not isinstance(value, str) or len(value) > MAX_TEXT:
            raise FileFormatError(f"{where}: expected a string of at most {MAX_TEXT} characters")
    elif kind == CHOICE:
        if value not in param.choices:
            listed = ", ".join(str(c) for c in param.choices)
            raise FileFormatError(f"{where}: expected one of {listed}")
    elif kind == SHAPE:
        value = _shape(value, where)
    elif kind == TENSOR_VALUE:
        value = _tensor_value(value, where)
    if kind in (FLOAT, INT) and not (isinstance(value, float) and math.isnan(value)):
        if param.minimum is not None and value < param.minimum:
            raise FileFormatError(f"{where}: must be at least {param.minimum}")
        if param.maximum is not None and value > param.maximum:
            raise FileFormatError(f"{where}: must be at most {param.maximum}")
    if param.validate is not None:
        problem = param.validate(value)
        if problem:
            raise FileFormatError(f"{where}: {problem}")
    return value


def _shape(value: Any, where: str) -> list[int]:
    if (not isinstance(value, list) or len(value) > MAX_RANK
            or not all(type(n) is int and n >= -1 for n in value)):
        raise FileFormatError(f"{where}: expected a list of at most {MAX_RANK} sizes "
                              f"(integers, -1 where inferred)")
    if math.prod(n for n in value if n > 0) > MAX_ELEMENTS:
        raise FileFormatError(f"{where}: more than {MAX_ELEMENTS} elements")
    return list(value)


def _tensor_value(value: Any, where: str) -> Any:
    """A number or a rectangular nested list of numbers, with non-finite ones as strings."""
    expected = f"{where}: expected a number or a nested list of numbers"
    counted = [0]

    def walk(item: Any, depth: int) -> tuple[Any, tuple[int, ...]]:
        if isinstance(item, list):
            if depth >= MAX_RANK:
                raise FileFormatError(f"{where}: nested deeper than {MAX_RANK} levels")
            converted = [walk(v, depth + 1) for v in item]
            shapes = {shape for _, shape in converted}
            if len(shapes) > 1:
                raise FileFormatError(f"{where}: the nested lists have different lengths")
            inner = shapes.pop() if shapes else ()
            return [v for v, _ in converted], (len(item),) + inner
        if isinstance(item, str) and item in NON_FINITE:
            item = NON_FINITE[item]
        elif _as_float(item) is None:
            raise FileFormatError(expected)
        counted[0] += 1
        if counted[0] > MAX_VALUE_ELEMENTS:
            raise FileFormatError(f"{where}: more than {MAX_VALUE_ELEMENTS} numbers; "
                                  f"use a shape and an init for large tensors")
        return float(item) if isinstance(item, float) else item, ()

    return walk(value, 0)[0]


def _check_json(value: Any, where: str, depth: int) -> None:
    """Meta values: plain JSON data of bounded depth, strings of bounded length."""
    if depth <= 0:
        raise FileFormatError(f"{where}: nested too deeply")
    if isinstance(value, dict):
        for key, item in value.items():
            _check_json(item, f"{where}.{key}", depth - 1)
    elif isinstance(value, list):
        for k, item in enumerate(value):
            _check_json(item, f"{where}[{k}]", depth - 1)
    elif isinstance(value, str):
        if len(value) > MAX_TEXT * 10:
            raise FileFormatError(f"{where}: text longer than {MAX_TEXT * 10} characters")
    elif not (value is None or isinstance(value, (bool, int, float))):
        raise FileFormatError(f"{where}: not a JSON value")


# =========================================================================== small checks
def _as_float(value: Any) -> float | None:
    """The value as a finite float, or None when it is not a finite number."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def _kind_of(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "true/false",
            type(None): "null"}.get(type(value), "a number")


def _dict(value: Any, where: str) -> dict:
    if not isinstance(value, dict):
        raise FileFormatError(f"{where}: expected an object, found {_kind_of(value)}")
    return value


def _list(value: Any, where: str) -> list:
    if not isinstance(value, list):
        raise FileFormatError(f"{where}: expected a list, found {_kind_of(value)}")
    if len(value) > MAX_ITEMS:
        raise FileFormatError(f"{where}: more than {MAX_ITEMS} entries")
    return value


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise FileFormatError(f"{where}: expected a non-empty string")
    if len(value) > MAX_TEXT:
        raise FileFormatError(f"{where}: longer than {MAX_TEXT} characters")
    return value


def _known_keys(item: dict, allowed: tuple[str, ...], where: str) -> None:
    for key in item:
        if key not in allowed:
            raise FileFormatError(f"{where}: unknown field {key!r:.60}")


# =========================================================================== writing
_NATURAL = re.compile(r"(\d+)")


def _natural(text: str) -> list:
    """Sort key that puts n2 before n10."""
    return [int(part) if part.isdigit() else part for part in _NATURAL.split(text)]


def to_json(doc: Document) -> dict:
    """The file's content as plain dicts and lists, in the order it is written."""
    nodes = []
    for node in sorted(doc.nodes.values(), key=lambda n: _natural(n.id)):
        spec: NodeSpec = doc.spec(node)
        order = [p.name for p in spec.params]
        params = {k: json_safe(node.params[k]) for k in order if k in node.params}
        nodes.append({"id": node.id, "kind": node.kind, "label": node.label,
                      "pos": [node.pos[0], node.pos[1]], "params": params})
        if node.hooks:
            nodes[-1]["hooks"] = json_safe(node.hooks)
    edges = [{"id": e.id, "src": e.src, "src_port": e.src_port, "dst": e.dst,
              "dst_port": e.dst_port, "detach": e.detach}
             for e in sorted(doc.edges.values(), key=lambda e: _natural(e.id))]
    regions = [{"id": r.id, "kind": r.kind, "label": r.label, "nodes": list(r.node_ids)}
               for r in sorted(doc.regions.values(), key=lambda r: _natural(r.id))]
    written = {"format": FORMAT, "version": VERSION if doc.groups else 1,
               "meta": json_safe(doc.meta), "nodes": nodes, "edges": edges, "regions": regions}
    if doc.groups:
        written["groups"] = [
            {"id": g.id, "label": g.label, "nodes": list(g.node_ids), "parent": g.parent,
             "collapsed": g.collapsed, "info": json_safe(g.info)}
            for g in sorted(doc.groups.values(), key=lambda g: _natural(g.id))]
    return written


def json_safe(value: Any) -> Any:
    """The value with non-finite floats written "nan", "inf", "-inf" (tuples as lists)."""
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, list):
        return [json_safe(v) for v in value]
    if isinstance(value, tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    return value


def dumps(doc: Document) -> str:
    return _pretty(to_json(doc), 0) + "\n"


def _pretty(value: Any, level: int) -> str:
    """json.dumps(indent=2), except that lists of numbers/strings stay on one line."""
    pad, inner = "  " * level, "  " * (level + 1)
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = [f"{inner}{json.dumps(str(k))}: {_pretty(v, level + 1)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(value, list):
        if _flat(value):
            return json.dumps(value, allow_nan=False)
        items = [f"{inner}{_pretty(v, level + 1)}" for v in value]
        return "[\n" + ",\n".join(items) + "\n" + pad + "]"
    return json.dumps(value, allow_nan=False)


def _flat(value: Any) -> bool:
    """A list of scalars, or of such lists: written on one line."""
    if isinstance(value, list):
        return all(_flat(v) for v in value)
    return not isinstance(value, dict)


def save(doc: Document, path: str | os.PathLike) -> None:
    """Writes atomically; the previous file, if any, is kept as PATH.bak."""
    text = dumps(doc)
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, temporary = tempfile.mkstemp(prefix=".gradstudio-", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        if os.path.exists(path):
            _copy_whole(path, path + ".bak", folder)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.remove(temporary)
        raise
    _fsync_folder(folder)


def _copy_whole(source: str, target: str, folder: str) -> None:
    """Copies through a temporary file and a rename, so a kill mid-copy never tears `target`."""
    fd, temporary = tempfile.mkstemp(prefix=".gradstudio-", suffix=".tmp", dir=folder)
    os.close(fd)
    try:
        shutil.copy2(source, temporary)
        os.replace(temporary, target)
    except BaseException:
        if os.path.exists(temporary):
            os.remove(temporary)
        raise


def _fsync_folder(folder: str) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
