"""The debugger dock: step the backward pass node by node (or the forward pass), scrub the
trace, play, breakpoints, the planned schedule, step details, and in-place toggles.

The panel keeps its own `Session` of the window's document (so the window's auto-runs
never disturb a half-stepped backward), a `BackwardDebugger` and a `ForwardWalk` over it,
and draws on the canvas through a `DebuggerOverlay`. Any edit that changes what runs
(a toggle, a parameter, an edge) re-runs the forward and re-plans the backward at once.
Toggles are undo commands on the window's stack (`DebugToggles`). While it is active the
canvas's node previews (and, through `state_shown` and `tensors_of`, the inspector) show
the tensors as they are at the step shown, not as the last full run left them; Stop (or
closing the dock) gives the run's previews back. `install_debugger` adds the dock and a
Debug menu to the main window: F10 step, Shift+F10 step back, F8 run to the end or the
next breakpoint, Ctrl+F8 play/pause, F9 breakpoint on the selected node, Ctrl+Shift+F5
restart, Shift+F5 stop.
"""
from __future__ import annotations

import html
from dataclasses import replace
from typing import Any, Callable

from PySide6.QtCore import QSignalBlocker, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QBrush, QColor, QKeySequence
from PySide6.QtWidgets import (QCheckBox, QDockWidget, QDoubleSpinBox, QHBoxLayout,
                               QLabel, QListWidget, QListWidgetItem, QMenu,
                               QSizePolicy, QSlider, QSplitter, QTextBrowser, QToolBar, QToolButton,
                               QVBoxLayout, QWidget)

from gradstudio.graph.document import Change
from gradstudio.runtime.debugger import (SHOWN_VALUES, BackwardDebugger, Breakpoints,
                                         ForwardWalk, Grad, TraceStep, grad_text)
from gradstudio.runtime.session import NodeInfo, RunError, Session, tensor_info
from gradstudio.ui.canvas_scene import GraphScene
from gradstudio.ui.chain_rule_view import edge_chain_html, step_chain_html
from gradstudio.ui.debugger_commands import DebugToggles
from gradstudio.ui.debugger_overlay import DebuggerOverlay
from gradstudio.ui.document_editor import DocumentEditor
from gradstudio.ui.grad_toggle_menu import add_edge_toggle, add_node_toggles
from gradstudio.ui.run_controller import drain_hook_log

_COSMETIC = {"pos", "label"}
DONE = QColor("#2f9e44")
LATER = QColor("#868e96")


class DebuggerPanel(QWidget):
    message = Signal(str, str)          # text, level ("info", "warning")
    state_shown = Signal()              # the step shown changed (or debugging stopped)

    def __init__(self, editor: DocumentEditor, scene: GraphScene,
                 settings_from: Callable[[], Session] | None = None, parent=None) -> None:
        super().__init__(parent)
        self.editor, self.scene, self.doc = editor, scene, editor.doc
        self.settings_from = settings_from
        self.session = Session(self.doc)
        self.debugger = BackwardDebugger(self.session)
        self.walk = ForwardWalk(self.session)
        self.toggles = DebugToggles(editor)
        self.overlay = DebuggerOverlay(scene, self)
        self.breakpoint_nodes: set[str] = set()
        self.forward_mode = False
        self.active = False                 # the person started debugging: edits re-plan
        self._coloured: int | None = None   # the position the schedule's colours show
        self._last_error: str | None = None  # the engine error already reported
        self._snapshots: dict[str, NodeInfo] = {}     # per node, after the forward, grad None
        self._with_grad: dict[tuple[str, str], tuple[Grad, NodeInfo]] = {}
        self.play_timer = QTimer(self)
        self.play_timer.timeout.connect(self._play_tick)
        self._restart_timer = QTimer(self)
        self._restart_timer.setSingleShot(True)
        self._restart_timer.setInterval(0)
        self._restart_timer.timeout.connect(self.restart)
        self._build()
        self.doc.subscribe(self._on_change)
        self.refresh()

    # ---------------------------------------------------------------- widgets
    def _action(self, text: str, slot, shortcut: str | None = None, tip: str = "",
                checkable: bool = False) -> QAction:
        action = QAction(text, self)
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
        action.setToolTip(f"{tip or text} ({shortcut})" if shortcut else tip or text)
        action.setStatusTip(tip or text)
        action.setCheckable(checkable)
        action.triggered.connect(slot)
        return action

    def _build(self) -> None:
        A = self._action
        self.act_restart = A("Restart", self.restart, "Ctrl+Shift+F5",
                             "Run forward again, clear .grad and plan the backward")
        self.act_step_back = A("◀ Back", self.step_back, "Shift+F10", "Step back")
        self.act_step = A("Step ▶", self.step, "F10", "Step: run one backward node")
        self.act_play = A("Play", self.set_playing, "Ctrl+F8", "Play / pause", checkable=True)
        self.act_run = A("Run ▶▶", self.run_to_end, "F8",
                         "Run to the end or the next breakpoint")
        self.act_run_to_node = A("Run to node", self.run_to_selected, "",
                                 "Run until the selected canvas node's step")
        self.act_breakpoint = A("Breakpoint", self.toggle_breakpoint, "F9",
                                "Breakpoint on the selected canvas node")
        self.act_forward = A("Forward pass", self.set_forward_mode, "",
                             "Step the forward pass node by node instead", checkable=True)
        self.act_stop = A("Stop", self.stop, "Shift+F5",
                          "Stop debugging: the canvas shows the last run again")
        self.actions_list = [self.act_restart, self.act_step_back, self.act_step, self.act_play,
                             self.act_run, self.act_run_to_node, self.act_breakpoint,
                             self.act_forward, self.act_stop]

        bar = QToolBar()
        bar.setToolButtonStyle(Qt.ToolButtonTextOnly)
        for action in self.actions_list:
            bar.addAction(action)
        self.speed = QSlider(Qt.Horizontal)
        self.speed.setRange(1, 20)
        self.speed.setValue(3)
        self.speed.setFixedWidth(90)
        self.speed.setToolTip("play speed: steps per second")
        self.speed.valueChanged.connect(self._speed_changed)
        self.speed_label = QLabel()
        self._speed_changed(self.speed.value())
        speed_box = QWidget()
        speed_box.setSizePolicy(QSizePolicy.Fixed, QSizePolicy.Preferred)
        speed_row = QHBoxLayout(speed_box)
        speed_row.setContentsMargins(6, 0, 6, 0)
        speed_row.addWidget(self.speed)
        speed_row.addWidget(self.speed_label)
        bar.insertWidget(self.act_run, speed_box)

        self.scrubber = QSlider(Qt.Horizontal)
        self.scrubber.setToolTip("the steps taken so far: drag to show any earlier state "
                                 "(it stops at the last step taken)")
        self.scrubber.valueChanged.connect(self.seek)
        self.position_label = QLabel()
        self.position_label.setMinimumWidth(120)
        scrub_row = QHBoxLayout()
        scrub_row.addWidget(self.scrubber, 1)
        scrub_row.addWidget(self.position_label)

        self.stop_nan = QCheckBox("NaN/Inf")
        self.stop_nan.setToolTip("stop at the first step producing a NaN or Inf gradient")
        self.stop_above = QCheckBox("‖g‖ >")
        self.above = QDoubleSpinBox()
        self.stop_below = QCheckBox("‖g‖ <")
        self.below = QDoubleSpinBox()
        for spin, value in ((self.above, 100.0), (self.below, 1e-6)):
            spin.setDecimals(8)
            spin.setRange(0.0, 1e12)
            spin.setValue(value)
            spin.setFixedWidth(95)
        bp_row = QHBoxLayout()
        bp_row.addWidget(QLabel("Stop on:"))
        for widget in (self.stop_nan, self.stop_above, self.above, self.stop_below, self.below):
            bp_row.addWidget(widget)
        bp_row.addStretch(1)
        self.toggles_button = QToolButton()
        self.toggles_button.setText("Toggles")
        self.toggles_button.setToolTip("requires_grad, retain_grad, detach, no_grad and hooks "
                                       "for the canvas selection")
        self.toggles_button.setPopupMode(QToolButton.InstantPopup)
        self.toggles_menu = QMenu(self.toggles_button)
        self.toggles_menu.aboutToShow.connect(self._fill_toggles_menu)
        self.toggles_button.setMenu(self.toggles_menu)
        bp_row.addWidget(self.toggles_button)

        self.schedule = QListWidget()
        self.schedule.setToolTip("the order the engine runs the backward nodes")
        self.schedule.itemActivated.connect(lambda item: self.seek(self.schedule.row(item) + 1))
        self.details = QTextBrowser()
        self.details.setOpenLinks(False)
        self.scene.edge_selection_changed.connect(self._show_edge)
        split = QSplitter(Qt.Horizontal)
        split.addWidget(self.schedule)
        split.addWidget(self.details)
        split.setSizes([260, 440])

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 4)
        layout.setSpacing(3)
        layout.addWidget(bar)
        layout.addLayout(scrub_row)
        layout.addLayout(bp_row)
        layout.addWidget(split, 1)

    def _speed_changed(self, value: int) -> None:
        self.speed_label.setText(f"{value}/s")
        self.play_timer.setInterval(int(1000 / max(1, value)))

    # ---------------------------------------------------------------- state
    def breakpoints(self) -> Breakpoints:
        return Breakpoints(set(self.breakpoint_nodes), self.stop_nan.isChecked(),
                           self.above.value() if self.stop_above.isChecked() else None,
                           self.below.value() if self.stop_below.isChecked() else None)

    def _selected_node(self, purpose: str) -> str | None:
        """The one selected canvas node; else None, after asking for one `purpose`."""
        ids = self.scene.selected_node_ids()
        if len(ids) == 1:
            return ids[0]
        self._say(f"select one canvas node {purpose}", "warning")
        return None

    def _say(self, text: str, level: str = "info") -> None:
        self.message.emit(text, level)

    def _drain_messages(self) -> None:
        drain_hook_log(self.session, self._say)

    # ---------------------------------------------------------------- commands
    def restart(self) -> bool:
        """Forward again, .grad cleared, schedule planned; in forward mode the walk restarts."""
        self._restart_timer.stop()
        self.active = True
        if self.settings_from is not None:
            source = self.settings_from()
            self.session.base_dir = source.base_dir
            if source.device != self.session.device:
                try:
                    self.session.set_device(source.device, fallback=False)
                except RunError as exc:
                    self._say(str(exc), "warning")
        self.breakpoint_nodes &= self.doc.nodes.keys()
        if self.forward_mode:
            self.walk.start()
            ok = True
        else:
            ok = self.debugger.start()
            if not ok:
                self._say(self.debugger.error, "warning")
            else:
                self._say_which_root()
        self._drain_messages()
        self._take_snapshots()
        self.refresh(replan=True)
        return ok

    def _say_which_root(self) -> None:
        """With several Backward nodes the debugger steps the first one's backward() call;
        saying so keeps the others from looking ignored (Backward, F6, runs them all)."""
        try:
            roots = self.session.root_ids()
        except RunError:
            return
        if len(roots) > 1 and self.debugger.root_node_id in roots:
            label = self.doc.nodes[self.debugger.root_node_id].label
            others = ", ".join(f"'{self.doc.nodes[r].label}'" for r in roots
                               if r != self.debugger.root_node_id)
            self._say(f"debugging the backward from '{label}', the first of {len(roots)} "
                      f"roots; Backward (F6) then runs {others} too", "info")

    def stop(self) -> None:
        """Leaves debugging: overlay gone, the canvas and inspector show the last run again."""
        self._restart_timer.stop()
        self.set_playing(False)
        self.debugger.close()
        self.debugger = BackwardDebugger(self.session)
        self.walk = ForwardWalk(self.session)
        self.active = False
        self._snapshots, self._with_grad = {}, {}
        self.refresh(replan=True)

    def _ensure_started(self) -> bool:
        if self.forward_mode:
            if not self.walk.steps:
                self.restart()
            return True
        return self.debugger.started or self.restart()

    def step(self) -> None:
        """One node; the first press only plans (and shows the schedule and the seed)."""
        started = self.walk.steps if self.forward_mode else self.debugger.started
        if not started:
            self.restart()
            return
        if self.forward_mode:
            self.walk.step()
        else:
            self.debugger.step()
            self._after_moving()
        self.refresh()

    def step_back(self) -> None:
        if self.forward_mode:
            self.walk.step_back()
        else:
            self.debugger.step_back()
        self.refresh()

    def seek(self, position: int) -> None:
        """Shows the state after `position` steps; past the last step taken it stays there."""
        if self.forward_mode:
            self.walk.position = max(0, min(position, len(self.walk.steps)))
        elif self.debugger.started:
            self.debugger.seek(position)
        self.refresh()

    def run_to_end(self) -> None:
        self.set_playing(False)
        if self.forward_mode:
            if self._ensure_started():
                self.walk.position = len(self.walk.steps)
            self.refresh()
            return
        if not self._ensure_started():
            return
        reason = self.debugger.run(self.breakpoints())
        self._after_moving()
        if reason:
            self._say(f"stopped: {reason}")
        self.refresh()

    def run_to_selected(self) -> None:
        node_id = self._selected_node("to run to")
        if node_id is None:
            return
        if not self._ensure_started() or self.forward_mode:
            return
        if not any(p.node_id == node_id for p in self.debugger.plan[self.debugger.position:]):
            self._say(f"{self.doc.nodes[node_id].label} has no backward step ahead", "warning")
            return
        self.debugger.run(Breakpoints(node_ids={node_id}))
        self._after_moving()
        self.refresh()

    def toggle_breakpoint(self) -> None:
        node_id = self._selected_node("for the breakpoint")
        if node_id is None:
            return
        self.breakpoint_nodes ^= {node_id}
        self.refresh(replan=True)

    def set_playing(self, on: bool) -> None:
        on = bool(on)
        if on and not self._ensure_started():
            on = False
        if on:
            self.play_timer.start()
        else:
            self.play_timer.stop()
        with QSignalBlocker(self.act_play):
            self.act_play.setChecked(on)
        self.act_play.setText("Pause" if on else "Play")

    def _play_tick(self) -> None:
        if self.forward_mode:
            if self.walk.step() is None:
                self.set_playing(False)
            self.refresh()
            return
        step = self.debugger.step()
        self._after_moving()
        if step is None:
            self.set_playing(False)
        else:
            reason = self.breakpoints().reason(step)
            if reason:
                self.set_playing(False)
                self._say(f"stopped: {reason}")
        self.refresh()

    def _after_moving(self) -> None:
        self._drain_messages()
        error = self.debugger.error
        if error and self.debugger.finished and error != self._last_error:
            self._say(error, "warning")
        self._last_error = error

    def set_forward_mode(self, on: bool) -> None:
        self.set_playing(False)
        self.forward_mode = bool(on)
        with QSignalBlocker(self.act_forward):
            self.act_forward.setChecked(self.forward_mode)
        self.restart()

    # ---------------------------------------------------------------- document changes
    def _on_change(self, change: Change) -> None:
        if change.what == "reset":
            self.stop()
            self.session.reset()
            self.breakpoint_nodes.clear()
            return
        if change.what == "node_changed" and change.key in _COSMETIC:
            if self.active:
                QTimer.singleShot(0, self._redraw)
            return
        if self.active:
            self.set_playing(False)
            self._restart_timer.start()

    # ---------------------------------------------------------------- toggles menu
    def _fill_toggles_menu(self) -> None:
        """The canvas selection's switches, the same entries as its right-click menu."""
        menu = self.toggles_menu
        menu.clear()
        selected = self.scene.selected_node_ids()
        if selected:
            add_node_toggles(menu, self.toggles, selected[0] if len(selected) == 1 else None,
                             selected, self)
        for edge_id in self.scene.selected_edge_ids():
            add_edge_toggle(menu, self.toggles, edge_id)
        if menu.isEmpty():
            menu.addAction("Select a node or an edge on the canvas").setEnabled(False)

    # ---------------------------------------------------------------- the tensors at the step
    @property
    def showing_step(self) -> bool:
        """Whether the canvas and inspector show the debugger's step rather than the last run."""
        return self.active and bool(self.walk.steps if self.forward_mode
                                    else self.debugger.started)

    def _take_snapshots(self) -> None:
        """Each node's shown output after the debugger's forward, with .grad None (as
        backward starts, and as the forward walk leaves it)."""
        session, snapshots = self.session, {}
        for node_id, outputs in session.outputs.items():
            if node_id in self.doc.nodes and outputs:
                port = "out" if "out" in outputs else next(iter(outputs))
                snapshots[node_id] = replace(session.info(node_id, port), grad=None)
        self._snapshots, self._with_grad = snapshots, {}

    def _grad_at(self, key: tuple[str, str]) -> Grad | None:
        """`.grad` of a document output (or layer Parameter) at the step shown."""
        state = None if self.forward_mode else self.debugger.state
        return None if state is None else state.grad_attrs.get(key)

    def _at_step(self, snapshot: NodeInfo) -> NodeInfo:
        """The snapshot with the step's .grad; the same object while that grad is unchanged."""
        grad = self._grad_at((snapshot.node_id, snapshot.port))
        if grad is None:
            return snapshot
        key = (snapshot.node_id, snapshot.port)
        known = self._with_grad.get(key)
        if known is None or known[0] is not grad:
            known = self._with_grad[key] = (grad, replace(snapshot, grad=grad.array))
        return known[1]

    def step_results(self) -> dict[str, NodeInfo] | None:
        """Per node, its snapshot at the step shown (None when not debugging); in the forward
        walk only the nodes it has reached have one."""
        if not self.showing_step:
            return None
        if self.forward_mode:
            return {node_id: self._snapshots[node_id] for node_id in self.walk.shown()
                    if node_id in self._snapshots}
        return {node_id: self._at_step(s) for node_id, s in self._snapshots.items()}

    def tensors_of(self, node_id: str) -> dict[str, NodeInfo]:
        """Every tensor of a node at the step shown, for the inspector: its outputs (the one
        the canvas shows first), then a layer's Parameters."""
        node = self.doc.nodes.get(node_id)
        if node is None or not self.showing_step:
            return {}
        session, tensors = self.session, {}
        shown = self._snapshots.get(node_id)
        if shown is not None:
            tensors[shown.port] = self._at_step(shown)
        for port, value in session.outputs.get(node_id, {}).items():
            if port not in tensors and hasattr(value, "shape"):
                grad = self._grad_at((node_id, port))
                tensors[port] = replace(session.info(node_id, port),
                                        grad=None if grad is None else grad.array)
        module = session.modules.get(node_id)
        if module is not None:
            for name, parameter in module.named_parameters():
                grad = self._grad_at((node_id, name))
                tensors[name] = replace(tensor_info(node, name, parameter),
                                        grad=None if grad is None else grad.array)
        return tensors

    def position_text(self) -> str:
        """"step 3 / 4" (or "node 2 / 6" in the forward walk), for captions."""
        if self.forward_mode:
            return f"forward node {self.walk.position} / {len(self.walk.steps)}"
        return f"step {self.debugger.position} / {len(self.debugger.plan)}"

    # ---------------------------------------------------------------- showing
    def _redraw(self) -> None:
        if not self.active:
            self.overlay.clear()
        elif self.forward_mode:
            self.overlay.show_forward(self.walk)
        elif self.debugger.started:
            self.overlay.show_backward(self.debugger, self.breakpoint_nodes)
        else:
            self.overlay.clear()

    def refresh(self, replan: bool = False) -> None:
        if self.forward_mode:
            self._refresh_forward(replan)
        else:
            self._refresh_backward(replan)
        # The node items first: the overlay is laid out around their (new) sizes.
        self.scene.set_step_results(self.step_results(), dict(self.session.errors))
        self._redraw()
        self.state_shown.emit()

    def _fill_schedule(self, rows: list[str], marks: list[bool]) -> None:
        self._coloured = None
        self.schedule.clear()
        for text, marked in zip(rows, marks):
            item = QListWidgetItem(("● " if marked else "   ") + text)
            if marked:
                item.setToolTip("breakpoint")
            self.schedule.addItem(item)

    def _colour_schedule(self, position: int) -> None:
        """Done rows green, the current one bold, later ones grey (only rows that changed)."""
        if self._coloured is None:
            rows = range(self.schedule.count())
        else:
            low, high = sorted((self._coloured, position))
            rows = range(max(0, low - 1), min(self.schedule.count(), high + 1))
        self._coloured = position
        for row in rows:
            item = self.schedule.item(row)
            item.setForeground(QBrush(DONE if row < position - 1 else
                                      LATER if row >= position else self.palette().text()))
            font = item.font()
            font.setBold(row == position - 1)
            item.setFont(font)
        with QSignalBlocker(self.schedule):
            self.schedule.setCurrentRow(position - 1)
        if position > 0:
            self.schedule.scrollToItem(self.schedule.item(position - 1))

    def _set_scrubber(self, maximum: int, value: int) -> None:
        with QSignalBlocker(self.scrubber):
            self.scrubber.setRange(0, maximum)
            self.scrubber.setValue(value)
        if self.scrubber.value() != value:     # a drag past the last step taken snaps back
            with QSignalBlocker(self.scrubber):
                self.scrubber.setValue(value)

    def _refresh_forward(self, replan: bool) -> None:
        walk = self.walk
        if replan or self.schedule.count() != len(walk.steps):
            self._fill_schedule([f"{i + 1}. {s.label}  ({s.kind})" for i, s in
                                 enumerate(walk.steps)], [False] * len(walk.steps))
        self._colour_schedule(walk.position)
        self._set_scrubber(len(walk.steps), walk.position)
        self.position_label.setText(f"node {walk.position} / {len(walk.steps)}")
        if walk.position:
            s = walk.steps[walk.position - 1]
            self.details.setHtml(f"<b>Forward {walk.position}: {html.escape(s.label)}</b> "
                                 f"({html.escape(s.kind)})<br>{html.escape(s.text)}")
        else:
            self.details.setHtml("The forward pass, node by node in the order the graph runs. "
                                 "Step (F10) to build the graph.")
        self._enable(True)

    def _refresh_backward(self, replan: bool) -> None:
        dbg = self.debugger
        if replan or self.schedule.count() != len(dbg.plan):
            self._fill_schedule([f"{p.index + 1}. {p.title()}" for p in dbg.plan],
                                [p.node_id in self.breakpoint_nodes for p in dbg.plan])
        self._colour_schedule(dbg.position)
        self._set_scrubber(len(dbg.plan), dbg.position)
        if not dbg.started:
            self.position_label.setText("not started")
            self.details.setHtml(html.escape(dbg.error) if dbg.error else
                                 "Step (F10) to plan the backward pass and run it one "
                                 "node at a time; F8 runs to the end or a breakpoint.")
        else:
            end = "" if not dbg.at_end else "  (done)"
            self.position_label.setText(f"step {dbg.position} / {len(dbg.plan)}{end}")
            self.details.setHtml(self._details_html())
        self._enable(dbg.started)

    def _enable(self, started: bool) -> None:
        forward = self.forward_mode
        at_end = (self.walk.position >= len(self.walk.steps)) if forward else self.debugger.at_end
        self.act_step.setEnabled(not (started and at_end))
        position = self.walk.position if forward else self.debugger.position
        self.act_step_back.setEnabled(started and position > 0)
        self.act_run.setEnabled(not (started and at_end))
        self.act_run_to_node.setEnabled(not forward)
        self.act_breakpoint.setEnabled(not forward)
        self.act_stop.setEnabled(self.active)

    def _details_html(self) -> str:
        dbg = self.debugger
        step = dbg.current
        parts = []
        if dbg.stop_reason and step is not None and dbg.position == len(dbg.trace):
            parts.append(f"<p style='color:#e03131'><b>Stopped:</b> "
                         f"{html.escape(dbg.stop_reason)}</p>")
        if dbg.error:
            parts.append(f"<p style='color:#e03131'>{html.escape(dbg.error)}</p>")
        if step is None:
            root = self.doc.nodes.get(dbg.root_node_id)
            parts.append(f"<b>{len(dbg.plan)} backward nodes planned</b>, in the order the "
                         f"engine will run them.<br>Seed gradient "
                         f"<b>{html.escape(grad_text(dbg.seed))}</b> from "
                         f"{html.escape(root.label if root else '?')}.")
            nxt = dbg.next_planned()
            if nxt is not None:
                parts.append(f"<br>Next: {html.escape(nxt.title())}")
            return "".join(parts)
        parts.append(self._step_html(step))
        return "".join(parts)

    def _show_edge(self) -> None:
        """One selected canvas edge while stepping backward: the chain rule along it."""
        edges = self.scene.selected_edge_ids()
        if self.forward_mode or not self.debugger.started or len(edges) != 1:
            if self.active and not self.forward_mode:
                self._refresh_backward(False)
            return
        edge = self.doc.edges[edges[0]]
        label = f"{self.doc.nodes[edge.src].label} → {self.doc.nodes[edge.dst].label}"
        self.details.setHtml(edge_chain_html(self.debugger, edge.id, label,
                                             self.details.document()))

    def _step_html(self, step: TraceStep) -> str:
        doc = self.doc
        p = step.planned
        rows = [("received", ", ".join(_describe(g) for g in step.grads_in) or "—")]
        chain = step_chain_html(self.debugger, step, self.details.document())
        rows.append(("chain rule", chain or "— (a leaf: nothing flows on)"))
        if step.saved:
            rows.append(("saved", "<br>".join(f"{html.escape(n)} = {html.escape(v)}"
                                              for n, v in step.saved)))
        for acc in step.accumulations:
            rows.append(("accumulated", html.escape(f"{acc.label}.grad {grad_text(acc.before)} "
                                                    f"→ {grad_text(acc.after)}")))
        for hook in step.hooks:
            before = ", ".join(grad_text(g) for g in hook.before)
            after = ", ".join(grad_text(g) for g in hook.after)
            rows.append(("hook", html.escape(f"{hook.description}: {before} → {after}")))
        table = "".join(f"<tr><td style='color:#868e96;padding-right:8px'>{k}</td>"
                        f"<td>{v}</td></tr>" for k, v in rows)
        where = html.escape(p.label or "?")
        return (f"<b>{p.index + 1}. {html.escape(p.name)}</b> on <b>{where}</b>"
                f"<br><i>{html.escape(step.formula or 'no formula recorded')}</i>"
                f"<table cellspacing=2>{table}</table>")


def _describe(grad: Any) -> str:
    if grad is None:
        return "None"
    if grad.value is not None:
        return f"{grad.value:.6g}  shape {grad.shape}"
    values = f"{grad.text()}  " if grad.array.size <= SHOWN_VALUES else ""
    return f"{values}shape {grad.shape}, norm {grad.norm:.6g}" + \
        ("" if grad.finite else "  (NaN/Inf!)")


def install_debugger(window: Any) -> QDockWidget:
    """Adds the Debugger dock and the Debug menu (with its shortcuts) to the main window."""
    panel = DebuggerPanel(window.editor, window.scene, lambda: window.runner.session, window)
    dock = QDockWidget("Debugger", window)
    dock.setObjectName("debugger")
    dock.setWidget(panel)
    window.addDockWidget(Qt.BottomDockWidgetArea, dock)
    if getattr(window, "messages_dock", None) is not None:
        window.splitDockWidget(window.messages_dock, dock, Qt.Horizontal)
        window.resizeDocks([window.messages_dock, dock], [300, 900], Qt.Horizontal)
    window.resizeDocks([dock], [250], Qt.Vertical)
    panel.message.connect(window.show_message)
    # Closing the dock ends debugging (a dock tabbed behind another stays "shown").
    dock.toggleViewAction().toggled.connect(lambda shown: shown or panel.stop())
    revealed = []

    def reveal() -> None:
        """Shows the dock the first time a debug action is used, tall enough to read."""
        dock.show()
        dock.raise_()
        if not revealed:
            revealed.append(True)
            window.resizeDocks([dock], [300], Qt.Vertical)

    menu = QMenu("&Debug", window)
    for action in panel.actions_list:
        action.triggered.connect(reveal)
        menu.addAction(action)
        window.addAction(action)
        if action is panel.act_run:
            menu.addSeparator()
    menu.addSeparator()
    menu.addAction(dock.toggleViewAction())
    window.add_menu(menu)
    window.debugger_panel = panel
    window.debugger_dock = dock
    return dock
