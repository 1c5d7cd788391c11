"""What the random-action run found with groups (pytest-qt, the real window), and tags over
nodes hidden inside a collapsed group: drawn on the group's box, where the person sees them."""
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
