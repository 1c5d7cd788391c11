"""Menu entries for the gradient switches of nodes and edges: requires_grad, retain_grad,
gradient hooks, no_grad and detach.

The canvas's right-click menu and the debugger's Toggles button fill their menus here,
so both offer the same switches under the same names; every entry pushes one undo command
through `DebugToggles` (the debugger re-plans on the change at once).
"""
from __future__ import annotations

from typing import Sequence

from PySide6.QtWidgets import QInputDialog, QMenu, QWidget

from gradstudio.graph.grad_hooks import HOOK_KINDS, describe, make_hook
from gradstudio.ui.debugger_commands import DebugToggles

HOOK_LABELS = {"scale": "Scale by k…", "clamp": "Clamp to [a, b]…", "zero": "Zero",
               "normalize": "Normalize (unit norm)", "log": "Log to messages"}


def add_node_toggles(menu: QMenu, toggles: DebugToggles, node_id: str | None,
                     selection: Sequence[str], parent: QWidget | None) -> None:
    """requires_grad / retain_grad of `node_id` (where it has them) and its hooks submenu,
    then the no_grad switch for the selected nodes (node_id alone when it is not among
    them; with node_id None, the selection's no_grad switch only)."""
    doc = toggles.doc
    if node_id is not None:
        node = doc.nodes[node_id]
        for key in ("requires_grad", "retain_grad"):
            if key in node.params:
                action = menu.addAction(f"{key} on {node.label}")
                action.setCheckable(True)
                action.setChecked(bool(node.params[key]))
                action.triggered.connect(lambda on, k=key: toggles.set_flag(node_id, k, on))
        if doc.spec(node).outputs:
            _add_hooks_menu(menu.addMenu(f"Gradient hook on {node.label}"), toggles, node_id,
                            parent)
    ids = list(selection) if node_id is None or node_id in selection else [node_id]
    if not ids:
        return
    who = doc.nodes[ids[0]].label if len(ids) == 1 else f"{len(ids)} nodes"
    no_grad = menu.addAction(f"no_grad region ({who})")
    no_grad.setCheckable(True)
    no_grad.setChecked(any(doc.in_no_grad(n) for n in ids))
    no_grad.setToolTip("like `with torch.no_grad():` around them: their outputs get no grad_fn")
    no_grad.triggered.connect(lambda on: toggles.add_no_grad_region(ids) if on
                              else toggles.remove_no_grad(ids))


def _add_hooks_menu(menu: QMenu, toggles: DebugToggles, node_id: str,
                    parent: QWidget | None) -> None:
    for kind in HOOK_KINDS:
        menu.addAction(HOOK_LABELS[kind], lambda k=kind: ask_hook(toggles, node_id, k, parent))
    hooks = toggles.doc.nodes[node_id].hooks
    if hooks:
        menu.addSeparator()
        for hook in hooks:
            menu.addAction(f"✓ {describe(hook)}").setEnabled(False)
        menu.addAction("Remove hooks", lambda: toggles.clear_hooks(node_id))


def add_edge_toggle(menu: QMenu, toggles: DebugToggles, edge_id: str) -> None:
    """The detach switch of one edge (drawn dashed: no gradient crosses it)."""
    doc = toggles.doc
    edge = doc.edges[edge_id]
    src, dst = doc.nodes[edge.src].label, doc.nodes[edge.dst].label
    action = menu.addAction(f"detach {src} → {dst}")
    action.setCheckable(True)
    action.setChecked(edge.detach)
    action.setToolTip("no gradient crosses a detached edge")
    action.triggered.connect(lambda on: toggles.set_detach(edge_id, on))


def ask_hook(toggles: DebugToggles, node_id: str, kind: str,
             parent: QWidget | None) -> bool:
    """Asks the hook's numbers (none for zero/normalize/log), then adds it; False when
    cancelled or refused."""
    numbers = {}
    for name, default in HOOK_KINDS[kind].items():
        value, ok = QInputDialog.getDouble(parent, f"{kind} hook", f"{name}:", default,
                                           -1e12, 1e12, 6)
        if not ok:
            return False
        numbers[name] = value
    outputs = toggles.doc.spec(toggles.doc.nodes[node_id]).outputs
    port = "out" if any(p.name == "out" for p in outputs) else outputs[0].name
    return toggles.add_hook(node_id, make_hook(kind, port=port, **numbers))
