"""Recording a script's ops as it runs, and turning one iteration into a document.

`ScriptRecorder` is installed for one script run (in the script's worker process): it
observes the engine's recording point (`engine.autograd.recording.record_ops`), the global
module hooks (which module call each op ran inside) and the Python stack (the script's
file:line). Ops come in passes: a pass ends at each `optimizer.step()`; a script without an
optimizer is cut at each `backward()` (a manual SGD loop updates its weights after backward,
under no_grad, before the next forward). One pass is kept - the last by default, or the one
asked for - and `document()` turns it into an ordinary document:

- one `call` node per engine op call the script made (a composite op such as mse_loss is one
  node; the engine records it as the ops it is made of, listed in the node's source info),
- leaves as `parameter` nodes (named by `named_parameters()`) or `tensor` nodes (named by the
  script's variable where one holds them), with their values as they were in that pass,
- edges where a tensor flows, a group per module call (nested as modules nest), a no_grad
  region around ops the script ran without grad, the backward root as the document's root.

With a backward in the pass only the ops the loss depends on are kept (prints and metrics
computed on the side are left out). Running the document reproduces the pass's values and
gradients (randomness inside the graph, such as dropout, draws again).
"""
from __future__ import annotations

import itertools
import json
import linecache
import os
import sys
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from gradstudio.graph.document import Document
from gradstudio.graph.script_call import (MAX_CALL_INPUTS, MAX_CALL_OUTPUTS, OUTPUT_PORTS,
                                          CallError, encode_value)
from .host import host_values

_ENGINE_DIR = None
_GRADSTUDIO_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PUBLIC_OP_MODULES = ("engine", "engine.nn.functional", "engine.linalg", "engine.special", "engine.fft")
COLLAPSE_ABOVE = 60          # groups start collapsed in documents with more nodes than this


def _engine_dir() -> str:
    global _ENGINE_DIR
    if _ENGINE_DIR is None:
        import engine
        _ENGINE_DIR = os.path.dirname(os.path.abspath(engine.__file__))
    return _ENGINE_DIR


_USER_FILES: dict[str, bool] = {}


def is_user_file(filename: str) -> bool:
    """A frame of the script (or of the script's own modules), not of the engine, gradstudio
    or Python's machinery (answered once per file name: it is asked for every op)."""
    known = _USER_FILES.get(filename)
    if known is not None:
        return known
    if not filename or filename.startswith("<"):
        answer = False
    else:
        path = os.path.abspath(filename)
        answer = not (path.startswith(_engine_dir() + os.sep)
                      or path.startswith(_GRADSTUDIO_DIR + os.sep)
                      or path.startswith(os.path.dirname(os.__file__) + os.sep))
    _USER_FILES[filename] = answer
    return answer


def user_frame(frame):
    """The innermost frame of the script at or above `frame` (None when there is none)."""
    while frame is not None and not is_user_file(frame.f_code.co_filename):
        frame = frame.f_back
    return frame


class Call(NamedTuple):
    """One engine op call the script made (one or more OpRecords). A tuple: one is made for
    every op the script runs, and making a tuple costs a third of a dataclass."""
    name: str
    fn: Any                         # the engine function called (None: not replayable)
    args: tuple
    kwargs: dict
    inputs: tuple                   # tensors read, in call order
    outputs: tuple                  # tensors made (in-place: the tensor changed)
    ops: list[str]                  # the engine's records (more than one for a composite op)
    source: tuple[str, int] | None  # the script's (file, line)
    module_call: int | None         # the innermost module call it ran inside
    grad_enabled: bool = True
    failed: str | None = None       # set on the call that raised


class ModuleCall(NamedTuple):
    """One call of an nn.Module (a tuple: one is kept for every module call of the run)."""
    path: str                       # as named_modules() names it ('' for the root)
    type: str                       # its class name
    parent: int | None              # the module call it ran inside


@dataclass
class Leaf:
    tensor: Any
    name: str | None
    value: np.ndarray | None = None
    source: tuple[str, int] | None = None
    read: tuple | None = None       # (the tensor's _version, its array) when `value` was read


@dataclass
class Pass:
    calls: list[Call] = field(default_factory=list)
    leaves: dict[int, Leaf] = field(default_factory=dict)    # id(tensor) -> leaf
    root: Any = None                                          # the tensor backward ran on
    cut: int | None = None          # len(calls) at the last backward (no optimizer yet)
    produced: set = field(default_factory=set)                # id() of tensors calls made
    roots: list = field(default_factory=list)    # every tensor backward ran on, in order


class ScriptRecorder:
    """Observer of one script run. `keep`: which pass to keep (0-based; None: the last)."""

    def __init__(self, keep: int | None = None) -> None:
        self.keep = keep
        self.current = Pass()
        self.kept: Pass | None = None
        self.kept_index: int | None = None
        self.passes = 0                 # passes completed
        # index -> module call, for the calls the kept or current pass can still name (one is
        # made per module call of the run: the dropped passes' are forgotten, see _forget)
        self.module_calls: dict[int, ModuleCall] = {}
        self._module_count = 0
        self.module_stack: list[int] = []
        self.module_paths: dict[int, str] = {}     # id(module) -> path under its root
        self.param_names: dict[int, str] = {}      # id(parameter) -> named_parameters() name
        self.uses_optimizer = False
        self.backward_calls = 0
        self.script_globals: dict | None = None     # the script's module namespace
        from engine.autograd import recording
        from engine.autograd.grad_mode import is_grad_enabled
        self._call_code = recording._call.__code__
        self._grad_on = is_grad_enabled
        self._paths: dict[tuple[int, str], str | None] = {}
        self._last_frame = None
        self._last_call: Call | None = None
        self._previous_leaves: dict[int, Leaf] = {}     # the last finished pass's leaves

    # ------------------------------------------------------------------ observers
    def on_op(self, record) -> None:
        """One record from the engine: a new Call, or another part of the composite op
        call just seen (the engine reports a composite as the ops it is made of, all from
        the same `_call` frame). Kept lean: it runs for every op the script makes; it keeps
        references (the call's own function, args, inputs and outputs) and the script's
        file:line, and leaves names of ops, values and JSON to `document()`."""
        call_frame = sys._getframe(1)
        if call_frame is self._last_frame:
            self._last_call.ops.append(record.name)
            return
        if call_frame.f_code is not self._call_code:
            call_frame = self._call_frame()
            if call_frame is None:               # an engine without the frame this reads
                self._add_call(Call(record.name, None, (), {}, record.inputs,
                                    record.outputs, [record.name],
                                    self._source(sys._getframe(1)),
                                    self.module_stack[-1] if self.module_stack else None,
                                    _grad_enabled()), None)
                return
        self._last_frame = call_frame
        locals_ = call_frame.f_locals
        frame = call_frame.f_back           # the script's line: the first frame of its files
        known = _USER_FILES
        while frame is not None:
            filename = frame.f_code.co_filename
            mine = known.get(filename)
            if mine is None:
                mine = is_user_file(filename)
            if mine:
                break
            frame = frame.f_back
        if frame is None:
            source = None
        else:
            source = (frame.f_code.co_filename, frame.f_lineno)
            if self.script_globals is None and frame.f_globals.get("__name__") == "__main__":
                self.script_globals = frame.f_globals
        module_stack = self.module_stack
        inputs, outputs = locals_["inputs"], locals_["outputs"]
        call = self._last_call = _new_call(Call, (
            locals_["name"], locals_["fn"], locals_["args"], locals_["kwargs"], inputs,
            outputs, [record.name], source, module_stack[-1] if module_stack else None,
            self._grad_on(), None))
        if inputs and inputs[0] is outputs[0]:
            self._add_call(call, call_frame)     # in-place: maybe a weight update, not graph
            return
        current = self.current                   # _add_call's work, inline (every op)
        produced, leaves = current.produced, current.leaves
        for t in inputs:
            if id(t) not in produced and id(t) not in leaves:
                leaves[id(t)] = self._new_leaf(t, call_frame)
        for t in outputs:
            produced.add(id(t))
        current.calls.append(call)

    def _new_leaf(self, tensor, call_frame) -> "Leaf":
        """A leaf first read in this pass: named and placed as in the pass before when it was
        a leaf there too (a training loop reads the same data and weights every step)."""
        before = self._previous_leaves.get(id(tensor))
        if before is not None and before.tensor is tensor:
            read = before.read
            if read is not None and not tensor.requires_grad and read[0] == tensor._version \
                    and read[1] is _live_array(tensor):   # the same data: not read again
                return Leaf(tensor, before.name, before.value, before.source, read)
            return Leaf(tensor, before.name, None, before.source)
        return Leaf(tensor, self._leaf_name(tensor, call_frame), None,
                    self._source(call_frame) if call_frame is not None else None)

    def on_failed_op(self, call_frame, exc: BaseException) -> None:
        """The op call that raised (its `_call` frame from the traceback), kept marked."""
        locals_ = call_frame.f_locals
        fn, name = locals_.get("fn"), locals_.get("name", "op")
        args, kwargs = tuple(locals_.get("args", ())), dict(locals_.get("kwargs", {}))
        from engine import Tensor
        inputs = tuple(a for a in list(args) + list(kwargs.values()) if isinstance(a, Tensor))
        self._add_call(Call(str(name), fn, args, kwargs, inputs, (),
                            [str(name)], self._source(call_frame),
                            self.module_stack[-1] if self.module_stack else None,
                            _grad_enabled(), failed=f"{type(exc).__name__}: {exc}"), None)

    def _add_call(self, call: Call, call_frame) -> None:
        current = self.current
        out = call.outputs[0] if call.outputs else None
        if out is not None and call.inputs and call.inputs[0] is out and out.is_leaf \
                and (not call.grad_enabled or not out.requires_grad):
            return      # an in-place update of a leaf (w -= lr * w.grad, grad.zero_()): not graph
        produced = current.produced
        for t in call.inputs:
            if id(t) not in produced and id(t) not in current.leaves:
                current.leaves[id(t)] = self._new_leaf(t, call_frame)
        for t in call.outputs:
            produced.add(id(t))
        current.calls.append(call)

    def on_module_pre(self, module, args) -> None:
        if not self.module_stack and self.module_paths.get(id(module)) != "":
            # a root module seen for the first time: its submodules' paths, its parameters'
            # names (as named_parameters() gives them)
            for path, sub in module.named_modules():
                self.module_paths[id(sub)] = path
            for pname, p in module.named_parameters():
                self.param_names.setdefault(id(p), pname)
        parent = self.module_stack[-1] if self.module_stack else None
        path = self.module_paths.get(id(module), type(module).__name__)
        index = self._module_count
        self._module_count = index + 1
        self.module_calls[index] = _new_call(ModuleCall, (path, type(module).__name__, parent))
        self.module_stack.append(index)

    def on_module_post(self, module, args, output) -> None:
        if self.module_stack:
            self.module_stack.pop()

    def on_backward(self, tensor) -> None:
        self.backward_calls += 1
        current = self.current
        if not self.uses_optimizer and current.cut is not None:
            # a second backward with no optimizer step between: the pass ended at the first
            done = Pass(current.calls[:current.cut], {}, current.root, None, set(),
                        list(current.roots))        # done: nothing is added to it
            rest = current.calls[current.cut:]
            done.leaves = current.leaves
            self._finish(done)
            current = self.current = Pass(rest, {k: Leaf(leaf.tensor, leaf.name, None,
                                                         leaf.source)
                                                 for k, leaf in current.leaves.items()})
            produced, leaves = current.produced, current.leaves
            for call in rest:                   # (they were accepted when first seen)
                for t in call.inputs:
                    if id(t) not in produced and id(t) not in leaves:
                        leaves[id(t)] = self._new_leaf(t, None)
                for t in call.outputs:
                    produced.add(id(t))
            self._forget_module_calls()
        current.root = tensor
        current.roots.append(tensor)
        current.cut = len(current.calls)
        self._snapshot(current)

    def on_step(self) -> None:
        """Before an optimizer step: the pass so far is one iteration."""
        self.uses_optimizer = True
        current = self.current
        # the weights as the pass used them: read at its backward already, when it had one
        self._snapshot(current, refresh=current.cut is None)
        current.cut = None
        self._finish(current)
        self.current = Pass()
        self._forget_module_calls()

    def finish(self) -> None:
        """At the end of the run: the trailing ops make a pass when no pass was kept, or
        when they hold a backward (a script that ends right after backward)."""
        current = self.current
        if current.calls and (self.kept is None or current.cut is not None):
            self._snapshot(current, refresh=False)   # values read at the last backward stay
            if current.cut is not None:
                current.calls = current.calls[:current.cut]
            self._finish(current, final=True)
        self.current = Pass()

    def _finish(self, done: Pass, final: bool = False) -> None:
        self._previous_leaves = done.leaves
        index = self.passes
        self.passes += 1
        if self.keep is None or index == self.keep or (final and self.kept is None):
            self.kept, self.kept_index = done, index

    def _forget_module_calls(self) -> None:
        """Keeps only the module calls that the kept pass, the current pass or the open module
        calls name (and their enclosing calls), so a long training run holds a bounded number."""
        calls = self.module_calls
        wanted = set(self.module_stack)
        for p in (self.kept, self.current):
            if p is not None:
                wanted.update(call.module_call for call in p.calls)
        wanted.discard(None)
        for k in list(wanted):
            k = calls[k].parent
            while k is not None and k not in wanted:
                wanted.add(k)
                k = calls[k].parent
        if len(wanted) < len(calls):
            self.module_calls = {k: calls[k] for k in sorted(wanted)}

    def _snapshot(self, p: Pass, refresh: bool = True) -> None:
        """Reads the leaves' values as the pass used them (at its backward or step; weights
        change right after)."""
        for leaf in p.leaves.values():
            if leaf.value is None or (refresh and leaf.tensor.requires_grad):
                tensor = leaf.tensor
                leaf.value = _numpy(tensor)
                leaf.read = (tensor._version, _live_array(tensor))

    # ------------------------------------------------------------------ stack
    def _call_frame(self):
        """The engine's `_call` frame of the op call being reported (holds fn, args, kwargs)."""
        code = self._call_code
        frame = sys._getframe(2)
        for _ in range(12):
            if frame is None or frame.f_code is code:
                return frame
            frame = frame.f_back
        return None

    @staticmethod
    def _source(frame) -> tuple[str, int] | None:
        frame = user_frame(frame)
        return None if frame is None else (frame.f_code.co_filename, frame.f_lineno)

    @staticmethod
    def _function_path(fn, name) -> str | None:
        """The dotted name under which the engine exposes the recorded op `fn`."""
        if fn is None:
            return None
        home = getattr(fn, "__module__", "") or ""
        if not home.startswith("engine"):
            return None
        # PyTorch's public spelling first (engine.matmul, engine.nn.functional.relu): a saved
        # import then survives an op moving between the engine's private modules.
        for module_name in dict.fromkeys(PUBLIC_OP_MODULES + (home,)):
            module = sys.modules.get(module_name)
            if module is None:
                continue
            for attr in dict.fromkeys((getattr(fn, "__name__", ""), str(name), str(name).strip("_"))):
                candidate = getattr(module, attr, None)
                if candidate is not None and getattr(candidate, "__wrapped__", None) is fn \
                        and getattr(candidate, "_recorded", False):
                    return f"{module_name}.{attr}"
        return None

    def _leaf_name(self, tensor, call_frame) -> str | None:
        name = self.param_names.get(id(tensor))
        if name:
            return name
        frame = user_frame(call_frame) if call_frame is not None else None
        if frame is not None and self.script_globals is None \
                and frame.f_globals.get("__name__") == "__main__":
            self.script_globals = frame.f_globals
        while frame is not None:
            for scope in (frame.f_locals, frame.f_globals):
                for key, value in scope.items():
                    if value is tensor and not key.startswith("_"):
                        return key
            frame = frame.f_back
            frame = user_frame(frame) if frame is not None else None
        return None

    # ------------------------------------------------------------------ the document
    def document(self, title: str = "") -> Document:
        """The kept pass as a document (empty when nothing was recorded)."""
        kept = self.kept or Pass()
        names = dict(self.param_names)
        for key, value in (self.script_globals or {}).items():
            if not key.startswith("_") and type(value).__name__ in ("Tensor", "Parameter"):
                names.setdefault(id(value), key)
        return build_document(kept, self.module_calls, names, title,
                              parameters=set(self.param_names),
                              function_path=self.function_path)

    def function_path(self, call: Call) -> str | None:
        """The dotted name the call's engine op is exposed under (None: not replayable)."""
        key = (id(call.fn), call.name)
        path = self._paths.get(key, False)
        if path is False:
            path = self._paths[key] = self._function_path(call.fn, call.name)
        return path


_is_grad_enabled = None


def _grad_enabled() -> bool:
    global _is_grad_enabled
    if _is_grad_enabled is None:
        from engine.autograd.grad_mode import is_grad_enabled as _is_grad_enabled
    return _is_grad_enabled()


def _numpy(tensor) -> np.ndarray:
    return np.array(host_values(tensor), copy=True)


def _live_array(tensor) -> np.ndarray | None:
    """The array a cpu tensor's values live in (the same object while its data is the same);
    None where there is none to compare (bfloat16, a GPU: their values are always read)."""
    if tensor.is_cuda:
        return None
    try:
        return tensor.numpy(force=True)
    except TypeError:                      # bfloat16: NumPy has no such type
        return None


_new_call = tuple.__new__


def _value(array: np.ndarray) -> Any:
    return array.tolist() if array.ndim else array.item()


def _needed(p: Pass) -> list[Call]:
    """The calls the root depends on (all of them when the pass has no root)."""
    if p.root is None:
        return list(p.calls)
    latest: dict[int, int] = {}        # id(tensor) -> the latest call that made it so far
    deps: list[list[int]] = []
    for k, call in enumerate(p.calls):
        deps.append([latest[id(t)] for t in call.inputs if id(t) in latest])
        for t in call.outputs:
            latest[id(t)] = k
    keep: set[int] = set()
    stack = [latest[id(r)] for r in (p.roots or [p.root]) if id(r) in latest]
    while stack:
        k = stack.pop()
        if k not in keep:
            keep.add(k)
            stack.extend(deps[k])
    failed = [k for k, c in enumerate(p.calls) if c.failed]
    return [c for k, c in enumerate(p.calls) if k in keep or k in failed]


def build_document(p: Pass, module_calls: dict[int, "ModuleCall"], param_names: dict[int, str],
                   title: str = "", parameters: set[int] = frozenset(),
                   function_path=lambda call: ScriptRecorder._function_path(call.fn, call.name)
                   ) -> Document:
    """param_names: names of tensors (parameters and the script's variables) by id;
    parameters: ids of the modules' parameters; function_path(call): the dotted name of the
    call's engine op (None: not replayable)."""
    doc = Document()
    calls = _needed(p)
    made: dict[int, tuple[str, str]] = {}      # id(tensor) -> (node id, port), latest maker
    sources: dict[str, dict] = {}
    leaf_nodes: dict[int, str] = {}
    call_nodes: list[tuple[Call, str]] = []
    failed_node = None
    counts: dict[str, int] = {}
    serial = itertools.count(1)          # ids made here: Document.new_id scans every id
    lines: dict[tuple[str, int], str] = {}     # the script's lines read so far

    def next_id(prefix: str) -> str:
        return f"{prefix}{next(serial)}"

    def fresh(label: str) -> str:
        """label, label2, label3, ... counted here (the document's unique_label scans)."""
        n = counts.get(label, 0) + 1
        counts[label] = n
        candidate = label if n == 1 else f"{label}{n}"
        while doc.node_by_label(candidate) is not None:
            n += 1
            counts[label] = n
            candidate = f"{label}{n}"
        return candidate

    def leaf_node(t) -> str:
        if id(t) in leaf_nodes:
            return leaf_nodes[id(t)]
        leaf = p.leaves.get(id(t))
        array = leaf.value if leaf is not None and leaf.value is not None else _numpy(t)
        name = (leaf.name if leaf else None) or param_names.get(id(t)) or "tensor"
        dtype = str(array.dtype)
        if id(t) in parameters or type(t).__name__ == "Parameter":
            node = doc.add_node("parameter", node_id=next_id("n"), label=fresh(name), params={
                "init": "value", "value": _value(array.astype(np.float64)),
                "dtype": dtype if dtype in ("float32", "float64") else "float32"})
        elif dtype in ("float32", "float64"):
            node = doc.add_node("tensor", node_id=next_id("n"), label=fresh(name), params={
                "value": _value(array.astype(np.float64)), "dtype": dtype,
                "requires_grad": bool(t.requires_grad)})
        else:   # integer or bool data (class labels, masks): engine.tensor(value, dtype=...)
            node = doc.add_node("call", node_id=next_id("n"), label=fresh(name), params={
                "function": "engine.tensor",
                "args": _json({"args": [_value(array)], "kwargs": {"dtype": {"$dtype": dtype}}})})
        if leaf is not None and leaf.source:
            sources[node.id] = _source_info(leaf.source, None, module_calls, lines)
        leaf_nodes[id(t)] = node.id
        return node.id

    for call in calls:
        ports: dict[int, int] = {}
        order: list = []

        def port_of(t):
            if id(t) not in ports:
                ports[id(t)] = len(order)
                order.append(t)
            return ports[id(t)]

        args_json = None
        function = function_path(call)
        if function is not None:
            try:
                args_json = _json({"args": [encode_value(a, port_of) for a in call.args],
                                   "kwargs": {k: encode_value(v, port_of)
                                              for k, v in call.kwargs.items()},
                                   "outputs": max(1, len(call.outputs))})
            except (CallError, TypeError, ValueError):
                args_json = None
        replayable = (args_json is not None and len(order) <= MAX_CALL_INPUTS
                      and len(call.outputs) <= MAX_CALL_OUTPUTS)
        if replayable:
            label = call.name.strip("_") or call.name      # __getitem__ -> getitem
            if not order and call.outputs and param_names.get(id(call.outputs[0])):
                label = param_names[id(call.outputs[0])]     # a factory: named as its variable
            node = doc.add_node("call", node_id=next_id("n"), label=fresh(label), params={
                "function": function, "args": args_json})
            for k, t in enumerate(order):
                src = made.get(id(t))
                if src is None:
                    src = (leaf_node(t), "out")
                doc.add_edge(src[0], src[1], node.id, f"in{k}", edge_id=next_id("e"))
        else:
            # not replayable (an argument we cannot write down): its values as constants
            node = None
            for k, t in enumerate(call.outputs[:1]):
                leaf = Leaf(t, call.name, _numpy(t))
                p.leaves[id(t)] = leaf
                node_id = leaf_node(t)
                node = doc.nodes[node_id]
            if node is None:
                continue
        for k, t in enumerate(call.outputs[:MAX_CALL_OUTPUTS]):
            made[id(t)] = (node.id, OUTPUT_PORTS[k])
        info = _source_info(call.source, call.module_call, module_calls, lines)
        if len(call.ops) > 1:
            info["ops"] = call.ops
        if not replayable:
            info["constant"] = True
        if call.failed:
            info["error"] = call.failed
            failed_node = node.id
        if not call.grad_enabled:
            info["no_grad"] = True
        sources[node.id] = info
        call_nodes.append((call, node.id))

    roots = [doc.nodes[made[id(r)][0]].label for r in p.roots
             if id(r) in made and made[id(r)][1] == "out"]
    if len(roots) > 1:      # backward() ran more than once: the last is the root, the others
        doc.meta.setdefault("script", {})["roots"] = roots   # can be chosen as root instead
    if p.root is not None and id(p.root) in made:
        root_node, port = made[id(p.root)]
        if port == "out":
            doc.meta["root"] = doc.nodes[root_node].label
    no_grad = [nid for call, nid in call_nodes if not call.grad_enabled]
    if no_grad:
        doc.add_region("no_grad", no_grad, region_id=next_id("r"))
    _add_module_groups(doc, call_nodes, module_calls, next_id)
    doc.meta.setdefault("script", {}).update({"sources": sources, "failed": failed_node})
    if title:
        doc.meta["title"] = title
    if len(doc.nodes) > COLLAPSE_ABOVE:    # the module structure shows: outermost groups open
        for group in doc.groups.values():
            group.collapsed = group.parent is not None
    from gradstudio.graph.group_layout import grouped_positions
    for nid, pos in grouped_positions(doc).items():
        doc.nodes[nid].pos = pos
    return doc


_encode = json.JSONEncoder(separators=(",", ":"), allow_nan=False).encode   # made once


def _json(value: Any) -> str:
    return _encode(value)


def _source_info(source, module_call, module_calls, lines: dict | None = None) -> dict:
    """lines: (file, line) -> the line's text, kept by the caller across calls."""
    info: dict[str, Any] = {}
    lines = {} if lines is None else lines
    if source is not None:
        filename, line = source
        info["file"], info["line"] = filename, line
        code = lines.get(source)
        if code is None:
            code = lines[source] = linecache.getline(filename, line).strip()
        info["code"] = code
    if module_call is not None:
        info["module"] = module_calls[module_call].path
    return info


def _add_module_groups(doc: Document, call_nodes, module_calls, next_id) -> None:
    """A group per module call that holds ops, nested as the calls nested."""
    members: dict[int, list[str]] = {}
    for call, nid in call_nodes:
        if call.module_call is not None:
            members.setdefault(call.module_call, []).append(nid)
    needed: set[int] = set()
    for k in members:
        while k is not None and k not in needed:
            needed.add(k)
            k = module_calls[k].parent
    ids: dict[int, str] = {}
    for k in sorted(needed):
        info = module_calls[k]
        parent = info.parent
        while parent is not None and parent not in needed:
            parent = module_calls[parent].parent
        label = info.path or info.type
        group_id = next_id("g")
        from gradstudio.graph.groups import Group
        doc.groups[group_id] = Group(group_id, label, list(members.get(k, [])),
                                     ids.get(parent) if parent is not None else None, False,
                                     {"module": info.path, "type": info.type})
        ids[k] = group_id
    # a parameter sits in the group of the module call that first used it
    owner = doc.node_groups()
    for call, nid in call_nodes:
        group = owner.get(nid)
        if group is None:
            continue
        for edge in doc.edges_into(nid):
            src = doc.nodes[edge.src]
            if src.kind == "parameter" and edge.src not in owner:
                doc.groups[group].node_ids.append(edge.src)
                owner[edge.src] = group
