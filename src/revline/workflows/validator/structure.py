"""Graph structure: edges and handles, mode compatibility, the entry node, containers,
reachability, dead branches and cycles.

Facts from Dify: `graphon/graph/validation.py` (edge endpoints exist, the root is an entry
node), the editor checklist `use-checklist.ts` (a start node or trigger is needed, every node
must be connected, end outputs are unique) and the node classes (branch handles).
"""

from __future__ import annotations

from collections import Counter, deque

from revline.workflows.validator.model import GRAPH, EdgeView, GraphModel, NodeView
from revline.workflows.validator.nodes import RULES, TRIGGER_TYPES
from revline.workflows.validator.report import Collector

# What each mode may contain and how it ends.
_TERMINAL = {"workflow": "end", "advanced-chat": "answer", "rag-pipeline": "knowledge-index"}
_FORBIDDEN = {
    "workflow": {"answer": "a workflow returns its outputs through end nodes; use end instead "
                           "of answer (or switch app.mode to advanced-chat)",
                 "datasource": "datasource nodes only exist in RAG pipelines"},
    "advanced-chat": {"end": "a chatflow replies through answer nodes; use answer instead of end "
                             "(or switch app.mode to workflow)",
                      "datasource": "datasource nodes only exist in RAG pipelines",
                      **dict.fromkeys(TRIGGER_TYPES, "triggers only start workflows, not "
                                                     "chatflows; use a start node")},
    "rag-pipeline": {"answer": "a RAG pipeline ends in a knowledge-index node, not answer",
                     "start": "a RAG pipeline starts from datasource nodes, not start",
                     **dict.fromkeys(TRIGGER_TYPES, "a RAG pipeline starts from datasource "
                                                    "nodes, not triggers")},
}


def check_structure(model: GraphModel, col: Collector) -> None:
    """All structural rules, in the order a user would fix them."""
    _check_edges(model, col)
    entries = _check_modes_and_entry(model, col)
    _check_containers(model, col)
    reached = _check_reachability(model, entries, col)
    _check_branches(model, reached, col)
    _check_cycles(model, col)


def _check_edges(model: GraphModel, col: Collector) -> None:
    seen: dict[tuple[str, str, str, str], int] = {}
    ids: Counter[str] = Counter(e.id for e in model.edges if e.id)
    for edge in model.edges:
        src = model.by_id.get(edge.source)
        dst = model.by_id.get(edge.target)
        for end, node in (("source", src), ("target", dst)):
            if node is None:
                name = getattr(edge, end)
                hint = _title_hint(model, name)
                col.error(f"{edge.path}.{end}", "edge.unknown_node",
                          f"edge {end} {name!r} is not a node id{hint}; point the edge at an "
                          "existing node or remove it")
        if src is None or dst is None:
            continue
        if src.id == dst.id:
            col.error(edge.path, "edge.self_loop",
                      f"edge connects {src.label()} to itself; remove it (use a loop node to "
                      "repeat steps)")
            continue
        if src.parent != dst.parent:
            col.error(edge.path, "edge.crosses_container",
                      f"edge joins {src.label()} and {dst.label()}, which sit in different "
                      "containers; connect nodes inside an iteration/loop only to each other")
        rule = RULES.get(src.type)
        if rule is not None:
            handles = rule.source_handles(src)
            if edge.source_handle not in handles:
                col.error(f"{edge.path}.sourceHandle", "edge.bad_handle",
                          f"sourceHandle {edge.source_handle!r} is not an output of "
                          f"{src.label()}; use one of {_quote(sorted(handles))}")
        if edge.target_handle != "target":
            col.warn(f"{edge.path}.targetHandle", "edge.target_handle",
                     f"targetHandle {edge.target_handle!r} should be 'target'")
        key = (edge.source, edge.source_handle, edge.target, edge.target_handle)
        if key in seen:
            col.warn(edge.path, "edge.duplicate",
                     f"same connection as {GRAPH}.edges[{seen[key]}]; remove the duplicate")
        else:
            seen[key] = edge.index
        if edge.id and ids[edge.id] > 1:
            col.warn(f"{edge.path}.id", "edge.id_duplicate",
                     f"edge id {edge.id!r} is used by {ids[edge.id]} edges; make ids unique")
            ids[edge.id] = 0  # report each duplicated id once


def _check_modes_and_entry(model: GraphModel, col: Collector) -> list[NodeView]:
    forbidden = _FORBIDDEN[model.mode]
    for node in model.nodes:
        if node.type in forbidden:
            col.error(f"{node.path}.data.type", "mode.node_not_allowed",
                      f"{node.label()} is not allowed in a {model.mode} app: "
                      f"{forbidden[node.type]}")
    top = [n for n in model.nodes if n.parent is None]
    starts = [n for n in top if n.type == "start"]
    triggers = [n for n in top if n.type in TRIGGER_TYPES]
    if starts and triggers:
        for node in triggers:
            col.error(f"{node.path}.data.type", "mode.start_with_trigger",
                      f"{node.label()} cannot coexist with the start node; a workflow starts from "
                      "either a start node or a trigger, remove one of them")
    wanted = ("datasource",) if model.mode == "rag-pipeline" else \
        ("start", *TRIGGER_TYPES) if model.mode == "workflow" else ("start",)
    entries = [n for n in top if n.type in wanted]
    for node in model.nodes:
        rule = RULES.get(node.type)
        if rule is not None and rule.entry and node.parent is not None:
            col.error(f"{node.path}.parentId", "entry.in_container",
                      f"{node.label()} is an entry node and cannot sit inside a container")
        if rule is not None and rule.entry and model.in_edges.get(node.id):
            edge = model.in_edges[node.id][0]
            col.error(f"{edge.path}.target", "entry.incoming_edge",
                      f"{node.label()} is an entry node and cannot have incoming edges; remove "
                      "the edge")
    if not entries:
        what = "a datasource node" if model.mode == "rag-pipeline" else \
            "a start node or a trigger" if model.mode == "workflow" else "a start node"
        col.error(f"{GRAPH}.nodes", "entry.missing", f"the graph has no entry node; add {what}")
    elif len(entries) > 1 and model.mode != "rag-pipeline" and not (starts and triggers):
        for node in entries[1:]:
            col.error(f"{node.path}.data.type", "entry.multiple",
                      f"{node.label()} is a second entry node (first: {entries[0].id!r}); a "
                      f"{model.mode} app has exactly one, remove or merge it")
    return entries


def _check_containers(model: GraphModel, col: Collector) -> None:
    for node in model.nodes:
        if node.parent is not None:
            parent = model.by_id.get(node.parent)
            if parent is None:
                col.error(f"{node.path}.parentId", "container.unknown_parent",
                          f"{node.label()} has parentId {node.parent!r}, which is not a node; "
                          "fix parentId or move the node out")
            elif not getattr(RULES.get(parent.type), "container", False):
                col.error(f"{node.path}.parentId", "container.not_container",
                          f"{node.label()} sits inside {parent.label()}, which cannot contain "
                          "nodes; only iteration and loop nodes can")
        rule = RULES.get(node.type)
        if rule is None:
            continue
        if rule.inside is not None:
            parent = model.by_id.get(node.parent or "")
            if parent is None or parent.type != rule.inside:
                col.error(f"{node.path}.parentId", "container.start_outside",
                          f"{node.label()} must sit inside a {rule.inside} node (set parentId)")
        if rule.container:
            _check_start_node(model, node, col)


def _check_start_node(model: GraphModel, node: NodeView, col: Collector) -> None:
    start = node.data.get("start_node_id")
    if not isinstance(start, str) or not start:
        col.error(node.at("start_node_id"), "container.start_missing",
                  f"{node.label()}: start_node_id is required; set it to the id of its "
                  f"{node.type}-start child node")
        return
    child = model.by_id.get(start)
    if child is None:
        col.error(node.at("start_node_id"), "container.start_unknown",
                  f"{node.label()}: start_node_id {start!r} is not a node; add the "
                  f"{node.type}-start node or fix the id")
    elif child.parent != node.id:
        col.error(node.at("start_node_id"), "container.start_not_child",
                  f"{node.label()}: start node {start!r} is not inside it; set its parentId to "
                  f"{node.id!r}")


def container_entries(model: GraphModel, container: NodeView) -> list[str]:
    """Where a container's subgraph starts: start_node_id and any *-start child."""
    found: list[str] = []
    start = container.data.get("start_node_id")
    if isinstance(start, str) and start in model.by_id:
        found.append(start)
    found += [c.id for c in model.children.get(container.id, [])
              if c.type in ("iteration-start", "loop-start") and c.id not in found]
    return found


def _check_reachability(model: GraphModel, entries: list[NodeView], col: Collector) -> set[str]:
    reached: set[str] = set()
    queue = deque(n.id for n in entries)
    while queue:
        current = queue.popleft()
        if current in reached:
            continue
        reached.add(current)
        queue.extend(e.target for e in model.out_edges.get(current, []))
        node = model.by_id[current]
        if getattr(RULES.get(node.type), "container", False):
            queue.extend(container_entries(model, node))
    if not entries:
        return reached
    for node in model.nodes:
        if node.id in reached or (node.parent is not None and node.parent not in reached):
            continue
        where = f"inside {node.parent!r} " if node.parent else ""
        col.error(node.path, "graph.unreachable",
                  f"{node.label()} {where}is not connected to the entry node; connect an edge "
                  "into it or delete it")
    terminal = _TERMINAL[model.mode]
    if not any(model.by_id[n].type == terminal for n in reached):
        col.error(f"{GRAPH}.nodes", "graph.no_terminal",
                  f"no {terminal} node is reachable from the entry node; add one and connect "
                  f"the last step to it")
    return reached


def _check_branches(model: GraphModel, reached: set[str], col: Collector) -> None:
    for node in model.nodes:
        rule = RULES.get(node.type)
        if rule is None or node.id not in reached:
            continue
        wired = {e.source_handle for e in model.out_edges.get(node.id, [])}
        for handle in rule.required_branches(node):
            if handle not in wired:
                name = "ELSE" if handle == "false" and node.type == "if-else" else repr(handle)
                col.strict(node.path, "graph.dead_branch",
                           f"branch {name} of {node.label()} has no outgoing edge, so that path "
                           f"ends without reaching an {_TERMINAL[model.mode]}; connect it "
                           "(edge sourceHandle "f"{handle!r})")


def _check_cycles(model: GraphModel, col: Collector) -> None:
    color: dict[str, int] = {}
    reported: set[frozenset[str]] = set()

    def visit(start: str) -> None:
        stack: list[tuple[str, list[EdgeView]]] = [(start, list(model.out_edges.get(start, [])))]
        color[start] = 1
        path = [start]
        while stack:
            current, pending = stack[-1]
            if not pending:
                color[current] = 2
                stack.pop()
                path.pop()
                continue
            edge = pending.pop()
            target = edge.target
            if target == current:
                continue  # a self-loop, reported by the edge rules
            if color.get(target) == 1:
                cycle = path[path.index(target):] + [target]
                key = frozenset(cycle)
                if key not in reported:
                    reported.add(key)
                    col.error(edge.path, "graph.cycle",
                              f"edges form a cycle {' -> '.join(cycle)}; Dify graphs must be "
                              "acyclic, use a loop node to repeat steps")
            elif target not in color:
                color[target] = 1
                path.append(target)
                stack.append((target, list(model.out_edges.get(target, []))))

    for node in model.nodes:
        if node.id not in color:
            visit(node.id)


def _title_hint(model: GraphModel, name: str) -> str:
    ids = model.titles.get(name)
    return f" (it is the title of node {ids[0]!r}; use the id)" if ids else ""


def _quote(values: list[str]) -> str:
    return ", ".join(repr(v) for v in values)
