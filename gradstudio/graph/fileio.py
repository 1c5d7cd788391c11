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
import stat
import tempfile
from typing import Any

from gradstudio.graph.catalog_types import NodeSpec
from gradstudio.graph.document import Document, GraphError
from gradstudio.graph.groups import Group, check_groups
from gradstudio.graph.validation import (  # noqa: F401 (check_param: the one parameter check)
    MAX_TEXT, NON_FINITE, check_node_entry, check_param, check_references, kind_of,
    known_keys, object_field, text_field)

FORMAT = "gradstudio-graph"
VERSION = 2            # the newest version read and written (1: before groups)

MAX_FILE_BYTES = 64 * 1024 * 1024
MAX_ITEMS = 100_000            # nodes, edges or regions in one file
MAX_META_DEPTH = 16

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
        raise FileFormatError(f"the file must hold a JSON object, not {kind_of(raw)}")
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
    known_keys(raw, _TOP_KEYS, "the file")
    meta = object_field(raw.get("meta", {}), "meta")
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
    doc.meta = meta
    check_references(doc)
    return doc


def _load_node(doc: Document, item: Any, where: str) -> None:
    entry = check_node_entry(doc.catalog, item, where)
    if entry.id in doc.nodes:
        raise FileFormatError(f"{where}.id: the id '{entry.id}' is used twice")
    if doc.node_by_label(entry.label) is not None:
        raise FileFormatError(f"{where}.label: the label '{entry.label}' is used twice")
    if len(doc.nodes) >= MAX_ITEMS:
        raise FileFormatError(f"{where}: more than {MAX_ITEMS} nodes")
    node = doc.add_node(entry.kind, label=entry.label, params=entry.params, pos=entry.pos,
                        node_id=entry.id)
    node.hooks = entry.hooks


def _load_edge(doc: Document, item: Any, where: str) -> None:
    item = object_field(item, where)
    known_keys(item, _EDGE_KEYS, where)
    fields = {key: text_field(item.get(key), f"{where}.{key}") for key in _EDGE_KEYS[:5]}
    detach = item.get("detach", False)
    if not isinstance(detach, bool):
        raise FileFormatError(f"{where}.detach: expected true or false")
    if fields["id"] in doc.edges:
        raise FileFormatError(f"{where}.id: the id '{fields['id']}' is used twice")
    for end in ("src", "dst"):
        if fields[end] not in doc.nodes:
            raise FileFormatError(f"{where}.{end}: no node has the id '{fields[end]}'")
    if len(doc.edges) >= MAX_ITEMS:
        raise FileFormatError(f"{where}: more than {MAX_ITEMS} edges")
    try:                # (add_edge checks the edge: ports, types, a free input, no cycle)
        doc.add_edge(fields["src"], fields["src_port"], fields["dst"], fields["dst_port"],
                     detach=detach, edge_id=fields["id"])
    except GraphError as exc:
        raise FileFormatError(f"{where}: {exc}") from None


def _load_region(doc: Document, item: Any, where: str) -> None:
    item = object_field(item, where)
    known_keys(item, _REGION_KEYS, where)
    region_id = text_field(item.get("id"), f"{where}.id")
    kind = text_field(item.get("kind"), f"{where}.kind")
    label = text_field(item.get("label", kind), f"{where}.label")
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
    item = object_field(item, where)
    known_keys(item, _GROUP_KEYS, where)
    group_id = text_field(item.get("id"), f"{where}.id")
    label = text_field(item.get("label"), f"{where}.label")
    if group_id in doc.groups or group_id in doc.nodes:
        raise FileFormatError(f"{where}.id: the id '{group_id}' is used twice")
    members = _list(item.get("nodes", []), f"{where}.nodes")
    for k, node_id in enumerate(members):
        if not isinstance(node_id, str) or node_id not in doc.nodes:
            raise FileFormatError(f"{where}.nodes[{k}]: no node has the id {node_id!r:.60}")
    parent = item.get("parent")
    if parent is not None:
        parent = text_field(parent, f"{where}.parent")
    collapsed = item.get("collapsed", False)
    if not isinstance(collapsed, bool):
        raise FileFormatError(f"{where}.collapsed: expected true or false")
    info = object_field(item.get("info", {}), f"{where}.info")
    _check_json(info, f"{where}.info", MAX_META_DEPTH)
    if len(doc.groups) >= MAX_ITEMS:
        raise FileFormatError(f"{where}: more than {MAX_ITEMS} groups")
    doc.groups[group_id] = Group(group_id, label, list(members), parent, collapsed, info)


# =========================================================================== meta
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
def _list(value: Any, where: str) -> list:
    if not isinstance(value, list):
        raise FileFormatError(f"{where}: expected a list, found {kind_of(value)}")
    if len(value) > MAX_ITEMS:
        raise FileFormatError(f"{where}: more than {MAX_ITEMS} entries")
    return value


# =========================================================================== writing
_NATURAL = re.compile(r"(\d+)")
# Meta keys in this order, then any others sorted: the text never depends on edit order.
_META_FIRST = ("title", "description", "root", "training", "dashboard")


def _natural(text: str) -> list:
    """Sort key that puts n2 before n10."""
    return [int(part) if part.isdigit() else part for part in _NATURAL.split(text)]


def to_json(doc: Document, safe: Any = None) -> dict:
    """The file's content as plain dicts and lists, in the order it is written. safe: how
    parameter and meta values are written (json_safe: non-finite floats as strings)."""
    safe = safe or json_safe
    nodes = []
    for node in sorted(doc.nodes.values(), key=lambda n: _natural(n.id)):
        spec: NodeSpec = doc.spec(node)
        order = [p.name for p in spec.params]
        params = {k: safe(node.params[k]) for k in order if k in node.params}
        nodes.append({"id": node.id, "kind": node.kind, "label": node.label,
                      "pos": [node.pos[0], node.pos[1]], "params": params})
        if node.hooks:
            nodes[-1]["hooks"] = safe(node.hooks)
    edges = [{"id": e.id, "src": e.src, "src_port": e.src_port, "dst": e.dst,
              "dst_port": e.dst_port, "detach": e.detach}
             for e in sorted(doc.edges.values(), key=lambda e: _natural(e.id))]
    regions = [{"id": r.id, "kind": r.kind, "label": r.label, "nodes": list(r.node_ids)}
               for r in sorted(doc.regions.values(), key=lambda r: _natural(r.id))]
    first = [k for k in _META_FIRST if k in doc.meta]
    meta = {k: doc.meta[k] for k in first + sorted(k for k in doc.meta if k not in first)}
    written = {"format": FORMAT, "version": VERSION if doc.groups else 1,
               "meta": safe(meta), "nodes": nodes, "edges": edges, "regions": regions}
    if doc.groups:
        written["groups"] = [
            {"id": g.id, "label": g.label, "nodes": list(g.node_ids), "parent": g.parent,
             "collapsed": g.collapsed, "info": safe(g.info)}
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


def dumps(doc: Document, pretty: bool = True) -> str:
    """The file's text; pretty=False writes it on one line (the same content, quicker to
    write: a document handed from one process to another rather than saved for people)."""
    if not pretty:
        try:        # values as they are, unless one is a non-finite float (rare): json_safe
            return _compact(to_json(doc, safe=_as_is)) + "\n"
        except ValueError:
            return _compact(to_json(doc)) + "\n"
    return _pretty(to_json(doc), 0) + "\n"


_compact = json.JSONEncoder(separators=(",", ":"), allow_nan=False).encode


def _as_is(value: Any) -> Any:
    return value


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


def checked_text(doc: Document) -> str:
    """The file's text, once the loader has accepted it: a save never writes a file that
    cannot be opened again (FileFormatError says why, and nothing is written)."""
    try:
        text = dumps(doc)
    except ValueError as exc:       # a non-finite position: JSON has no such number
        raise FileFormatError(f"not saved: {exc}") from None
    try:
        loads(text)
    except FileFormatError as exc:
        raise FileFormatError(f"not saved, the file would not open again: {exc}") from None
    return text


def save(doc: Document, path: str | os.PathLike) -> None:
    """Writes atomically what `checked_text` gives; the previous file, if any, is kept as
    PATH.bak. The file gets the mode a new file gets under the umask (0644 under 022), or
    keeps the mode of the file it replaces."""
    text = checked_text(doc)
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, temporary = tempfile.mkstemp(prefix=".gradstudio-", suffix=".tmp", dir=folder)
    try:
        os.chmod(temporary, _file_mode(path))     # mkstemp's 0600 must not reach PATH
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


def _file_mode(path: str) -> int:
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        umask = os.umask(0o022)
        os.umask(umask)
        return 0o666 & ~umask


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
