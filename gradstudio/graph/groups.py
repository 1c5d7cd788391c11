"""Groups: named, nested sets of nodes that the canvas can draw collapsed to one box.

A group holds its direct member nodes and may sit inside a parent group; a node belongs to
at most one group directly (and so to that group's ancestors too). Groups are part of the
document (saved in the file, changed through mutators that notify listeners, undone by
restoring a snapshot), not special to recorded scripts: a script's module calls become
groups, and a person groups any selection with Ctrl+G.

    doc = Document()
    ...
    g = doc.group_items([a.id, b.id], label="block")     # a new group around a and b
    doc.set_group_collapsed(g.id, True)
    doc.ungroup(g.id)                                      # members go back to g's parent

`GroupsMixin` is mixed into `Document`; it needs `self.groups`, `self.nodes`,
`self.new_id` and `self._emit`. Every change emits one `group_changed` notification
(item: the group concerned or None when several changed, key: what changed).
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from typing import Any, Iterable

MAX_GROUP_DEPTH = 64


@dataclass
class Group:
    id: str
    label: str
    node_ids: list[str] = field(default_factory=list)   # direct members
    parent: str | None = None                           # the enclosing group's id
    collapsed: bool = False
    # free JSON data about the group, e.g. a recorded module call:
    # {"module": "layers.0", "type": "Linear", "call": 1}
    info: dict[str, Any] = field(default_factory=dict)


def _group_label(label: str) -> str:
    """A group's name, refused when longer than a saved file takes (MAX_TEXT)."""
    from gradstudio.graph.validation import MAX_TEXT
    if len(label) > MAX_TEXT:
        raise GroupsMixin._group_error(f"a group's name is at most {MAX_TEXT:,} characters "
                                       f"(this one has {len(label):,})")
    return label


class GroupsMixin:
    groups: dict[str, Group]

    # ---------------------------------------------------------------- queries
    def group_of_node(self, node_id: str) -> Group | None:
        """The innermost group holding `node_id`, or None."""
        for group in self.groups.values():
            if node_id in group.node_ids:
                return group
        return None

    def node_groups(self) -> dict[str, str]:
        """node id -> id of its innermost group, for every grouped node (one pass)."""
        return {nid: g.id for g in self.groups.values() for nid in g.node_ids}

    def group_chain(self, group_id: str | None) -> list[str]:
        """The group and its ancestors, innermost first ([] for None)."""
        chain: list[str] = []
        while group_id is not None and group_id in self.groups and len(chain) <= MAX_GROUP_DEPTH:
            chain.append(group_id)
            group_id = self.groups[group_id].parent
        return chain

    def child_groups(self, group_id: str | None) -> list[Group]:
        return [g for g in self.groups.values() if g.parent == group_id]

    def group_nodes(self, group_id: str) -> list[str]:
        """Every node inside the group, nested groups included."""
        found, stack = [], [group_id]
        children: dict[str | None, list[str]] = {}
        for g in self.groups.values():
            children.setdefault(g.parent, []).append(g.id)
        while stack:
            gid = stack.pop()
            found.extend(self.groups[gid].node_ids)
            stack.extend(children.get(gid, ()))
        return found

    def all_group_nodes(self) -> dict[str, list[str]]:
        """group id -> every node inside it (nested groups included), for all groups in one
        pass over the nodes (group_nodes per group would cost the number of groups each)."""
        found: dict[str, list[str]] = {gid: [] for gid in self.groups}
        for nid, gid in self.node_groups().items():
            for ancestor in self.group_chain(gid):
                found[ancestor].append(nid)
        return found

    def group_summary(self, group_id: str, nodes: list[str] | None = None) -> tuple[int, int]:
        """(number of op nodes, number of parameter elements) inside the group: what a
        collapsed group's box says about itself. nodes: its nodes, when known already."""
        ops = params = 0
        for nid in self.group_nodes(group_id) if nodes is None else nodes:
            node = self.nodes[nid]
            spec = self.spec(node)
            if spec.category in ("Leaves", "Data"):
                if node.kind == "parameter" or node.params.get("requires_grad"):
                    params += leaf_numel(node.params)
            else:
                ops += 1
        return ops, params

    # ---------------------------------------------------------------- mutators
    def group_items(self, node_ids: Iterable[str], group_ids: Iterable[str] = (),
                    label: str = "group", group_id: str | None = None,
                    collapsed: bool = False, info: dict | None = None) -> Group:
        """Makes a new group around the given nodes and groups (at least one item).

        The new group goes inside the innermost group that holds all the items; an item
        deeper than that brings along its enclosing group below that level, so nesting is
        kept whole. `ungroup` of the new group is the exact inverse.
        """
        node_ids, group_ids = list(dict.fromkeys(node_ids)), list(dict.fromkeys(group_ids))
        if not node_ids and not group_ids:
            raise self._group_error("select nodes to group")
        if group_id is not None and group_id in self.groups:
            raise self._group_error(f"a group with id '{group_id}' already exists")
        owner = self.node_groups()
        chains = []
        for nid in node_ids:
            if nid not in self.nodes:
                raise self._group_error(f"no node '{nid}'")
            chains.append([nid] + self.group_chain(owner.get(nid)))
        for gid in group_ids:
            if gid not in self.groups:
                raise self._group_error(f"no group '{gid}'")
            chains.append(self.group_chain(gid))
        # chains: item first, then its groups innermost -> outermost (for a group item the
        # group itself first). The common parent is the innermost group on every chain
        # that is not an item itself.
        outer_first = [list(reversed(c)) for c in chains]
        common: str | None = None
        for level in zip(*outer_first):
            if len(set(level)) == 1 and level[0] in self.groups and level[0] not in group_ids:
                common = level[0]
            else:
                break
        depth = len(self.group_chain(common))
        if depth >= MAX_GROUP_DEPTH:
            raise self._group_error(f"groups nest at most {MAX_GROUP_DEPTH} deep")
        label = _group_label(label.strip() or "group")
        group = Group(group_id or self.new_id("g"), label, [], common, bool(collapsed),
                      dict(info or {}))
        moved_groups: list[str] = []
        for path in outer_first:
            below = path[depth] if len(path) > depth else None   # first step below common
            if below is None:
                continue
            if below in self.groups:
                if below not in moved_groups:
                    moved_groups.append(below)
            elif below not in group.node_ids:
                group.node_ids.append(below)
        for nid in group.node_ids:
            if common is not None:
                self.groups[common].node_ids.remove(nid)
        for gid in moved_groups:
            self.groups[gid].parent = group.id
        self.groups[group.id] = group
        self._emit("group_changed", group, "added")
        return group

    def ungroup(self, group_id: str) -> Group:
        """Removes the group; its nodes and child groups move to its parent."""
        group = self._group(group_id)
        parent = group.parent
        if parent is not None:
            self.groups[parent].node_ids.extend(group.node_ids)
        for child in self.child_groups(group_id):
            child.parent = parent
        del self.groups[group_id]
        self._emit("group_changed", group, "removed")
        return group

    def set_group_label(self, group_id: str, label: str) -> str:
        group = self._group(group_id)
        label = label.strip()
        if not label:
            raise self._group_error("a group's name cannot be empty")
        old, group.label = group.label, _group_label(label)
        self._emit("group_changed", group, "label")
        return old

    def set_group_collapsed(self, group_id: str, collapsed: bool) -> bool:
        group = self._group(group_id)
        old, group.collapsed = group.collapsed, bool(collapsed)
        if old != group.collapsed:
            self._emit("group_changed", group, "collapsed")
        return old

    def set_all_groups_collapsed(self, collapsed: bool) -> None:
        for group in self.groups.values():
            group.collapsed = bool(collapsed)
        self._emit("group_changed", None, "collapsed")

    def groups_snapshot(self) -> dict[str, Group]:
        return copy.deepcopy(self.groups)

    def restore_groups(self, snapshot: dict[str, Group]) -> None:
        """Puts back the groups as a snapshot had them (undo); members that no longer exist
        are left out."""
        groups = copy.deepcopy(snapshot)
        for group in groups.values():
            group.node_ids = [n for n in group.node_ids if n in self.nodes]
        self.groups = groups
        self._emit("group_changed", None, "restored")

    def _drop_from_groups(self, node_id: str) -> None:
        """Called when a node is removed."""
        group = self.group_of_node(node_id)
        if group is not None:
            group.node_ids.remove(node_id)
            self._emit("group_changed", group, "node_ids")

    # ---------------------------------------------------------------- helpers
    def _group(self, group_id: str) -> Group:
        try:
            return self.groups[group_id]
        except KeyError:
            raise self._group_error(f"no group '{group_id}'") from None

    @staticmethod
    def _group_error(message: str) -> Exception:
        from gradstudio.graph.document import GraphError
        return GraphError(message)


def leaf_numel(params: dict) -> int:
    """Elements of the tensor a leaf's parameters describe (value, or shape + init)."""
    if params.get("init", "value") == "value":
        value, count = params.get("value", 0), 1
        while isinstance(value, list):
            count *= len(value)
            value = value[0] if value else 0
        return count
    return math.prod(max(0, int(n)) for n in params.get("shape") or ())


def check_groups(doc, groups: dict[str, Group]) -> str | None:
    """Why a set of groups is not valid for `doc`, or None: parents exist, no cycles, depth
    bounded, every member a node of doc and in one group only."""
    seen: dict[str, str] = {}
    for group in groups.values():
        if group.parent is not None and group.parent not in groups:
            return f"group '{group.id}': no parent group '{group.parent}'"
        for nid in group.node_ids:
            if nid not in doc.nodes:
                return f"group '{group.id}': no node has the id '{nid}'"
            if nid in seen:
                return f"group '{group.id}': node '{nid}' is already in group '{seen[nid]}'"
            seen[nid] = group.id
    for group in groups.values():
        gid, steps = group.id, 0
        while gid is not None:
            gid = groups[gid].parent
            steps += 1
            if steps > MAX_GROUP_DEPTH:
                return f"group '{group.id}': parents form a cycle or nest deeper than " \
                       f"{MAX_GROUP_DEPTH}"
    return None
