"""Random use of the real window: a seeded stream of the actions a person can take (add,
connect, delete, move, rename, hostile values typed into parameters, cut/copy/paste of good
and malformed clipboard text, the Expressions box, undo/redo, runs, debugger steps, themes,
Snap to Grid, examples, the training setup, save and reload; groups: Ctrl+G around a random
selection of nodes and groups (so nested ones), Ctrl+Shift+G, collapse/expand, rename, and the
other actions picking nodes hidden inside collapsed groups too), checked after every action:

- no exception escapes (from the action, from a Qt callback, or an undo command's guard);
- the document is one the loader accepts, and every saved file reopens to an equal document;
- the canvas draws each node where the document says, with one item per node and edge (a
  node hidden in a collapsed group: its item, when made, hidden; an edge inside one box: no
  item, or a hidden one);
- undoing everything gives back the document the history started from, redoing gives the
  latest one again (checked every CHECK_EVERY actions and at the end).

CI runs a few hundred actions with a fixed seed; more with an environment variable:

    GRADSTUDIO_FUZZ_ACTIONS=5000 GRADSTUDIO_FUZZ_FILES=300 GRADSTUDIO_FUZZ_SEED=3 \
        pytest -s tests/test_reliability_random_actions.py

The summary line (actions, exceptions, violations) is printed at the end (-s shows it).
"""
from __future__ import annotations

import json
import os
import random
import traceback

import pytest
from PySide6.QtGui import QGuiApplication

from gradstudio import EXAMPLES
from gradstudio.graph import fileio
from gradstudio.graph.catalog import CATALOG
from gradstudio.ui.document_editor import CLIPBOARD_FORMAT
from gradstudio.ui.param_values import parse_value
from gradstudio.ui.undo_commands import failures

ACTIONS = int(os.environ.get("GRADSTUDIO_FUZZ_ACTIONS", "300"))
SEED = int(os.environ.get("GRADSTUDIO_FUZZ_SEED", "17"))
FILES = int(os.environ.get("GRADSTUDIO_FUZZ_FILES", "40"))
CHECK_EVERY = 50

KINDS = sorted(CATALOG)
LABELS = ["x", "y", "z", "w", "loss", "data", "a" * 20_000, "", "   ", "1", "x y", "é", "out"]
TEXTS = ["", "abc", "nan", "inf", "-inf", "1e400", "-1", "0", "3", "0.5", "2, 3", "(1, 2)",
         "100000, 100000", "1, 1, 1, 1, 1, 1, 1, 1, 1", "[[1, 2], [3]]", "[[1, 2], [3, 4]]",
         "[" * 12 + "1" + "]" * 12, "x" * 2000, "1" * 400, "None", "on", "off", "true",
         "[1e308, -1e308]", "__import__('os')", "randn", "zeros", "float64", "0:2", "-2"]
HOSTILE = [5, None, [], {}, "x", [1e400, 0], ["x", None], [float("inf"), 30], -1, "nan", True,
           "a" * 2000, [0, 0, 0], {"kind": "scale"}, [[1, 2], [3]], 10 ** 400]
EXPRESSIONS = ["z = x*y + y**2", "w = torch.zeros(100000, 100000)", "q = torch.randn(2, 3)",
               "loss = ((w*x + b - y)**2).mean()", "loss.backward()", "u = x @ x", "v = (",
               "k = torch.tensor([[1, 2], [3]])", "a = b = c", "t = torch.tensor(" + "[" * 9
               + "1" + "]" * 9 + ")", "s = x.sum(dim=0)", "e = torch.exp(x) / 0"]


class RandomUser:
    def __init__(self, window, qtbot, tmp_path, seed: int) -> None:
        self.w, self.qtbot, self.tmp = window, qtbot, tmp_path
        self.rng = random.Random(seed)
        self.exceptions: list[str] = []
        self.violations: list[str] = []
        self.saves = 0
        self.grouped = self.hidden = self.on_box = 0   # checks that saw a group / a hidden
        # node / a tag drawn on a collapsed group's box
        self.baseline = fileio.dumps(window.doc)     # where the undo history starts
        failures.failed.connect(lambda text: self.exceptions.append(f"undo guard: {text}"))

    # ------------------------------------------------------------------ picking
    def node(self):
        nodes = list(self.w.doc.nodes.values())
        return self.rng.choice(nodes) if nodes else None

    def select(self, count: int | None = None) -> list[str]:
        """Selects a few nodes, hidden ones (inside collapsed groups) included: looking one up
        makes its item if the canvas has not yet, and a hidden item stays unselected."""
        ids = list(self.w.doc.nodes)
        chosen = self.rng.sample(ids, min(len(ids), count or self.rng.randint(1, 3)))
        self.w.scene.clearSelection()
        for nid in chosen:
            self.w.scene.node_items[nid].setSelected(True)
        if self.rng.random() < 0.2:          # a collapsed box or a frame too
            self.select_groups()
        return chosen

    def group(self):
        groups = self.w.doc.groups
        return groups[self.rng.choice(list(groups))] if groups else None

    def select_groups(self) -> list[str]:
        """Selects a few groups' frames or boxes (whichever the canvas draws for them)."""
        layer = self.w.scene.groups
        shown = list(layer.frames.values()) + list(layer.boxes.values())
        chosen = self.rng.sample(shown, min(len(shown), self.rng.randint(1, 2)))
        for item in chosen:
            item.setSelected(True)
        return [item.group_id for item in chosen]

    # ------------------------------------------------------------------ actions
    def add(self):
        kind = self.rng.choice(KINDS)
        pos = (self.rng.uniform(-2000, 2000), self.rng.uniform(-2000, 2000))
        self.w.editor.add_node(kind, pos)

    def connect(self):
        a, b = self.node(), self.node()
        if a is None:
            return
        outs, ins = CATALOG[a.kind].outputs, CATALOG[b.kind].inputs
        if outs and ins:
            self.w.editor.connect_ports(a.id, self.rng.choice(outs).name, b.id,
                                        self.rng.choice(ins).name)

    def delete(self):
        if self.w.doc.nodes:
            self.select()
            self.w.act_delete.trigger()

    def delete_edge(self):
        if self.w.doc.edges:
            self.w.editor.remove([], [self.rng.choice(list(self.w.doc.edges))])

    def move(self):
        node = self.node()
        if node is not None:
            new = (node.pos[0] + self.rng.uniform(-300, 300), node.pos[1] + self.rng.uniform(-300, 300))
            self.w.editor.move_nodes({node.id: (node.pos, new)})

    def rename(self):
        node = self.node()
        if node is not None:
            self.w.editor.rename(node.id, self.rng.choice(LABELS))

    def set_param(self):
        """What the Inspector and the inline editors do with typed text."""
        node = self.node()
        if node is None or not CATALOG[node.kind].params:
            return
        param = self.rng.choice(CATALOG[node.kind].params)
        try:
            value = parse_value(param, self.rng.choice(TEXTS))
        except ValueError as refused:
            if len(str(refused)) > 300:
                self.violations.append(f"refusal of {len(str(refused))} characters")
            return
        self.w.editor.set_param(node.id, param.name, value)

    def copy(self):
        if self.w.doc.nodes:
            self.select()
            self.w.act_copy.trigger()

    def cut(self):
        if self.w.doc.nodes:
            self.select()
            self.w.act_cut.trigger()

    def paste(self):
        self.w.act_paste.trigger()

    def duplicate(self):
        if self.w.doc.nodes:
            self.select()
            self.w.act_duplicate.trigger()

    def paste_malformed(self):
        nodes = [n.id for n in self.w.doc.nodes.values()][:3]
        payload = json.loads(self.w.editor.copy_payload(nodes)) if nodes else \
            {"format": CLIPBOARD_FORMAT, "nodes": [{"id": "a", "kind": "tensor", "label": "p",
                                                    "pos": [0, 0], "params": {}}], "edges": []}
        if payload["nodes"]:
            item = self.rng.choice(payload["nodes"])
            item[self.rng.choice(["label", "pos", "params", "kind", "hooks", "id"])] = \
                self.rng.choice(HOSTILE)
        text = json.dumps(payload, allow_nan=True, default=str) if self.rng.random() < 0.9 \
            else json.dumps(payload)[: self.rng.randint(0, 80)]
        QGuiApplication.clipboard().setText(text)
        self.w.act_paste.trigger()

    def expressions(self):
        box = self.w.expression_box
        box.text.setPlainText("\n".join(self.rng.sample(EXPRESSIONS, self.rng.randint(1, 3))))
        box.add_button.click()

    def group_nodes(self):
        """Ctrl+G around a few nodes, and sometimes groups too (a group around groups)."""
        if self.w.doc.nodes:
            self.select()
            if self.rng.random() < 0.4:
                self.select_groups()
            self.w.act_group.trigger()

    def ungroup(self):
        """Ctrl+Shift+G on a group's frame or box, or on a node inside one."""
        if self.rng.random() < 0.5:
            self.w.scene.clearSelection()
            self.select_groups()
        elif self.w.doc.nodes:
            self.select(1)
        self.w.act_ungroup.trigger()

    def collapse(self):
        """Collapse or expand: the Edit menu's toggle on a selection, or a double-click's."""
        group = self.group()
        if group is None:
            return
        if self.rng.random() < 0.5:
            self.w.scene.clearSelection()
            self.select_groups()
            self.w.act_collapse.trigger()
        else:
            self.w.scene.groups.set_collapsed_later(group.id, not group.collapsed)

    def rename_group(self):
        group = self.group()
        if group is not None:
            self.w.scene.groups.rename(group.id, self.rng.choice(LABELS))

    def frame_node(self):
        """Selects one node (perhaps hidden in a box: its item made, not selected), then F."""
        if self.w.doc.nodes:
            self.select(1)
            self.w.act_frame.trigger()

    def why_grad(self):
        """The canvas menu's "Why is its gradient None or zero?" on any node."""
        node = self.node()
        if node is not None:
            self.w.scene.why_requested.emit(node.id)

    def change_tags(self):
        """Run > Show Gradient Changes on or off: tags over nodes, or over their boxes."""
        self.w.act_grad_changes.setChecked(not self.w.act_grad_changes.isChecked())

    def undo(self):
        self.w.act_undo.trigger()

    def redo(self):
        self.w.act_redo.trigger()

    def run(self):
        self.rng.choice([self.w.act_forward, self.w.act_backward, self.w.act_zero_grad]).trigger()

    def debug(self):
        panel = self.w.debugger_panel
        self.rng.choice([panel.act_restart, panel.act_step, panel.act_step_back, panel.act_run,
                         panel.act_stop]).trigger()

    def set_root(self):
        node = self.node()
        self.w.editor.set_root(node.id if node is not None and self.rng.random() < 0.8 else None)

    def training_setup(self):
        """What the Training dock stores: labels of the data, loss and frozen nodes."""
        from gradstudio.ui.undo_commands import SetMeta
        data = [n for n in self.w.doc.nodes.values() if n.kind in ("dataset", "csv")]
        others = list(self.w.doc.nodes.values())
        if data and others:
            setup = {"data": self.rng.choice(data).label, "loss": self.rng.choice(others).label,
                     "prediction": self.rng.choice(others).label,
                     "frozen": [self.rng.choice(others).label]}
            self.w.undo_stack.push(SetMeta(self.w.doc, "training", setup, "Training setup"))

    def view(self):
        choice = self.rng.randrange(5)
        if choice == 0:
            self.w.act_snap.trigger()
        elif choice == 1:
            self.w.set_theme(self.rng.choice(["light", "dark"]))
        elif choice == 2:
            self.w.act_layout.trigger()
        elif choice == 3:
            self.w.act_frame.trigger()
        else:
            self.w.act_select_all.trigger()

    def open_example(self):
        actions = self.w.examples_menu.actions()
        self.rng.choice(actions).trigger()
        self.baseline = fileio.dumps(self.w.doc)

    def new(self):
        self.w.act_new.trigger()
        self.baseline = fileio.dumps(self.w.doc)

    def save_and_reload(self):
        path = self.tmp / f"save{self.saves % 3}.json"
        self.saves += 1
        if not self.w.save_to(path):
            self.violations.append(f"save refused: {self.w.messages.lines()[-1][:200]}")
            return
        again = fileio.load(path)
        if fileio.dumps(again) != fileio.dumps(self.w.doc):
            self.violations.append("a saved file reopened to a different document")
        if self.rng.random() < 0.3:              # File > Open of it: the window's document
            saved = path.read_text()
            if not self.w.open_file(path):
                self.violations.append(f"File > Open refused a saved file: "
                                       f"{self.w.messages.lines()[-1][:200]}")
            elif fileio.dumps(self.w.doc) != saved:
                self.violations.append("File > Open of a saved file gave another document")
            self.baseline = fileio.dumps(self.w.doc)

    WEIGHTS = {"add": 8, "connect": 8, "delete": 3, "delete_edge": 2, "move": 4, "rename": 3,
               "set_param": 8, "copy": 2, "cut": 1, "paste": 2, "duplicate": 2,
               "paste_malformed": 3, "expressions": 2, "undo": 6, "redo": 3, "run": 3,
               "debug": 2, "set_root": 2, "training_setup": 2, "view": 2, "open_example": 1,
               "new": 0.3, "save_and_reload": 2, "group_nodes": 3, "ungroup": 1.5,
               "collapse": 3, "rename_group": 1, "frame_node": 1, "why_grad": 1,
               "change_tags": 0.5}

    # ------------------------------------------------------------------ checks
    def check(self, name: str) -> None:
        w = self.w
        hidden = w.scene.groups.hidden_nodes()
        self.grouped += bool(w.doc.groups)
        self.hidden += bool(hidden)
        made = set(w.scene.node_items)            # the items made so far
        if not made <= set(w.doc.nodes) or not set(w.doc.nodes) - set(hidden) <= made:
            self.violations.append(f"{name}: canvas items differ from the document")
        for nid in made & set(w.doc.nodes):
            if w.scene.node_items[nid].isVisible() == (nid in hidden):
                self.violations.append(f"{name}: {nid} {'shown' if nid in hidden else 'hidden'}"
                                       f" (in a collapsed group: {nid in hidden})")
                break
        marks = w.grad_changes.marks         # tags follow what shows: the node or its box
        self.on_box += bool(marks.on_box)
        for label in marks.tags:
            node = w.doc.node_by_label(label)
            if node is None or marks.on_box.get(label) != hidden.get(node.id):
                self.violations.append(f"{name}: the tag of {label[:20]} is not over what "
                                       f"shows it")
                break
        in_box = {eid for eid, e in w.doc.edges.items()
                  if e.src in hidden and hidden[e.src] == hidden.get(e.dst)}
        drawn = {eid for eid, item in w.scene.edge_items.items() if item.isVisible()}
        if not set(w.scene.edge_items) <= set(w.doc.edges) or drawn != set(w.doc.edges) - in_box:
            self.violations.append(f"{name}: canvas edges differ from the document")
        for nid, item in w.scene.node_items.items():
            if nid in w.doc.nodes and (item.x(), item.y()) != w.doc.nodes[nid].pos:
                self.violations.append(f"{name}: {nid} drawn at {(item.x(), item.y())}, "
                                       f"document says {w.doc.nodes[nid].pos}")
                break
        try:
            fileio.checked_text(w.doc)
        except Exception as exc:     # noqa: BLE001 (any refusal is the violation)
            self.violations.append(f"{name}: the loader would refuse the document: {exc}"[:300])

    def undo_all_and_back(self, name: str) -> None:
        w, stack = self.w, self.w.undo_stack
        latest, index = fileio.dumps(w.doc), stack.index()
        stack.setIndex(0)
        if fileio.dumps(w.doc) != self.baseline:
            self.violations.append(f"after {name}: undoing everything did not restore the start")
        stack.setIndex(stack.count())
        stack.setIndex(index)
        if fileio.dumps(w.doc) != latest:
            self.violations.append(f"after {name}: redoing did not give the latest document back")
        self.check(f"undo-all after {name}")

    def step(self, number: int) -> None:
        names, weights = zip(*self.WEIGHTS.items())
        name = self.rng.choices(names, weights)[0]
        with self.qtbot.captureExceptions() as in_qt:
            try:
                getattr(self, name)()
                self.qtbot.wait(1)            # the coalesced auto-run and repaints happen here
            except Exception:  # noqa: BLE001 (counted and reported)
                self.exceptions.append(f"#{number} {name}: {traceback.format_exc(limit=4)}")
        for _, exc, tb in in_qt:
            self.exceptions.append(f"#{number} {name} (in a Qt callback): {exc!r}\n"
                                   f"{''.join(traceback.format_tb(tb, limit=4))}")
        self.check(f"#{number} {name}")
        if number % CHECK_EVERY == CHECK_EVERY - 1:
            self.undo_all_and_back(f"#{number} {name}")


@pytest.mark.timeout(120 + ACTIONS // 5)          # a long run may take its time
def test_random_actions_break_nothing(window, qtbot, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        lambda *a: (str(tmp_path / "save_as.json"), ""))
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a: ("", ""))
    window.open_file(EXAMPLES / "basic_grad.json", ask=False)
    user = RandomUser(window, qtbot, tmp_path, SEED)
    for number in range(ACTIONS):
        user.step(number)
    user.undo_all_and_back("the last action")
    print(f"\nrandom actions: {ACTIONS} (seed {SEED}), exceptions: {len(user.exceptions)}, "
          f"violations: {len(user.violations)}, saves: {user.saves}, checks with groups: "
          f"{user.grouped}, with hidden nodes: {user.hidden}, with tags on a box: "
          f"{user.on_box}, "
          f"nodes at the end: {len(window.doc.nodes)}")
    assert not user.exceptions, "\n".join(user.exceptions[:5])
    assert not user.violations, "\n".join(sorted(set(user.violations))[:10])


def mutate(raw, rng: random.Random):
    """One random change anywhere in a parsed graph file: a value replaced by a hostile one,
    a key dropped, or a list item duplicated."""
    containers = []

    def walk(value):
        if isinstance(value, dict):
            containers.append(value)
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            containers.append(value)
            for item in value:
                walk(item)

    walk(raw)
    target = rng.choice(containers)
    if not target:
        return raw
    key = rng.choice(list(target)) if isinstance(target, dict) else rng.randrange(len(target))
    choice = rng.randrange(3)
    if choice == 0:
        target[key] = rng.choice(HOSTILE)
    elif choice == 1:
        del target[key]
    elif isinstance(target, list):
        target.append(json.loads(json.dumps(target[key])))
    return raw


@pytest.mark.timeout(120 + FILES)
def test_mutated_files_are_refused_in_one_line_or_run(tmp_path, capsys):
    """`gradstudio run` on randomly mutated example files: exit 0, or exit 2 with one line on
    stderr; never a traceback. GRADSTUDIO_FUZZ_FILES sets how many (40 in CI)."""
    from gradstudio import cli
    rng = random.Random(SEED)
    examples = sorted(EXAMPLES.glob("*.json"))
    outcomes = {0: 0, 2: 0}
    escaped = []
    for number in range(FILES):
        raw = mutate(json.loads(rng.choice(examples).read_text()), rng)
        path = tmp_path / f"mutated{number % 4}.json"
        path.write_text(json.dumps(raw, allow_nan=True, default=str))
        try:
            code = cli.main(["run", str(path), "--steps", "2"])
        except BaseException:  # noqa: BLE001 (counted and reported)
            escaped.append(traceback.format_exc(limit=3))
            continue
        err = capsys.readouterr().err
        outcomes[code] = outcomes.get(code, 0) + 1
        if code == 2 and err.strip().count("\n") != 0:
            escaped.append(f"exit 2 with {err.count(chr(10))} lines: {err[:300]}")
        elif code not in (0, 2):
            escaped.append(f"exit {code}: {err[:300]}")
    print(f"\nmutated files: {FILES} (seed {SEED}), ran: {outcomes.get(0, 0)}, refused in one "
          f"line: {outcomes.get(2, 0)}, tracebacks or other exits: {len(escaped)}")
    assert not escaped, "\n".join(escaped[:3])
