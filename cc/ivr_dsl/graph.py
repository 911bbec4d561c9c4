"""A flow as a diagram: Mermaid (``flowchart TD``) or Graphviz DOT text."""

from __future__ import annotations

from cc.ivr_dsl.flow import Flow

__all__ = ["FORMATS", "edge_label", "render_graph", "to_dot", "to_mermaid"]

#: Output formats of render_graph.
FORMATS = ("mermaid", "dot")


def edge_label(flow: Flow, node: str, outcome: str) -> str:
    """How an outcome reads on an edge: ``1`` for a menu key, the condition for a branch case."""
    if outcome.startswith("choice:"):
        return outcome.split(":", 1)[1]
    if outcome.startswith("case:"):
        cases = flow.nodes[node].verb.cfg.get("cases", ())
        i = int(outcome.split(":", 1)[1])
        return f"if {cases[i][0].source}" if i < len(cases) else outcome
    return "" if outcome in ("next", "goto") else outcome


def grouped_edges(flow: Flow) -> list[tuple[str, str, str]]:
    """(from, to, label) with parallel edges merged; an edge that is the ``next`` default has no label."""
    groups: dict[tuple[str, str], list[str]] = {}
    for src, outcome, dst in flow.edges():
        if dst in flow.nodes:
            groups.setdefault((src, dst), []).append(outcome)
    out = []
    for (src, dst), outcomes in groups.items():
        if any(o in ("next", "goto") for o in outcomes):
            out.append((src, dst, ""))
        else:
            out.append((src, dst, ", ".join(edge_label(flow, src, o) for o in outcomes)))
    return out


def _mermaid_text(text: str) -> str:
    return text.replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")


def to_mermaid(flow: Flow) -> str:
    """Mermaid flowchart text; the start node is drawn as a stadium, terminal nodes as circles."""
    ids = {name: f"n{i}" for i, name in enumerate(flow.nodes)}
    lines = ["flowchart TD", f"  %% flow {flow.name} ({flow.file})"]
    for name, node in flow.nodes.items():
        label = _mermaid_text(f"{name}<br/>{node.verb.name}")
        label = label.replace("#lt;br/#gt;", "<br/>")
        if name == flow.start:
            lines.append(f'  {ids[name]}(["{label}"])')
        elif type(node.verb).terminal:
            lines.append(f'  {ids[name]}(("{label}"))')
        elif node.verb.name in ("branch", "business_hours", "menu"):
            lines.append(f'  {ids[name]}{{"{label}"}}')
        else:
            lines.append(f'  {ids[name]}["{label}"]')
    for src, dst, label in grouped_edges(flow):
        arrow = f' -->|"{_mermaid_text(label)}"| ' if label else " --> "
        lines.append(f"  {ids[src]}{arrow}{ids[dst]}")
    return "\n".join(lines) + "\n"


def _dot(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def to_dot(flow: Flow) -> str:
    """Graphviz DOT text."""
    lines = [f"digraph {_dot(flow.name)} {{", "  rankdir=TB;", "  node [shape=box, fontname=Helvetica];"]
    for name, node in flow.nodes.items():
        shape = ""
        if name == flow.start:
            shape = ", style=bold"
        if type(node.verb).terminal:
            shape += ", shape=doublecircle"
        elif node.verb.name in ("branch", "business_hours", "menu"):
            shape += ", shape=diamond"
        lines.append(f"  {_dot(name)} [label={_dot(name + chr(10) + node.verb.name)}{shape}];")
    for src, dst, label in grouped_edges(flow):
        attr = f" [label={_dot(label)}]" if label else ""
        lines.append(f"  {_dot(src)} -> {_dot(dst)}{attr};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def render_graph(flow: Flow, fmt: str = "mermaid") -> str:
    """The flow in ``fmt`` (mermaid or dot)."""
    return to_dot(flow) if fmt == "dot" else to_mermaid(flow)
