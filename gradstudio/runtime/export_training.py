"""The body of an exported script for a document that trains: the training loop gradstudio's
trainer runs (gradstudio.runtime.training), written out step for step.

The script builds the leaves, data and layers once, then for each step takes the batch the
trainer takes (the same NumPy generator, split and permutations), runs the graph's forward
lines on it, sets every parameter's .grad to None, runs backward from the loss, clips,
steps the optimizer and prints "step N: loss=L". Afterwards it puts the whole data set back,
clears the gradients, runs forward and backward from the root once more and shows each
tensor, as `gradstudio run` does after training. Gradient hooks (`Node.hooks`) are
registered where the runtime registers them: on a leaf once, on an op's output each step.
"""
from __future__ import annotations

from typing import Any

from gradstudio.graph.catalog_types import python_literal
from gradstudio.graph.training_setup import TrainingSetup
from gradstudio.runtime.session import BACKWARD


def training_body(writer: Any, order: list[str]) -> list[str]:
    """The script's lines after its header, for `writer` (export._ScriptWriter) and the
    nodes in run order (the backward root left out)."""
    doc = writer.doc
    setup = TrainingSetup.from_document(doc)
    data = doc.node_by_label(setup.data)
    loss = doc.node_by_label(setup.loss)
    x, y = writer.names[(data.id, "x")], writer.names[(data.id, "y")]
    setup_lines: list[str] = []
    forward_lines: list[str] = []
    block_no_grad = False
    for node_id in order:
        node = doc.nodes[node_id]
        made, forward = writer._statements(node)
        setup_lines += made
        if made:
            setup_lines += hook_lines(writer, node, leaf=True)
        if forward and node_id in writer.no_grad:
            if not block_no_grad:
                forward_lines.append("with torch.no_grad():")
                block_no_grad = True
            forward_lines += ["    " + line for line in forward]
        elif forward:
            block_no_grad = False
            forward_lines += forward
        if forward:
            forward_lines += hook_lines(writer, node, leaf=False)
    parameters, leaves = _parameters(writer, order, data.id, loss.id)
    frozen = [p for label, p in parameters if label in setup.frozen]
    rows = len(writer.session.value(data.id, "x"))
    n_val = int(round(rows * setup.validation_split))
    steps = setup.total_steps(rows - n_val)
    batch = setup.batch_size
    batched = 0 < batch < rows - n_val
    lines = setup_lines + [
        "",
        "# Training, as gradstudio's trainer runs it (gradstudio.runtime.training)",
        "import numpy as np  # noqa: E402  (the trainer shuffles with NumPy's generator)",
        "",
        f"all_x, all_y = {x}, {y}",
        "rows_x, rows_y = all_x.numpy(), all_y.numpy()",
        f"rng = np.random.default_rng({setup.seed})",
        "order = rng.permutation(len(rows_x))",
        f"train_rows = order[{n_val}:]  # the first {n_val} are held out for validation"
        if n_val else "train_rows = order",
        "parameters = [" + ", ".join(p for _, p in parameters) + "]",
    ]
    lines += [f"{p}.requires_grad_(False)  # frozen" for p in frozen]
    lines.append(f"optimizer = {_optimizer(setup)}")
    if batched:
        lines.append("epoch_rows, cursor = train_rows[:0], 0")
    lines.append(f"for step in range({steps}):")
    if batched:
        lines += ["    if cursor >= len(epoch_rows):",
                  "        epoch_rows, cursor = train_rows[rng.permutation(len(train_rows))], 0",
                  f"    rows = epoch_rows[cursor:cursor + {batch}]",
                  f"    cursor += {batch}"]
    else:
        lines.append("    rows = train_rows")
    lines.append(f"    {x}, {y} = torch.from_numpy(rows_x[rows]), torch.from_numpy(rows_y[rows])")
    lines += ["    " + line for line in forward_lines]
    loss_name = writer.names[(loss.id, "out")]
    lines += ["    for p in parameters:",
              "        p.grad = None",
              f"    if {loss_name}.requires_grad:",
              f"        {loss_name}.backward()"]
    lines += _clipping(setup)
    lines += ["    optimizer.step()",
              f"    print(f\"step {{step}}: loss={{{loss_name}.item()!r}}\")",
              "",
              "# the trained graph on all the data",
              f"{x}, {y} = all_x, all_y"]
    lines += forward_lines
    lines += [f"for t in [{', '.join(leaves)}]:", "    t.grad = None"] if leaves else []
    lines += writer._backward()
    return lines + [""] + writer._show_lines()


def _parameters(writer: Any, order: list[str], data_id: str,
                loss_id: str) -> tuple[list[tuple[str, str]], list[str]]:
    """(node label, expression) of each parameter the trainer trains, in its order, and the
    expressions of every leaf whose .grad the session clears."""
    doc = writer.doc
    needed = doc.upstream_of(loss_id)
    parameters: list[tuple[str, str]] = []
    leaves: list[str] = []
    for node_id in order:
        node = doc.nodes[node_id]
        module = writer.modules.get(node_id)
        if module is not None:
            names = [f"{module}.{name}" for name, _ in
                     writer.session.modules[node_id].named_parameters()]
            leaves += names
            if node_id in needed:
                parameters += [(node.label, name) for name in names]
        elif node.kind in ("parameter", "tensor") and node_id != data_id:
            name = writer.names[(node_id, "out")]
            trains = node.kind == "parameter" or node.params.get("requires_grad")
            if trains:
                leaves.append(name)
            if trains and node_id in needed:
                parameters.append((node.label, name))
    return parameters, leaves


def _optimizer(setup: TrainingSetup) -> str:
    o = setup.optimizer
    if o.kind == "sgd":
        return (f"torch.optim.SGD(parameters, lr={o.lr!r}, momentum={o.momentum!r}, "
                f"nesterov={o.nesterov!r}, weight_decay={o.weight_decay!r})")
    if o.kind == "rmsprop":
        return (f"torch.optim.RMSprop(parameters, lr={o.lr!r}, momentum={o.momentum!r}, "
                f"weight_decay={o.weight_decay!r})")
    name = {"adam": "Adam", "adamw": "AdamW"}[o.kind]
    return f"torch.optim.{name}(parameters, lr={o.lr!r}, weight_decay={o.weight_decay!r})"


def _clipping(setup: TrainingSetup) -> list[str]:
    clipping = setup.clipping
    if clipping.mode == "none":
        return []
    with_grad = "[p for p in parameters if p.grad is not None]"
    if clipping.mode == "norm":
        return [f"    torch.nn.utils.clip_grad_norm_({with_grad}, {clipping.max_norm!r})"]
    return [f"    torch.nn.utils.clip_grad_value_({with_grad}, {clipping.clip_value!r})"]


def hook_lines(writer: Any, node: Any, leaf: bool) -> list[str]:
    """register_hook lines for the node's hooks: for a leaf (`leaf`) after it is made, for
    an op after its forward line, where its output requires grad (as the Session does)."""
    if not node.hooks or (node.kind in ("tensor", "parameter")) != leaf \
            or node.kind in ("dataset", "csv", BACKWARD):
        return []
    lines = []
    for hook in node.hooks:
        name = writer.names.get((node.id, hook.get("port", "out")))
        function = _hook_function(hook)
        if name is None or function is None:
            continue
        lines += [f"if {name}.requires_grad:", f"    {name}.register_hook({function})"]
    return lines


def _hook_function(hook: dict) -> str | None:
    kind = hook["kind"]
    if kind == "scale":
        return f"lambda grad: grad * {python_literal(float(hook['k']))}"
    if kind == "clamp":
        return (f"lambda grad: grad.clamp(min={python_literal(float(hook['min']))}, "
                f"max={python_literal(float(hook['max']))})")
    if kind == "zero":
        return "lambda grad: torch.zeros_like(grad)"
    if kind == "normalize":
        return "lambda grad: grad / grad.norm() if grad.norm() > 0 else None"
    return None     # "log" only reports; the script's output stays the shown tensors
