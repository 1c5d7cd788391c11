"""Groups on the canvas, driven as a person would: select, Ctrl+G, collapse by double-click,
Ctrl+Shift+G, undo; a collapsed box carries the edges that cross its boundary."""
from PySide6.QtCore import QPointF, Qt
from PySide6.QtTest import QTest

from gradstudio.graph import fileio
from gradstudio.ui.group_items import GroupBox, GroupFrame


def build(window):
    """x, w -> mul -> exp -> sum -> backward."""
    ed = window.editor
    x = ed.add_node("tensor", (0, 0), "x", {"value": [1.0, 2.0], "requires_grad": True})
    w = ed.add_node("tensor", (0, 200), "w", {"value": [3.0, 4.0], "requires_grad": True})
    mul = ed.add_node("mul", (280, 80))
    exp = ed.add_node("exp", (540, 80))
    total = ed.add_node("sum", (800, 80))
    root = ed.add_node("backward", (1060, 80))
    ed.connect_ports(x.id, "out", mul.id, "input")
    ed.connect_ports(w.id, "out", mul.id, "other")
    ed.connect_ports(mul.id, "out", exp.id, "input")
    ed.connect_ports(exp.id, "out", total.id, "input")
    ed.connect_ports(total.id, "out", root.id, "input")
    window.view.frame_all()
    return x, w, mul, exp, total, root


def select(window, *nodes):
    window.scene.clearSelection()
    for node in nodes:
        window.scene.node_items[node.id].setSelected(True)


def press(window, key, modifiers=Qt.ControlModifier):
    QTest.keyClick(window.view.viewport(), key, modifiers)


def double_click(window, item, local):
    point = window.view.mapFromScene(item.mapToScene(local))
    QTest.mouseDClick(window.view.viewport(), Qt.LeftButton, Qt.NoModifier, point)


def test_ctrl_g_groups_double_click_collapses_and_ctrl_shift_g_ungroups(window, qtbot, tmp_path):
    x, w, mul, exp, total, root = build(window)
    scene, doc = window.scene, window.doc
    select(window, mul, exp)
    press(window, Qt.Key_G)
    assert len(doc.groups) == 1
    group = next(iter(doc.groups.values()))
    assert sorted(group.node_ids) == sorted([mul.id, exp.id])
    frame = scene.groups.frames[group.id]
    assert frame.rect().contains(scene.node_items[mul.id].sceneBoundingRect())
    window.grab().save(str(tmp_path / "group_expanded.png"))

    double_click(window, frame, frame.header_rect().center() + QPointF(40, 0))
    qtbot.waitUntil(lambda: doc.groups[group.id].collapsed)
    box = scene.groups.boxes[group.id]
    assert not scene.node_items[mul.id].isVisible() and not scene.node_items[exp.id].isVisible()
    assert [label for label in box.inputs.values()] == ["x", "w"]
    assert list(box.outputs.values()) == ["exp"]
    inner = next(e for e in doc.edges.values() if e.src == mul.id and e.dst == exp.id)
    assert not scene.edge_items[inner.id].isVisible()        # inside the box: not drawn
    leaving = next(e for e in doc.edges.values() if e.src == exp.id)
    path = scene.edge_items[leaving.id].path()
    assert path.elementAt(0).x == box.port_pos((exp.id, "out"), True).x()
    assert "2 ops" in scene.groups.summary(group.id)
    window.grab().save(str(tmp_path / "group_collapsed.png"))

    path = tmp_path / "grouped.json"
    window.save_to(path)
    assert fileio.load(path).groups[group.id].collapsed

    double_click(window, box, QPointF(100, 10))              # expands again
    qtbot.waitUntil(lambda: not doc.groups[group.id].collapsed)
    assert scene.node_items[mul.id].isVisible()

    select(window, mul)
    press(window, Qt.Key_G, Qt.ControlModifier | Qt.ShiftModifier)
    assert doc.groups == {}
    assert all(item.isVisible() for item in scene.node_items.values())
    window.undo_stack.undo()                                 # the group is back, same id
    assert list(doc.groups) == [group.id]
    window.undo_stack.undo()                                 # expanded -> collapsed again
    assert doc.groups[group.id].collapsed and group.id in scene.groups.boxes


def test_nested_groups_and_moving_a_collapsed_box_moves_its_nodes(window, qtbot):
    x, w, mul, exp, total, root = build(window)
    scene, doc = window.scene, window.doc
    select(window, mul, exp)
    press(window, Qt.Key_G)
    inner = next(iter(doc.groups))
    select(window, exp)
    scene.groups.frames[inner].setSelected(True)
    select(window, total)
    scene.groups.frames[inner].setSelected(True)
    press(window, Qt.Key_G)                                  # the frame and `sum` together
    outer = next(g for g in doc.groups if g != inner)
    assert doc.groups[inner].parent == outer
    assert doc.groups[outer].node_ids == [total.id]
    scene.groups.set_collapsed(outer, True)
    assert set(scene.groups.boxes) == {outer} and not scene.groups.frames
    box = scene.groups.boxes[outer]
    before = dict((n, doc.nodes[n].pos) for n in (mul.id, exp.id, total.id))
    start = window.view.mapFromScene(box.mapToScene(QPointF(100, 10)))
    viewport = window.view.viewport()
    QTest.mousePress(viewport, Qt.LeftButton, Qt.NoModifier, start)
    for step in range(1, 5):
        QTest.mouseMove(viewport, start + QPointF(step * 10, step * 5).toPoint())
    QTest.mouseRelease(viewport, Qt.LeftButton, Qt.NoModifier, start + QPointF(40, 20).toPoint())
    moved = {n: doc.nodes[n].pos for n in before}
    dx = moved[mul.id][0] - before[mul.id][0]
    assert dx > 0
    assert all(moved[n][0] - before[n][0] == dx for n in before)
    window.undo_stack.undo()
    assert {n: doc.nodes[n].pos for n in before} == before


def test_deleting_a_grouped_node_and_undo_puts_it_back_in_its_group(window, qtbot):
    x, w, mul, exp, total, root = build(window)
    select(window, mul, exp)
    press(window, Qt.Key_G)
    gid = next(iter(window.doc.groups))
    select(window, exp)
    window.act_delete.trigger()
    assert window.doc.groups[gid].node_ids == [mul.id]
    window.undo_stack.undo()
    assert sorted(window.doc.groups[gid].node_ids) == sorted([mul.id, exp.id])
    assert isinstance(window.scene.groups.frames[gid], GroupFrame)
    assert not any(isinstance(i, GroupBox) for i in window.scene.items())


def test_the_debugger_steps_a_collapsed_group_as_one_box(window, qtbot, tmp_path):
    x, w, mul, exp, total, root = build(window)
    select(window, mul, exp)
    press(window, Qt.Key_G)
    gid = next(iter(window.doc.groups))
    window.scene.groups.set_collapsed(gid, True)
    box = window.scene.groups.boxes[gid]
    window.runner.run(backward=False)
    panel = window.debugger_panel
    panel.restart()
    while panel.debugger.current is None or \
            window.doc.nodes[panel.debugger.current.planned.node_id].label != "exp":
        panel.step()
    overlay = panel.overlay
    rect = overlay._node_rect(exp.id)
    assert rect.topLeft() == box.pos() and rect.width() == box.rect().width()
    window.grab().save(str(tmp_path / "debug_collapsed.png"))


def test_auto_layout_keeps_groups_whole_and_a_collapsed_group_takes_its_boxs_room(window, qtbot):
    x, w, mul, exp, total, root = build(window)
    select(window, mul, exp)
    press(window, Qt.Key_G)
    gid = next(iter(window.doc.groups))
    window.act_layout.trigger()
    frame = window.scene.groups.frames[gid]
    others = [window.scene.node_items[n.id] for n in (x, w, total, root)]
    assert not any(frame.rect().intersects(item.sceneBoundingRect()) for item in others)
    wide = window.doc.nodes[root.id].pos[0]
    window.scene.groups.set_collapsed(gid, True)
    window.act_layout.trigger()
    assert window.doc.nodes[root.id].pos[0] < wide          # the box is narrower than the frame
    box = window.scene.groups.boxes[gid]
    assert not any(box.sceneBoundingRect().intersects(item.sceneBoundingRect()) for item in others)
    window.undo_stack.undo()
    assert window.doc.nodes[root.id].pos[0] == wide


def test_nodes_inside_a_collapsed_group_get_their_items_when_the_group_expands(window, qtbot,
                                                                             tmp_path):
    x, w, mul, exp, total, root = build(window)
    select(window, mul, exp)
    press(window, Qt.Key_G)
    gid = next(iter(window.doc.groups))
    window.scene.groups.set_collapsed(gid, True)
    path = tmp_path / "grouped.json"
    fileio.save(window.doc, path)
    assert window.open_file(path, ask=False)           # a file opened with the group collapsed
    scene, doc = window.scene, window.doc
    window.runner.run(backward=True)
    inner = next(e.id for e in doc.edges.values() if (e.src, e.dst) == (mul.id, exp.id))
    into = next(e.id for e in doc.edges.values() if (e.src, e.dst) == (x.id, mul.id))
    assert scene.node_items.made(mul.id) is None and scene.node_items.made(exp.id) is None
    assert inner not in scene.edge_items                 # inside the box: nothing made
    box = scene.groups.boxes[gid]
    assert scene.edge_items[into].dst_box is box         # x's edge ends on the box
    assert mul.id in scene.node_items                    # every node of the document is "in"

    # the debugger frames a hidden node on its group's box, without making its item
    window.debugger_panel.restart()
    rect = window.debugger_panel.overlay._node_rect(exp.id)
    assert rect.topLeft() == box.pos() and rect.width() == box.rect().width()
    assert scene.node_items.made(exp.id) is None
    # looked up, it is made hidden and laid out once its size is asked for (why-panel frames)
    hidden = scene.node_items[exp.id]
    assert not hidden.isVisible() and hidden.stale and not scene.groups.box_of(exp.id) is None
    width, height = hidden.size()
    assert not hidden.stale and height > 60

    double_click(window, box, box.rect().center())      # expand: items made, shown, laid out
    qtbot.waitUntil(lambda: not window.doc.groups[gid].collapsed)
    shown = scene.node_items.made(mul.id)
    assert shown is not None and shown.isVisible() and not shown.stale
    assert any(text.startswith("data") for _, text, _ in shown._preview)
    assert scene.edge_items[inner].isVisible()
    assert scene.edge_items[inner] in shown.edges and scene.edge_items[into] in shown.edges
    select(window, mul)
    assert window.inspector.node_id == mul.id
    window.grab().save(str(tmp_path / "expanded_after_open.png"))

    window.undo_stack.undo()                             # collapsed again, then open again
    assert not shown.isVisible() and not scene.edge_items[inner].isVisible()
    window.undo_stack.redo()
    assert shown.isVisible()


def test_dragging_a_box_whose_nodes_have_no_items_yet_moves_them(window, qtbot, tmp_path):
    x, w, mul, exp, total, root = build(window)
    select(window, mul, exp)
    press(window, Qt.Key_G)
    gid = next(iter(window.doc.groups))
    window.scene.groups.set_collapsed(gid, True)
    path = tmp_path / "grouped.json"
    fileio.save(window.doc, path)
    assert window.open_file(path, ask=False)
    scene, doc = window.scene, window.doc
    assert scene.node_items.made(mul.id) is None
    box = scene.groups.boxes[gid]
    before = {n: doc.nodes[n].pos for n in (mul.id, exp.id)}
    start = window.view.mapFromScene(box.mapToScene(QPointF(100, 10)))
    viewport = window.view.viewport()
    QTest.mousePress(viewport, Qt.LeftButton, Qt.NoModifier, start)
    for step in range(1, 5):
        QTest.mouseMove(viewport, start + QPointF(step * 10, step * 5).toPoint())
    QTest.mouseRelease(viewport, Qt.LeftButton, Qt.NoModifier, start + QPointF(40, 20).toPoint())
    moved = {n: doc.nodes[n].pos for n in before}
    dx, dy = moved[mul.id][0] - before[mul.id][0], moved[mul.id][1] - before[mul.id][1]
    assert dx > 0 and moved[exp.id] == (before[exp.id][0] + dx, before[exp.id][1] + dy)
    assert scene.node_items.made(mul.id) is None          # moved in the document only
    scene.groups.set_collapsed(gid, False)               # shown where the document says
    assert (scene.node_items[mul.id].x(), scene.node_items[mul.id].y()) == moved[mul.id]
    assert scene.groups.frames[gid].rect().contains(scene.node_items[exp.id].sceneBoundingRect())
