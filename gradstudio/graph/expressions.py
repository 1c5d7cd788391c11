"""Turns lines of Python-like math into nodes and edges: `z = x*y + y**2` becomes a graph.

    construction = parse_expressions("z = x*y + y**2\\nz.backward()")
    construction.nodes      # NewNode(label, kind, params, pos, to_fill), left to right
    construction.edges      # NewEdge(src label, src port, dst label, dst port)
    ids = apply_construction(construction, doc)     # label -> node id

The text is read with `ast` and never evaluated. Understood: `+ - * / ** @`, unary minus,
calls of catalog functions written as `torch.exp(x)`, `exp(x)`, `F.mse_loss(a, b)` or as
methods `x.exp()`, `(a - b).pow(2).mean(dim=0)`, indexing `x[0, 1:]`, leaves made with
`torch.tensor(...)`, `zeros`, `ones`, `randn`, `rand`, `eye`, and `NAME.backward(...)`.

A name assigned earlier (or a label of the document, passed as `known`) is reused. Any
other name becomes a leaf tensor that requires grad, with value 0.0 and `to_fill` set:
the person fills in its value. A number that is the second operand of + - * / ** (or the
first of + and *) becomes the op's `scalar` parameter, as in the examples; any other number
becomes a constant leaf without requires_grad. Call arguments that are numbers, tuples or
True/False/None fill the function's parameters (`dim`, `keepdim`, ...), other arguments
its tensor inputs, in order. Anything else raises ExpressionError:
"line 2, column 7: comparisons are not supported".
"""
from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Any, Iterable

from gradstudio.graph.catalog_types import BOOL, CHOICE, FLOAT, INT, SHAPE, STR, NodeSpec
from gradstudio.graph.document import Document, GraphError
from gradstudio.graph.validation import check_params

COLUMN_WIDTH = 220.0
ROW_HEIGHT = 120.0
MAX_AUTO_LABEL = 16           # a sub-expression's text is its label when this short
MODULE_PREFIXES = ("torch", "engine", "F", "torch.nn.functional", "engine.nn.functional",
                   "nn.functional")
NOT_FUNCTIONS = ("tensor", "parameter", "dataset", "csv", "backward")
LEAF_FACTORIES = ("tensor", "zeros", "ones", "randn", "rand", "eye")
OTHER_MODULES = ("np", "numpy", "math", "nn", "jnp", "tf")

_BINARY_KINDS = {ast.Add: "add", ast.Sub: "sub", ast.Mult: "mul", ast.Div: "div",
                 ast.Pow: "pow", ast.MatMult: "matmul"}
_COMMUTATIVE = ("add", "mul")
_WHAT = {ast.Compare: "comparisons", ast.BoolOp: "and/or", ast.Lambda: "lambdas",
         ast.IfExp: "conditional expressions", ast.Attribute: "attributes",
         ast.Dict: "dicts", ast.Set: "sets", ast.ListComp: "comprehensions",
         ast.GeneratorExp: "generators", ast.Starred: "starred arguments",
         ast.JoinedStr: "f-strings", ast.Await: "await", ast.Yield: "yield",
         ast.NamedExpr: ":=", ast.Slice: "slices outside []"}


class ExpressionError(GraphError):
    """Text that cannot become a graph; the message names the line and column (1-based),
    which are also kept as attributes for an editor to put its cursor there."""

    def __init__(self, line: int, column: int, message: str) -> None:
        super().__init__(f"line {line}, column {column}: {message}")
        self.line, self.column = line, column


@dataclass
class NewNode:
    label: str
    kind: str
    params: dict[str, Any]
    pos: tuple[float, float] = (0.0, 0.0)
    to_fill: bool = False       # a leaf made for an unknown name: its value is to fill in


@dataclass
class NewEdge:
    src: str          # label of a new node or of an existing document node
    src_port: str
    dst: str          # label of a new node
    dst_port: str


@dataclass
class Construction:
    nodes: list[NewNode] = field(default_factory=list)
    edges: list[NewEdge] = field(default_factory=list)

    @property
    def to_fill(self) -> list[str]:
        return [n.label for n in self.nodes if n.to_fill]


def parse_expressions(text: str, known: Iterable[str] = (), origin: tuple[float, float] = (0, 0),
                      catalog: dict[str, NodeSpec] | None = None) -> Construction:
    """Reads the lines; `known`: labels of the document's nodes, which names may refer to."""
    if catalog is None:
        from gradstudio.graph.catalog import CATALOG as catalog
    builder = _Builder(catalog, set(known))
    try:
        tree = ast.parse(text, mode="exec")
        for statement in tree.body:
            builder.statement(statement)
    except SyntaxError as exc:
        raise ExpressionError(exc.lineno or 1, exc.offset or 1, exc.msg) from None
    except (RecursionError, MemoryError):
        raise ExpressionError(1, 1, "the expression is nested too deeply") from None
    builder.layout(origin)
    return builder.construction


def apply_construction(construction: Construction, doc: Document) -> dict[str, str]:
    """Adds the nodes and edges to the document (not undoable: the UI pushes commands
    instead); returns each new node's label in the construction -> its node id."""
    ids: dict[str, str] = {}
    for new in construction.nodes:
        ids[new.label] = doc.add_node(new.kind, new.label, new.params, new.pos).id
    for edge in construction.edges:
        src = ids.get(edge.src) or doc.node_by_label(edge.src).id
        doc.add_edge(src, edge.src_port, ids[edge.dst], edge.dst_port)
    return ids


# A value in the expression: the output (label, port) that produces it.
Value = tuple[str, str]


class _Builder:
    def __init__(self, catalog: dict[str, NodeSpec], known: set[str]) -> None:
        self.catalog = catalog
        self.known = known
        self.taken = set(known)
        self.construction = Construction()
        self.names: dict[str, Value] = {}
        self.constants: dict[float, Value] = {}

    # ------------------------------------------------------------------ statements
    def statement(self, node: ast.stmt) -> None:
        self.current = node
        if isinstance(node, ast.Assign):
            if len(node.targets) != 1 or not isinstance(node.targets[0], ast.Name):
                raise _error(node, "assign to one name: NAME = EXPRESSION")
            name = node.targets[0].id
            self.names[name] = self.expression(node.value, label=name)
        elif isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
            combined = ast.BinOp(ast.Name(node.target.id, ast.Load()), node.op, node.value)
            ast.copy_location(combined, node)
            ast.copy_location(combined.left, node.target)
            self.names[node.target.id] = self.expression(combined, label=node.target.id)
        elif isinstance(node, ast.Expr):
            call = node.value
            if isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) \
                    and call.func.attr == "backward":
                self.backward(call)
            else:
                self.expression(call)
        else:
            raise _error(node, f"{type(node).__name__} statements are not supported "
                               f"(write NAME = EXPRESSION)")

    def backward(self, call: ast.Call) -> None:
        spec = self.catalog["backward"]
        root = self.expression(call.func.value)
        params: dict[str, Any] = {}
        inputs: dict[str, Value] = {"input": root}
        if len(call.args) > 1:
            raise _error(call, "backward takes at most one positional argument (gradient)")
        arguments = [("gradient", a) for a in call.args]
        arguments += [(k.arg, k.value) for k in call.keywords]
        for name, value in arguments:
            if name == "gradient":
                inputs["gradient"] = self.expression(value)
            elif name == "retain_graph":
                params["retain_graph"] = self.parameter(spec, "retain_graph", value)
            else:
                raise _error(value, f"backward has no argument '{name}'")
        self.add("backward", self.label_for("backward"), params, inputs)

    # ------------------------------------------------------------------ expressions
    def expression(self, node: ast.expr, label: str | None = None) -> Value:
        if isinstance(node, ast.Name):
            return self.name(node)
        if _number(node) is not None:
            value = float(_number(node))
            if label is not None:
                return self.leaf(label, {"value": value})
            return self.constant(value)
        if isinstance(node, ast.BinOp):
            return self.binary(node, label)
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.UAdd):
                return self.expression(node.operand, label)
            if isinstance(node.op, ast.USub):
                return self.add("neg", label or self.auto_label(node, "neg"), {},
                                {"input": self.expression(node.operand)})
            raise _error(node, f"the operator {_op_text(node.op)} is not supported")
        if isinstance(node, ast.Call):
            return self.call(node, label)
        if isinstance(node, ast.Subscript):
            return self.index(node, label)
        if isinstance(node, ast.Constant):
            raise _error(node, f"{node.value!r} is not a number")
        what = _WHAT.get(type(node), type(node).__name__)
        raise _error(node, f"{what} are not supported" if what.endswith("s")
                     else f"{what} is not supported")

    def name(self, node: ast.Name) -> Value:
        """A name bound earlier, a document label, or else a new leaf to fill in
        (`b = a` binds b to the same tensor as a: no node)."""
        if node.id in self.names:
            return self.names[node.id]
        if node.id in self.known:
            return (node.id, "out")
        value = self.leaf(node.id, {"value": 0.0, "requires_grad": True}, to_fill=True)
        self.names[node.id] = value
        return value

    def binary(self, node: ast.BinOp, label: str | None) -> Value:
        kind = _BINARY_KINDS.get(type(node.op))
        if kind is None:
            raise _error(node, f"the operator {_op_text(node.op)} is not supported")
        left, right = node.left, node.right
        label = label or self.auto_label(node, kind)
        has_scalar = self.catalog[kind].param("scalar") is not None
        if has_scalar and _number(left) is not None and _number(right) is None \
                and kind in _COMMUTATIVE:
            left, right = right, left
        port = self.catalog[kind].inputs[1].name
        if has_scalar and _number(right) is not None:
            return self.add(kind, label, {"scalar": float(_number(right))},
                            {"input": self.expression(left)})
        return self.add(kind, label, {}, {"input": self.expression(left),
                                          port: self.expression(right)})

    def index(self, node: ast.Subscript, label: str | None) -> Value:
        from gradstudio.graph.catalog import parse_index
        text = ast.unparse(node.slice)
        if text.startswith("(") and text.endswith(")"):
            text = text[1:-1]
        try:
            parse_index(text)
        except ValueError as exc:
            raise _error(node.slice, str(exc)) from None
        return self.add("index", label or self.auto_label(node, "index"), {"index": text},
                        {"input": self.expression(node.value)})

    # ------------------------------------------------------------------ calls
    def call(self, node: ast.Call, label: str | None) -> Value:
        func = node.func
        receiver: ast.expr | None = None
        if isinstance(func, ast.Name):
            name = func.id
        elif isinstance(func, ast.Attribute) and _dotted(func.value) in MODULE_PREFIXES:
            name = func.attr
        elif isinstance(func, ast.Attribute):
            name, receiver = func.attr, func.value
            if isinstance(receiver, ast.Name) and receiver.id in OTHER_MODULES:
                raise _error(receiver, f"write torch.{name}(...) or x.{name}(), "
                                       f"not {receiver.id}.{name}(...)")
        else:
            raise _error(node, "only functions by name, torch.NAME(...) and methods "
                               "x.NAME(...) can be called")
        if receiver is None and name in LEAF_FACTORIES:
            return self.factory(node, name, label)
        if name not in self.catalog or name in NOT_FUNCTIONS or name.startswith("nn."):
            raise _error(func, f"unknown function '{name}'")
        spec = self.catalog[name]
        args = ([receiver] if receiver is not None else []) + list(node.args)
        return self.call_spec(node, spec, args, label or self.auto_label(node, name))

    def call_spec(self, node: ast.Call, spec: NodeSpec, args: list[ast.expr], label: str) -> Value:
        ports = list(spec.inputs)
        params = [p for p in spec.params if p.name not in ("retain_grad", "scalar")]
        has_scalar = spec.param("scalar") is not None
        inputs: dict[str, Value] = {}
        values: dict[str, Any] = {}
        pending = list(args)
        while pending:
            arg = pending.pop(0)
            is_tensor_list = isinstance(arg, (ast.List, ast.Tuple)) and any(
                _literal(e) is _NOT for e in arg.elts)
            if is_tensor_list:
                for element in arg.elts:                  # torch.cat([a, b], 0)
                    self._fill_port(spec, ports, inputs, element)
            elif _literal(arg) is not _NOT:
                free = [p for p in params if p.name not in values]
                if has_scalar and "scalar" not in values and _number(arg) is not None \
                        and len(inputs) == 1:
                    values["scalar"] = float(_number(arg))
                    ports = [p for p in ports if p.name in inputs]
                elif free and free[0].type == SHAPE and _number(arg) is not None:
                    sizes = [arg]                         # x.reshape(3, 2)
                    while pending and _number(pending[0]) is not None:
                        sizes.append(pending.pop(0))
                    values[free[0].name] = self.parameter(
                        spec, free[0].name, ast.copy_location(ast.Tuple(sizes, ast.Load()), arg))
                elif free:
                    values[free[0].name] = self.parameter(spec, free[0].name, arg)
                else:
                    self._fill_port(spec, ports, inputs, arg)
            else:
                self._fill_port(spec, ports, inputs, arg)
        for keyword in node.keywords:
            if keyword.arg is None:
                raise _error(keyword.value, "**keyword arguments are not supported")
            if spec.input(keyword.arg) is not None:
                if has_scalar and _number(keyword.value) is not None:
                    values["scalar"] = float(_number(keyword.value))
                else:
                    inputs[keyword.arg] = self.expression(keyword.value)
            elif spec.param(keyword.arg) is not None and keyword.arg != "retain_grad":
                values[keyword.arg] = self.parameter(spec, keyword.arg, keyword.value)
            else:
                raise _error(keyword.value, f"{spec.kind} has no argument '{keyword.arg}'")
        missing = [p.name for p in spec.inputs if not p.optional and p.name not in inputs]
        if missing:
            raise _error(node, f"{spec.kind} needs {' and '.join(missing)}")
        return self.add(spec.kind, label, values, inputs)

    def _fill_port(self, spec: NodeSpec, ports: list, inputs: dict, arg: ast.expr) -> None:
        free = [p for p in ports if p.name not in inputs]
        if not free:
            raise _error(arg, f"{spec.kind} takes no more tensor arguments")
        inputs[free[0].name] = self.expression(arg)

    def factory(self, node: ast.Call, name: str, label: str | None) -> Value:
        """torch.tensor(VALUE, requires_grad=...), torch.zeros(2, 3), torch.eye(4), ..."""
        spec = self.catalog["tensor"]
        params: dict[str, Any] = {"init": "value" if name == "tensor" else name}
        literals = [_literal(a) for a in node.args]
        if any(v is _NOT for v in literals) or not literals:
            raise _error(node, f"{name}(...) takes numbers: a value or sizes")
        if name == "tensor":
            if len(literals) != 1 or not _numeric_tree(literals[0]):
                raise _error(node, "tensor(...) takes one number or nested list of numbers")
            params["value"] = _as_floats(literals[0])
        else:
            sizes = literals[0] if len(literals) == 1 and isinstance(literals[0], (list, tuple)) \
                else literals
            if not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in sizes):
                raise _error(node, f"{name}(...) takes sizes: whole numbers")
            params["shape"] = list(sizes)
        for keyword in node.keywords:
            if keyword.arg not in ("requires_grad", "dtype"):
                raise _error(keyword.value, f"{name}(...) has no argument '{keyword.arg}'")
            if keyword.arg == "dtype":
                params["dtype"] = _dotted(keyword.value).split(".")[-1]
                if params["dtype"] not in spec.param("dtype").choices:
                    raise _error(keyword.value, "dtype must be torch.float32 or torch.float64")
            else:
                params["requires_grad"] = self.parameter(spec, "requires_grad", keyword.value)
        return self.leaf(label or self.label_for(name), params)

    def parameter(self, spec: NodeSpec, name: str, node: ast.expr) -> Any:
        """A literal argument checked against the parameter's type."""
        param = spec.param(name)
        value = _literal(node)
        if value is None and (param.nullable or param.default is None):
            return None
        ok = {INT: lambda v: isinstance(v, int) and not isinstance(v, bool),
              FLOAT: lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
              BOOL: lambda v: isinstance(v, bool),
              SHAPE: lambda v: isinstance(v, (list, tuple)) and all(
                  isinstance(n, int) and not isinstance(n, bool) for n in v),
              CHOICE: lambda v: v in param.choices,
              STR: lambda v: isinstance(v, str)}.get(param.type, lambda v: False)
        if value is _NOT or not ok(value):
            raise _error(node, f"{spec.kind}: '{name}' must be {_expected(param)}")
        if param.type == FLOAT:
            return float(value)
        return list(value) if param.type == SHAPE else value

    # ------------------------------------------------------------------ nodes
    def leaf(self, label: str, params: dict, to_fill: bool = False) -> Value:
        return self.add("tensor", self.label_for(label), params, {}, to_fill)

    def constant(self, value: float) -> Value:
        if value not in self.constants:
            self.constants[value] = self.leaf(f"const({value:g})", {"value": value})
        return self.constants[value]

    def add(self, kind: str, label: str, params: dict, inputs: dict[str, Value],
            to_fill: bool = False) -> Value:
        label = label if label not in self.taken else self.label_for(label)
        self.taken.add(label)
        try:        # the limits a file and the Inspector have (gradstudio.graph.validation)
            params = check_params(self.catalog[kind], params, label)
        except GraphError as exc:
            raise _error(self.current, str(exc)) from None
        self.construction.nodes.append(NewNode(label, kind, dict(params), to_fill=to_fill))
        for port, (src, src_port) in inputs.items():
            self.construction.edges.append(NewEdge(src, src_port, label, port))
        outputs = self.catalog[kind].outputs
        return (label, outputs[0].name if outputs else "")

    def label_for(self, wanted: str) -> str:
        """`wanted`, or wanted2, wanted3, ... when a node already has that label."""
        if wanted not in self.taken:
            return wanted
        n = 2
        while f"{wanted}{n}" in self.taken:
            n += 1
        return f"{wanted}{n}"

    def auto_label(self, node: ast.expr, kind: str) -> str:
        text = ast.unparse(node)
        return self.label_for(text if len(text) <= MAX_AUTO_LABEL else kind)

    # ------------------------------------------------------------------ layout
    def layout(self, origin: tuple[float, float]) -> None:
        """Columns by depth (a node one column right of its deepest new input), rows in
        the order the nodes were made."""
        depth: dict[str, int] = {}
        rows: dict[int, int] = {}
        incoming: dict[str, list[str]] = {}
        for edge in self.construction.edges:
            incoming.setdefault(edge.dst, []).append(edge.src)
        for new in self.construction.nodes:
            column = max((depth[s] + 1 for s in incoming.get(new.label, ()) if s in depth),
                         default=0)
            depth[new.label] = column
            row = rows.get(column, 0)
            rows[column] = row + 1
            new.pos = (origin[0] + column * COLUMN_WIDTH, origin[1] + row * ROW_HEIGHT)


# ---------------------------------------------------------------------- literals
class _Not:
    """Marks an AST node that is not a literal (None is a literal)."""


_NOT = _Not()


def _literal(node: ast.expr) -> Any:
    """The value of a number, string, True/False/None or a tuple/list of them, else _NOT."""
    if isinstance(node, ast.Constant) and (node.value is None or
                                           isinstance(node.value, (bool, int, float, str))):
        return node.value
    number = _number(node)
    if number is not None:
        return number
    if isinstance(node, (ast.Tuple, ast.List)):
        items = [_literal(e) for e in node.elts]
        if any(v is _NOT for v in items):
            return _NOT
        return tuple(items) if isinstance(node, ast.Tuple) else items
    return _NOT


def _number(node: ast.expr) -> float | int | None:
    """The value of `2`, `2.5` or `-2` (not True/False), else None."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        inner = _number(node.operand)
        return None if inner is None else (-inner if isinstance(node.op, ast.USub) else inner)
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) \
            and not isinstance(node.value, bool):
        return node.value
    return None


def _as_floats(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [_as_floats(v) for v in value]
    return float(value)


def _numeric_tree(value: Any) -> bool:
    if isinstance(value, (list, tuple)):
        return all(_numeric_tree(v) for v in value)
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _dotted(node: ast.expr) -> str:
    """"torch.nn.functional" for that attribute chain, "" for anything else."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        head = _dotted(node.value)
        return f"{head}.{node.attr}" if head else ""
    return ""


def _expected(param) -> str:
    if param.type == CHOICE:
        return "one of " + ", ".join(repr(c) for c in param.choices)
    return {INT: "a whole number", FLOAT: "a number", BOOL: "True or False",
            SHAPE: "a tuple of sizes", STR: "a string"}.get(param.type, param.type)


def _op_text(op: ast.AST) -> str:
    return {ast.Not: "not", ast.Invert: "~", ast.Mod: "%", ast.FloorDiv: "//",
            ast.LShift: "<<", ast.RShift: ">>", ast.BitAnd: "&", ast.BitOr: "|",
            ast.BitXor: "^"}.get(type(op), type(op).__name__)


def _error(node: ast.AST, message: str) -> ExpressionError:
    return ExpressionError(getattr(node, "lineno", 1), getattr(node, "col_offset", 0) + 1, message)
