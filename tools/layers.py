#!/usr/bin/env python3
"""Check that `crate::` imports point down the layer list (docs/ARCHITECTURE.md).

Layers, top to bottom; an import may point to its own layer or any layer below:

  0  main, lib, server, cli                composition root
  1  http, realtime                        transports
  2  config                                assembles the settings types of the layers below;
                                           transports read it, actors get narrow settings
  3  actors                                live state
  4  economy, auth                         use cases
  5  store, chain, cluster                 IO
  6  domain, sim, metrics, telemetry       pure rules; leaf utilities that import nothing

Also fails when a circle of imports spans two top-level folders. Test-only files (`tests.rs`,
`*_tests.rs`, `props.rs`) may wire real transports into a unit test: they are listed, not
counted. Paths are read from code
(comments and doc comments skipped), so `crate::a::b` in an expression counts too.
Usage: tools/layers.py [-v]   (exit 1 on a violation; -v lists every upward import)
"""
import os
import re
import sys

LAYERS = [
    {"main", "lib", "server", "cli"},
    {"http", "realtime"},
    {"config"},
    {"actors"},
    {"economy", "auth"},
    {"store", "chain", "cluster"},
    {"domain", "sim", "metrics", "telemetry"},
]
RANK = {m: i for i, layer in enumerate(LAYERS) for m in layer}
ROOT = os.environ.get("LAYERS_SRC") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")
PATH = re.compile(r"\bcrate::([a-z_][a-z0-9_]*)")


def top(rel):
    first = rel.split(os.sep)[0]
    return first[:-3] if first.endswith(".rs") else first


def code_lines(text):
    for line in text.splitlines():
        s = line.strip()
        if s.startswith("//"):
            continue
        yield line.split("//")[0] if "\"" not in line else line


def main():
    verbose = "-v" in sys.argv
    edges = {}  # (from_top, to_top) -> [(file, line)]
    tests_up = []  # upward imports in test-only files
    for dirpath, _, files in os.walk(ROOT):
        for name in files:
            if not name.endswith(".rs"):
                continue
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, ROOT)
            src = top(rel)
            test_only = name in ("tests.rs", "props.rs") or name.endswith("_tests.rs")
            with open(path, encoding="utf-8") as f:
                text = f.read()
            for n, line in enumerate(code_lines(text), 1):
                for m in PATH.finditer(line):
                    dst = m.group(1)
                    if dst == src or dst not in RANK:
                        continue
                    if test_only:
                        if RANK.get(dst, 99) < RANK.get(src, 99):
                            tests_up.append((rel, line.strip()))
                        continue
                    edges.setdefault((src, dst), []).append((rel, line.strip()))
    for m in set(a for a, _ in edges) | set(b for _, b in edges):
        if m not in RANK:
            print(f"layers: module `{m}` has no layer; add it to tools/layers.py")
            return 1
    upward = [(a, b, hits) for (a, b), hits in sorted(edges.items()) if RANK[b] < RANK[a]]
    n_up = sum(len(h) for _, _, h in upward)
    for a, b, hits in upward:
        files = sorted(set(f for f, _ in hits))
        print(f"up: {a} -> {b} ({len(hits)}): {', '.join(files)}")
        if verbose:
            for f, line in hits:
                print(f"      {f}: {line}")
    # Circles between folders: strongly connected components of the folder graph.
    graph = {}
    for a, b in edges:
        graph.setdefault(a, set()).add(b)
        graph.setdefault(b, set())
    index, low, stack, on, sccs = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                sccs.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    for f, line in tests_up:
        print(f"test-only (not counted): {f}: {line}")
    for comp in sccs:
        print(f"circle: {' <-> '.join(comp)}")
    print(f"layers: {n_up} upward import(s) in {len(upward)} folder pair(s), {len(sccs)} circle(s)")
    return 1 if n_up or sccs else 0


if __name__ == "__main__":
    sys.exit(main())
