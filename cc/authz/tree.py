"""The org tree (departments and teams, any depth): ancestors, subtrees and containment, precomputed once."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from cc.errors import InvalidValue

__all__ = ["CyclicTree", "OrgTree"]


class CyclicTree(InvalidValue):
    """The units' parents go round in a circle: no tree can be built; ``units`` are those in (or under) a cycle,
    ``cycle`` one of the circles in order (``a -> b -> a``)."""

    def __init__(self, units: tuple[str, ...], cycle: tuple[str, ...]) -> None:
        shown = " -> ".join((*cycle, cycle[0])) if cycle else ", ".join(units)
        super().__init__(f"unit {cycle[0] if cycle else units[0]}.parent", " ".join(units),
                         f"the org tree has a cycle ({shown}); units cut off by it: {', '.join(units)} "
                         "-- move one of them to a top unit or under a unit outside the cycle")
        self.units = units
        self.cycle = cycle


def _one_cycle(parents: Mapping[str, str | None], start: str) -> tuple[str, ...]:
    """The circle reached by following parents from ``start`` (a unit not reachable from a top unit)."""
    seen: dict[str, int] = {}
    path: list[str] = []
    unit: str | None = start
    while unit is not None and unit not in seen:
        seen[unit] = len(path)
        path.append(unit)
        unit = parents.get(unit)
    if unit is None:
        return ()
    loop = path[seen[unit]:]
    first = loop.index(min(loop))        # start the circle at its smallest name: one spelling for one circle
    return tuple(loop[first:] + loop[:first])


class OrgTree:
    """An immutable forest of org units built from ``{unit: parent or None}``.

    Built once (O(n)): each unit's depth-first entry/exit numbers (``contains`` is two comparisons), its
    ancestors (root first) and its subtree as a frozenset (a scope's reach is a union of these). A parent
    that is not a unit is an InvalidValue naming the unit; a cycle is :class:`CyclicTree` naming its units.
    """

    def __init__(self, parents: Mapping[str, str | None]) -> None:
        self.parents: dict[str, str | None] = dict(parents)
        children: dict[str | None, list[str]] = {}
        for unit, parent in self.parents.items():
            if parent is not None and parent not in self.parents:
                raise InvalidValue(f"unit {unit}.parent", parent, "no such unit")
            children.setdefault(parent, []).append(unit)
        self.children: dict[str, tuple[str, ...]] = {u: tuple(sorted(children.get(u, ()))) for u in self.parents}
        self.roots: tuple[str, ...] = tuple(sorted(children.get(None, ())))
        self._enter: dict[str, int] = {}
        self._leave: dict[str, int] = {}
        self.ancestors: dict[str, tuple[str, ...]] = {}
        order: list[str] = []
        clock = 0
        for root in self.roots:          # iterative depth-first walk (no recursion limit on deep trees)
            stack: list[tuple[str, int]] = [(root, 0)]
            while stack:
                unit, i = stack.pop()
                if i == 0:
                    self._enter[unit] = clock
                    clock += 1
                    order.append(unit)
                    parent = self.parents[unit]
                    self.ancestors[unit] = (*self.ancestors[parent], parent) if parent is not None else ()
                kids = self.children[unit]
                if i < len(kids):
                    stack.append((unit, i + 1))
                    stack.append((kids[i], 0))
                else:
                    self._leave[unit] = clock
        cyclic = sorted(set(self.parents) - set(self._enter))
        if cyclic:
            raise CyclicTree(tuple(cyclic), _one_cycle(self.parents, cyclic[0]))
        self.order: tuple[str, ...] = tuple(order)
        self.subtrees: dict[str, frozenset[str]] = {}
        for unit in reversed(order):     # children before parents: each subtree is built from its children's
            below = {unit}
            for kid in self.children[unit]:
                below |= self.subtrees[kid]
            self.subtrees[unit] = frozenset(below)

    def __contains__(self, unit: object) -> bool:
        """Whether ``unit`` is a unit of this tree."""
        return unit in self.parents

    def __len__(self) -> int:
        """How many units."""
        return len(self.parents)

    def contains(self, ancestor: str, unit: str) -> bool:
        """Whether ``unit`` lies in ``ancestor``'s subtree (itself included); O(1)."""
        a = self._enter.get(ancestor)
        u = self._enter.get(unit)
        return a is not None and u is not None and a <= u < self._leave[ancestor]

    def depth(self, unit: str) -> int:
        """0 for a top unit."""
        return len(self.ancestors[unit])

    def path(self, unit: str) -> str:
        """``top/…/unit`` (for listings)."""
        return "/".join((*self.ancestors[unit], unit))

    def walk(self) -> Iterator[tuple[str, int]]:
        """Every unit with its depth, depth first, children in name order."""
        for unit in self.order:
            yield unit, len(self.ancestors[unit])

    def can_move(self, unit: str, new_parent: str | None) -> bool:
        """Whether ``unit`` may be put under ``new_parent`` (not under itself or its own subtree)."""
        return new_parent is None or (new_parent in self.parents and not self.contains(unit, new_parent))
