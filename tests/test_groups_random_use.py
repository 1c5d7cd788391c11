"""What the random-action run found with groups (pytest-qt, the real window), and tags over
nodes hidden inside a collapsed group: drawn on the group's box, where the person sees them."""
from PySide6.QtCore import QPointF, Qt

from gradstudio import EXAMPLES
from gradstudio.graph import fileio


def grouped(window, *labels, collapsed=False):
    """A group around the named nodes of the open document (Ctrl+G on their selection)."""
    scene, doc = window.scene, window.doc
    scene.clearSelection()
    for label in labels:
        scene.node_items[doc.node_by_label(label).id].setSelected(True)
    window.act_group.trigger()
    gid = next(g.id for g in doc.groups.values()
               if {doc.node_by_label(x).id for x in labels} <= set(doc.group_nodes(g.id)))
    if collapsed:
        scene.groups.set_collapsed(gid, True)
    return gid


def test_a_group_name_too_long_to_save_is_refused(window, tmp_path):
    """Seed 17, action 1054: a 20,000-character group name was taken, and from then on every
    save was refused ('groups[0].label: longer than 10,000 characters')."""
    assert window.open_file(EXAMPLES / "basic_grad.json", ask=False)
    gid = grouped(window, "x", "y")
    window.scene.groups.rename(gid, "a" * 20_000)
    assert window.doc.groups[gid].label == "group1"
    assert "10,000" in window.messages.lines()[-1]
    assert window.save_to(tmp_path / "g.json")
    assert fileio.dumps(fileio.load(tmp_path / "g.json")) == fileio.dumps(window.doc)


def drawn(marks):
    """text -> scene position of each tag a NodeTags layer draws."""
    if marks.layer is None:
        return {}
    return {back.childItems()[0].text(): back.scenePos() for back in marks.layer.childItems()}


def box_top(window, gid):
    return window.scene.groups.boxes[gid].scenePos()


def test_gradient_change_tags_of_hidden_nodes_sit_on_their_box(window, qtbot):
    """(Any edit re-runs the graph and so replaces these tags: the box is there first.)"""
    assert window.open_file(EXAMPLES / "leaf_and_grad_fn.json", ask=False)
    gid = grouped(window, "x", "w", collapsed=True)         # both hidden in one box
    window.act_grad_changes.setChecked(True)
    window.act_backward.trigger()                # the run to compare against
    doc = window.doc
    a, y = doc.node_by_label("a").id, doc.node_by_label("y").id
    edge = next(e for e in doc.edges_into(y) if e.src == a)
    window.scene.toggles.set_detach(edge.id, True)
    window.runner.run(backward=True, fresh_grads=True)
    marks = window.grad_changes.marks
    assert window.grad_changes.tags == {"x": "∇ 2 → None", "w": "∇ 5 → 3"}
    assert marks.on_box == {"x": gid, "w": gid}
    tags = drawn(marks)
    top = box_top(window, gid)
    assert sorted([tags["x: ∇ 2 → None"].toTuple(), tags["w: ∇ 5 → 3"].toTuple()]) == \
        [(top.x(), top.y() - 44), (top.x(), top.y() - 22)]


def test_health_tags_of_hidden_layers_sit_on_their_box(window, qtbot):
    assert window.open_file(EXAMPLES / "vanishing_gradients.json", ask=False)
    assert window.training_dashboard.train_now(30)
    window.health_dock.toggleViewAction().trigger()
    panel = window.health_panel
    qtbot.waitUntil(lambda: panel.health is not None and "fc1" in panel.overlay.tags)
    gid = grouped(window, "fc1", "sigmoid1", collapsed=True)
    marks = panel.overlay.marks
    qtbot.waitUntil(lambda: "fc1" in marks.on_box)
    assert marks.on_box["sigmoid1"] == gid
    tags = drawn(marks)
    first = next(text for text in tags if text.startswith("fc1: ‖∇‖ "))   # a warning: first
    assert tags[first] == box_top(window, gid) + QPointF(0, -22)
    assert any(text.startswith("sigmoid1: saturated ") for text in tags)
    window.view.frame_all()
    window.grab().save("/tmp/fuzzgroups_health_on_box.png")
    window.scene.groups.set_collapsed(gid, False)           # open again: over the nodes
    qtbot.waitUntil(lambda: not marks.on_box and "fc1" in marks.tags)
    fc1 = window.scene.node_items[window.doc.node_by_label("fc1").id]
    assert drawn(marks)[marks.tags["fc1"]] == fc1.pos() + QPointF(0, -22)
    window.health_dock.toggleViewAction().trigger()           # closed: the tags go
    assert panel.overlay.tags == {} and drawn(marks) == {}


def test_step_tags_of_a_hidden_node_sit_on_its_box(window, qtbot):
    assert window.open_file(EXAMPLES / "xor.json", ask=False)
    assert window.training_dashboard.train_now(30)
    panel = window.step_panel
    assert panel.open_step(20)
    assert panel.tags["hidden"].startswith("step 20: ∇ ×")
    gid = grouped(window, "hidden", collapsed=True)
    qtbot.waitUntil(lambda: "hidden" in panel.marks.on_box)
    tags = drawn(panel.marks)
    text = next(t for t in tags if t.startswith("hidden: step 20: ∇ ×"))
    assert tags[text] == box_top(window, gid) + QPointF(0, -22)


def test_why_grad_frames_a_hidden_node_on_its_box_and_draws_no_path_inside_it(window):
    """As the debugger frames a hidden node: the target and its causes on the box, and no
    path band along an edge the box hides."""
    assert window.open_file(EXAMPLES / "why_no_gradient.json", ask=False)
    doc = window.doc
    gid = grouped(window, "w", "xw", "h", collapsed=True)
    inside = {e.id for e in doc.edges.values()
              if {e.src, e.dst} <= set(doc.group_nodes(gid))}
    window.why_ask("w")
    overlay = window.why_panel.overlay
    assert f"target {doc.node_by_label('w').id}" in overlay.marked
    assert not any(m == f"path {eid}" for m in overlay.marked for eid in inside)
    box = window.scene.groups.boxes[gid]
    frames = [i for i in overlay.layer.childItems() if i.brush().style() == Qt.NoBrush]
    want = box.sceneBoundingRect()
    assert frames and all(f.boundingRect().contains(want.center()) for f in frames)
    window.view.show_rect(want.adjusted(-300, -200, 300, 200))
    window.view.grab().save("/tmp/fuzzgroups_why_on_box.png")


def test_a_renamed_node_s_tag_on_a_box_follows_its_new_name(window, qtbot):
    """Seed 202, action 2604: after a rename the tag still named the node by its old label."""
    assert window.open_file(EXAMPLES / "leaf_and_grad_fn.json", ask=False)
    gid = grouped(window, "x", "w", collapsed=True)
    window.act_grad_changes.setChecked(True)
    window.act_backward.trigger()
    doc = window.doc
    a, y = doc.node_by_label("a").id, doc.node_by_label("y").id
    edge = next(e for e in doc.edges_into(y) if e.src == a)
    window.scene.toggles.set_detach(edge.id, True)
    window.runner.run(backward=True, fresh_grads=True)
    marks = window.grad_changes.marks
    assert window.editor.rename(doc.node_by_label("x").id, "input")
    qtbot.waitUntil(lambda: "input" in marks.tags)
    assert marks.on_box == {"input": gid, "w": gid}
    assert "input: ∇ 2 → None" in drawn(marks)
