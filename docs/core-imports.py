#!/usr/bin/env python3
"""core's internal import graph, from its `use crate::…` lines and its inline `crate::m::…`
paths (issue 17's before/after).

A module is a top-level module of core/src (`upload`, `quota`, `storage`, …; a file at the
root such as `outbox.rs` is one too). An edge A → B is a `use crate::B…` anywhere under A
(grouped uses `use crate::{b, c::d}` count each; an item of the crate root such as `Core`
counts as `lib`, which imports nothing back). Prints the edges, the pairs that import
each other, the strongly connected components with more than one module (the cycles), and
the largest files. Stdlib only:

    python3 docs/core-imports.py            # from the repository root
"""
import os
import re
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "core", "src")


def module_of(path):
    rel = os.path.relpath(path, ROOT)
    head = rel.split(os.sep)[0]
    return head[:-3] if head.endswith(".rs") else head


def targets(text):
    """Top-level modules named by the `use crate::…;` statements of `text`."""
    found = set()
    for statement in re.findall(r"\buse\s+crate::(.*?);", text, flags=re.S):
        statement = re.sub(r"\s+", "", statement)
        if statement.startswith("{"):
            depth, part, parts = 0, "", []
            for ch in statement[1:-1]:
                if ch == "{":
                    depth += 1
                elif ch == "}":
                    depth -= 1
                if ch == "," and depth == 0:
                    parts.append(part)
                    part = ""
                else:
                    part += ch
            parts.append(part)
        else:
            parts = [statement]
        for part in parts:
            name = re.split(r"::|\{| as ", part)[0]
            if name and name not in ("self", "*"):
                # `Core`, `CoreResult`, …: items of the crate root (lib.rs), not modules.
                found.add("lib" if name[0].isupper() else name)
    # Inline paths (`crate::upload::repo::find(…)`) are imports too, written in place;
    # comments are left out.
    code = re.sub(r"//[^\n]*", "", re.sub(r"\buse\s+crate::.*?;", "", text, flags=re.S))
    for name in re.findall(r"\bcrate::([a-z_][a-z0-9_]*)::", code):
        found.add(name)
    return found


def main():
    edges, sizes = {}, []
    for directory, _, files in os.walk(ROOT):
        for name in files:
            if not name.endswith(".rs"):
                continue
            path = os.path.join(directory, name)
            text = open(path, encoding="utf-8").read()
            sizes.append((text.count("\n"), os.path.relpath(path, os.path.join(ROOT, "..", ".."))))
            source = module_of(path)
            if source == "lib":
                continue
            for target in targets(text):
                if target != source:
                    edges.setdefault(source, set()).add(target)
    modules = sorted(set(edges) | {t for ts in edges.values() for t in ts})
    count = sum(len(ts) for ts in edges.values())
    mutual = sorted({tuple(sorted((a, b))) for a, ts in edges.items() for b in ts if a in edges.get(b, ())})
    # Tarjan's strongly connected components.
    index, low, stack, on, sccs, counter = {}, {}, [], set(), [], [0]

    def strong(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                sccs.append(sorted(component))

    sys.setrecursionlimit(10_000)
    for v in modules:
        if v not in index:
            strong(v)
    print(f"modules: {len(modules)}; edges between them: {count}; pairs importing each other: {len(mutual)}")
    for component in sccs:
        print(f"cycle ({len(component)} modules): {' '.join(component)}")
    print("mutual pairs: " + ", ".join(f"{a}<->{b}" for a, b in mutual))
    print("edges:")
    for source in sorted(edges):
        print(f"  {source} -> {' '.join(sorted(edges[source]))}")
    print("largest files (lines):")
    for lines, path in sorted(sizes, reverse=True)[:10]:
        print(f"  {lines:5d} {path}")


if __name__ == "__main__":
    main()
