"""Canvas gestures and their undo steps: moving, deleting (edges come back on undo), clipboard,
detach, auto-layout, snap, zoom and frame; and painting a 1,000-node scene many times."""
import gc
import sys

import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtTest import QTest

from gradstudio.graph import fileio
from gradstudio.graph.document import Document
from gradstudio.ui.canvas_items import EdgeItem


def small_graph(window):
    """x -> mul <- y, mul -> backward, through the editor (each call one undo step)."""
    ed = window.editor
    x = ed.add_node("tensor", (0, 0), "x", {"value": 2.0, "requires_grad": True})
    y = ed.add_node("tensor", (0, 260), "y", {"value": 3.0, "requires_grad": True})
    mul = ed.add_node("mul", (300, 100))
    root = ed.add_node("backward", (600, 100))
    ed.connect_ports(x.id, "out", mul.id, "input")
    ed.connect_ports(y.id, "out", mul.id, "other")
    ed.connect_ports(mul.id, "out", root.id, "input")
    window.view.frame_all()
    return x, y, mul, root


def title_point(window, node):
    item = window.scene.node_items[node.id]
    return window.view.mapFromScene(item.mapToScene(QPointF(60, 12)))


def test_dragging_a_node_is_one_undo_step(window, qtbot):
    x, y, mul, root = small_graph(window)
    count = window.undo_stack.count()
    start = title_point(window, mul)
    viewport = window.view.viewport()
    QTest.mousePress(viewport, Qt.LeftButton, Qt.NoModifier, start)
    for step in range(1, 6):
        QTest.mouseMove(viewport, start + (step * 10) * QPointF(1, 0.5).toPoint())
    QTest.mouseRelease(viewport, Qt.LeftButton, Qt.NoModifier, start + (50 * QPointF(1, 0.5)).toPoint())
    assert window.undo_stack.count() == count + 1
    moved = mul.pos
    assert moved != (300.0, 100.0)
    edge = window.scene.edge_items[next(e.id for e in window.doc.edges_into(mul.id))]
    assert edge.path().elementAt(edge.path().elementCount() - 1).x == pytest.approx(
        window.scene.node_items[mul.id].port_scene_pos("other", False).x())
    window.undo_stack.undo()
    assert mul.pos == (300.0, 100.0)
    assert (window.scene.node_items[mul.id].x(), window.scene.node_items[mul.id].y()) == (300, 100)


def test_snap_to_grid_rounds_dragged_positions(window, qtbot):
    x, y, mul, root = small_graph(window)
    window.act_snap.trigger()
    assert window.scene.snap_to_grid
    start = title_point(window, mul)
    viewport = window.view.viewport()
    QTest.mousePress(viewport, Qt.LeftButton, Qt.NoModifier, start)
    QTest.mouseMove(viewport, start + QPointF(17, 9).toPoint())
    QTest.mouseRelease(viewport, Qt.LeftButton, Qt.NoModifier, start + QPointF(37, 23).toPoint())
    assert mul.pos[0] % 20 == 0 and mul.pos[1] % 20 == 0
    assert window.settings.value("snap_to_grid", type=bool)


def test_delete_restores_node_and_its_edges_on_undo(window, qtbot):
    x, y, mul, root = small_graph(window)
    before = fileio.dumps(window.doc)
    window.scene.node_items[mul.id].setSelected(True)
    window.act_delete.trigger()
    assert mul.id not in window.doc.nodes and not window.doc.edges
    assert mul.id not in window.scene.node_items and not window.scene.edge_items
    window.act_undo.trigger()
    assert fileio.dumps(window.doc) == before
    assert len(window.scene.edge_items) == 3


def test_rubber_band_selects_nodes_inside(window, qtbot):
    x, y, mul, root = small_graph(window)
    view = window.view
    top_left = view.mapFromScene(QPointF(-30, -30))
    bottom_right = view.mapFromScene(QPointF(250, 600))
    viewport = view.viewport()
    QTest.mousePress(viewport, Qt.LeftButton, Qt.NoModifier, top_left)
    QTest.mouseMove(viewport, (top_left + bottom_right) / 2)
    QTest.mouseMove(viewport, bottom_right)
    QTest.mouseRelease(viewport, Qt.LeftButton, Qt.NoModifier, bottom_right)
    assert sorted(window.scene.selected_node_ids()) == sorted([x.id, y.id])


def test_copy_paste_duplicate_and_cut(window, qtbot):
    x, y, mul, root = small_graph(window)
    for node in (x, y, mul):
        window.scene.node_items[node.id].setSelected(True)
    window.act_copy.trigger()
    window.act_paste.trigger()
    assert len(window.doc.nodes) == 7
    pasted = window.scene.selected_node_ids()
    assert sorted(window.doc.nodes[n].label for n in pasted) == ["mul2", "x2", "y2"]
    assert len(window.doc.edges) == 3 + 2          # the two edges inside the copied set
    window.act_undo.trigger()                       # paste is one step
    assert len(window.doc.nodes) == 4 and len(window.doc.edges) == 3

    window.scene.clearSelection()
    window.scene.node_items[x.id].setSelected(True)
    window.act_duplicate.trigger()
    assert len(window.doc.nodes) == 5
    window.act_undo.trigger()

    window.scene.clearSelection()
    window.scene.node_items[root.id].setSelected(True)
    window.act_cut.trigger()
    assert root.id not in window.doc.nodes
    assert "gradstudio-nodes" in QGuiApplication.clipboard().text()
    window.act_paste.trigger()
    assert window.doc.node_by_label("backward") is not None
    window.act_undo.trigger()
    window.act_undo.trigger()
    assert root.id in window.doc.nodes and len(window.doc.edges) == 3


def test_copies_keep_gradient_hooks(window):
    x, y, mul, root = small_graph(window)
    window.doc.set_hooks(x.id, [{"kind": "scale", "k": 2.0}])
    window.scene.node_items[x.id].setSelected(True)
    window.act_duplicate.trigger()
    (copy_id,) = window.scene.selected_node_ids()
    assert window.doc.nodes[copy_id].hooks == [{"kind": "scale", "k": 2.0}]
    window.act_undo.trigger()
    assert copy_id not in window.doc.nodes


def test_detach_is_undoable_and_drawn_dashed(window, qtbot):
    x, y, mul, root = small_graph(window)
    edge = next(e for e in window.doc.edges.values() if e.src == x.id)
    item = window.scene.edge_items[edge.id]
    window.editor.set_detach(edge.id, True)
    assert edge.detach and item.pen().style() == Qt.DashLine
    window.act_undo.trigger()
    assert not edge.detach and item.pen().style() == Qt.SolidLine


def test_clicking_an_edge_selects_it_and_delete_removes_it(window, qtbot):
    x, y, mul, root = small_graph(window)
    edge = next(e for e in window.doc.edges.values() if e.src == mul.id)
    item = window.scene.edge_items[edge.id]
    middle = window.view.mapFromScene(item.path().pointAtPercent(0.5))
    qtbot.mouseClick(window.view.viewport(), Qt.LeftButton, Qt.NoModifier, middle)
    assert window.scene.selected_edge_ids() == [edge.id]
    assert item.pen() == window.scene.style.edge_selected
    window.act_delete.trigger()
    assert edge.id not in window.doc.edges and len(window.doc.nodes) == 4
    window.act_undo.trigger()
    assert edge.id in window.doc.edges
    qtbot.mouseClick(window.view.viewport(), Qt.LeftButton, Qt.NoModifier,
                     window.view.mapFromScene(QPointF(-400, -400)))
    assert window.scene.selected_edge_ids() == []


def test_reconnecting_an_occupied_input_replaces_its_edge_in_one_step(window, qtbot):
    x, y, mul, root = small_graph(window)
    count = window.undo_stack.count()
    assert window.editor.connect_ports(y.id, "out", mul.id, "input")
    inputs = {e.dst_port: e.src for e in window.doc.edges_into(mul.id)}
    assert inputs == {"input": y.id, "other": y.id}
    assert window.undo_stack.count() == count + 1
    window.act_undo.trigger()
    assert {e.dst_port: e.src for e in window.doc.edges_into(mul.id)} == {"input": x.id,
                                                                         "other": y.id}


def test_auto_layout_orders_columns_by_depth_and_undoes_in_one_step(window, qtbot):
    x, y, mul, root = small_graph(window)
    window.editor.apply_positions({x.id: (900, 0), root.id: (-500, 40)}, "scramble")
    window.act_layout.trigger()
    assert x.pos[0] == y.pos[0] < mul.pos[0] < root.pos[0]
    window.act_undo.trigger()
    assert x.pos == (900.0, 0.0)


def test_zoom_pan_and_frame_all(window, qtbot):
    small_graph(window)
    view = window.view
    view.zoom_by(0.5)
    zoom = view.zoom()
    view.zoom_by(1e6)
    assert view.zoom() == pytest.approx(3.0)
    view.zoom_by(zoom / view.zoom())
    center = view.mapToScene(view.viewport().rect().center())
    start = view.viewport().rect().center()
    QTest.mousePress(view.viewport(), Qt.MiddleButton, Qt.NoModifier, start)
    QTest.mouseMove(view.viewport(), start - QPointF(50, 0).toPoint())
    QTest.mouseMove(view.viewport(), start - QPointF(100, 0).toPoint())
    QTest.mouseRelease(view.viewport(), Qt.MiddleButton, Qt.NoModifier,
                       start - QPointF(100, 0).toPoint())
    # dragging the canvas left by 100 pixels shows what was 100 pixels to the right
    assert view.mapToScene(view.viewport().rect().center()).x() == pytest.approx(
        center.x() + 100 / view.zoom(), abs=3 / view.zoom())
    window.act_frame.trigger()
    visible = view.mapToScene(view.viewport().rect()).boundingRect()
    assert visible.contains(window.scene.items_bounding_rect())


def test_tab_opens_the_search_box_and_escape_closes_it(window, qtbot):
    view = window.view
    view.setFocus()
    qtbot.keyClick(view, Qt.Key_Tab)
    assert view.search_box.isVisible()
    qtbot.keyClicks(view.search_box.edit, "softm")
    first = view.search_box.list.item(0).data(Qt.UserRole)
    assert first == "softmax"
    qtbot.keyClick(view.search_box.edit, Qt.Key_Escape)
    assert not view.search_box.isVisible()
    assert not window.doc.nodes


def test_library_double_click_adds_a_node(window, qtbot):
    library = window.library
    library.filter.setText("linear")
    assert "nn.Linear" in library.visible_kinds()
    assert "tensor" not in library.visible_kinds()
    library.tree.itemDoubleClicked.emit(library.entries["nn.Linear"], 0)
    assert [n.kind for n in window.doc.nodes.values()] == ["nn.Linear"]


def test_painting_a_large_scene_many_times_keeps_none_alive(qtbot):
    """Regression guard for PySide6 6.12, which over-released None in Python paint overrides."""
    from PySide6.QtGui import QUndoStack

    from gradstudio.ui.canvas_scene import GraphScene
    from gradstudio.ui.canvas_view import GraphView
    from gradstudio.ui.document_editor import DocumentEditor
    from gradstudio.ui.theme import canvas_style

    doc = Document()
    previous = None
    for i in range(1000):
        node = doc.add_node("tensor" if i % 10 == 0 else "relu", pos=((i // 25) * 260, (i % 25) * 200))
        if previous is not None and node.kind == "relu":
            doc.add_edge(previous.id, "out", node.id, "input")
        previous = node
    scene = GraphScene(DocumentEditor(doc, QUndoStack()), canvas_style("dark"))
    view = GraphView(scene)
    qtbot.addWidget(view)
    view.resize(800, 600)
    view.show()
    view.frame_all()
    image = QImage(800, 600, QImage.Format_ARGB32_Premultiplied)
    gc.collect()
    before = sys.getrefcount(None)
    for i in range(30):
        painter = QPainter(image)
        view.render(painter)
        painter.end()
        view.pan_by(15, 10)
        if i % 10 == 0:
            view.zoom_by(1.3)
    gc.collect()
    assert sys.getrefcount(None) >= before - 50
    assert len(scene.node_items) == 1000
    assert sum(isinstance(i, EdgeItem) for i in scene.items()) == len(doc.edges)


def test_wheel_zooms_and_space_drag_pans(window, qtbot):
    from PySide6.QtCore import QPoint
    from PySide6.QtGui import QWheelEvent

    small_graph(window)
    view = window.view
    zoom = view.zoom()
    center = view.viewport().rect().center()
    wheel = QWheelEvent(QPointF(center), QPointF(view.viewport().mapToGlobal(center)),
                        QPoint(0, 0), QPoint(0, 240), Qt.NoButton, Qt.NoModifier,
                        Qt.NoScrollPhase, False)
    view.wheelEvent(wheel)
    assert view.zoom() > zoom * 1.3
    before = view.mapToScene(center)
    qtbot.keyPress(view, Qt.Key_Space)
    viewport = view.viewport()
    QTest.mousePress(viewport, Qt.LeftButton, Qt.NoModifier, center)
    QTest.mouseMove(viewport, center + QPoint(0, 60))
    QTest.mouseRelease(viewport, Qt.LeftButton, Qt.NoModifier, center + QPoint(0, 60))
    qtbot.keyRelease(view, Qt.Key_Space)
    assert view.mapToScene(center).y() == pytest.approx(before.y() - 60 / view.zoom(),
                                                        abs=3 / view.zoom())
    assert window.scene.selected_node_ids() == []          # panning selects nothing


def test_double_click_on_empty_canvas_opens_the_search_box_there(window, qtbot):
    view = window.view
    where = QPointF(300, 200).toPoint()
    QTest.mouseClick(view.viewport(), Qt.LeftButton, Qt.NoModifier, where)
    QTest.mouseDClick(view.viewport(), Qt.LeftButton, Qt.NoModifier, where)
    assert view.search_box.isVisible()
    qtbot.keyClicks(view.search_box.edit, "exp")
    qtbot.keyClick(view.search_box.edit, Qt.Key_Return)
    (node,) = window.doc.nodes.values()
    assert node.kind == "exp"
    scene_pos = view.mapToScene(where)
    assert node.pos == pytest.approx((scene_pos.x(), scene_pos.y()))


def test_renaming_the_backward_root_keeps_it_the_root(window):
    x, y, mul, root = small_graph(window)
    window.editor.set_root(mul.id)
    assert window.doc.meta["root"] == "mul"
    window.editor.rename(mul.id, "product")
    assert window.doc.meta["root"] == "product"
    window.act_undo.trigger()
    assert window.doc.meta["root"] == "mul" and mul.label == "mul"


def test_dragging_over_a_port_says_whether_the_edge_would_be_accepted(window, qtbot):
    x, y, mul, root = small_graph(window)
    scene, view = window.scene, window.view
    viewport = view.viewport()
    start = view.mapFromScene(scene.node_items[mul.id].port_scene_pos("out", True))
    cycle = view.mapFromScene(scene.node_items[mul.id].port_scene_pos("input", False))
    fine = view.mapFromScene(scene.node_items[root.id].port_scene_pos("gradient", False))
    QTest.mousePress(viewport, Qt.LeftButton, Qt.NoModifier, start)
    QTest.mouseMove(viewport, cycle)
    assert scene._drag_marker.isVisible()
    assert scene._drag_marker.pen() == scene.style.port_refused
    assert "feed itself" in window.statusBar().currentMessage()
    QTest.mouseMove(viewport, fine)
    assert scene._drag_marker.pen() == scene.style.port_ok
    QTest.mouseRelease(viewport, Qt.LeftButton, Qt.NoModifier, fine)
    assert scene._drag_marker is None
    assert any(e.dst == root.id and e.dst_port == "gradient" for e in window.doc.edges.values())


def test_choice_fields_open_a_menu_and_bool_fields_toggle(window, qtbot):
    from PySide6.QtWidgets import QMenu

    x, y, mul, root = small_graph(window)
    item = window.scene.node_items[x.id]
    fields = {p.name: f for p, _, f, _, _ in item._params}
    viewport = window.view.viewport()
    qtbot.mouseClick(viewport, Qt.LeftButton, Qt.NoModifier,
                     window.view.mapFromScene(item.mapToScene(fields["init"].center())))
    menu = next(m for m in window.view.findChildren(QMenu) if m.isVisible())
    next(a for a in menu.actions() if a.text() == "ones").trigger()
    assert x.params["init"] == "ones"
    fields = {p.name: f for p, _, f, _, _ in item._params}    # rows follow the new init
    assert "shape" in fields and "value" not in fields
    qtbot.mouseClick(viewport, Qt.LeftButton, Qt.NoModifier,
                     window.view.mapFromScene(item.mapToScene(fields["requires_grad"].center())))
    assert x.params["requires_grad"] is False
    window.act_undo.trigger()
    window.act_undo.trigger()
    assert x.params["init"] == "value" and x.params["requires_grad"] is True


def test_dropping_an_edge_on_empty_canvas_adds_a_connected_node(window, qtbot):
    x, y, mul, root = small_graph(window)
    scene, view = window.scene, window.view
    viewport = view.viewport()
    start = view.mapFromScene(scene.node_items[x.id].port_scene_pos("out", True))
    empty = view.mapFromScene(QPointF(-300, -200))
    count = window.undo_stack.count()
    QTest.mousePress(viewport, Qt.LeftButton, Qt.NoModifier, start)
    QTest.mouseMove(viewport, empty)
    QTest.mouseRelease(viewport, Qt.LeftButton, Qt.NoModifier, empty)
    assert view.search_box.isVisible()
    qtbot.keyClicks(view.search_box.edit, "exp")
    qtbot.keyClick(view.search_box.edit, Qt.Key_Return)
    added = window.doc.node_by_label("exp")
    assert [(e.src, e.dst_port) for e in window.doc.edges_into(added.id)] == [(x.id, "input")]
    assert window.undo_stack.count() == count + 1
    window.act_undo.trigger()
    assert window.doc.node_by_label("exp") is None


def test_new_nodes_land_on_the_grid_when_snapping(window, qtbot):
    window.act_snap.trigger()
    window.view.open_search_at(113, 77)
    qtbot.keyClicks(window.view.search_box.edit, "relu")
    qtbot.keyClick(window.view.search_box.edit, Qt.Key_Return)
    (node,) = window.doc.nodes.values()
    assert node.pos[0] % 20 == 0 and node.pos[1] % 20 == 0
