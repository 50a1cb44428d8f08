"""Small flame graphs from py-spy's collapsed stacks, and where the time went in text.

    .venv/bin/python -m bench.flamegraph stacks.txt out.svg [--title T] [--min-percent 0.5]

`py-spy record --format raw --function` writes one line per distinct stack
(`frame;frame;… count`). py-spy's own SVG keeps every stack and line number (300–500 KB
for a 20-second phase); this one merges the gunicorn workers, drops the frames of the
process and the worker's request loop below Django's handler, and leaves out frames
narrower than `--min-percent` of the samples, so a graph is a few tens of KB and still
shows every cost worth reading. `summary()` gives the same tree as text: the share of
the samples spent in (inclusive) and directly at (self) each function.
"""

from __future__ import annotations

import argparse
import html
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

_COUNT = re.compile(r"^(.*) (\d+)$")
# Frames above this one are gunicorn's loop and the WSGI handler: the same in every phase.
ROOT_FRAMES = ("WSGIHandler.__call__", "__call__ (django/core/handlers/wsgi.py)")
WIDTH = 1200
ROW = 16


@dataclass
class Node:
    name: str
    count: int = 0
    self_count: int = 0
    children: dict[str, Node] = field(default_factory=dict)

    def child(self, name: str) -> Node:
        node = self.children.get(name)
        if node is None:
            node = self.children[name] = Node(name)
        return node


def parse(lines: Iterable[str]) -> Node:
    """The stacks of every process as one tree (process frames dropped)."""
    root = Node("all")
    pending = ""
    for raw in lines:
        line = pending + raw.rstrip("\n")
        match = _COUNT.match(line)
        if match is None:  # a process's command line may hold a newline
            pending = line + " "
            continue
        pending = ""
        frames = [f for f in match.group(1).split(";") if not f.startswith("process ")]
        for i, frame in enumerate(frames):
            if frame.startswith(ROOT_FRAMES) or "(django/core/handlers/wsgi.py" in frame:
                frames = frames[i:]
                break
        count = int(match.group(2))
        root.count += count
        node = root
        for frame in frames:
            node = node.child(frame)
            node.count += count
        node.self_count += count
    return root


def load(path: Path) -> Node:
    with path.open(errors="replace") as f:
        return parse(f)


def _short(name: str) -> str:
    return re.sub(r" \(.*?([^/]+/[^/]+\.py)(?::\d+)?\)$", r" (\1)", name)


def summary(root: Node, *, top: int = 25) -> list[tuple[str, float, float]]:
    """(function, inclusive %, self %) for the `top` functions by inclusive share; a
    function that recurses is counted once per stack."""
    inclusive: dict[str, int] = {}
    own: dict[str, int] = {}

    def walk(node: Node, seen: frozenset[str]) -> None:
        for child in node.children.values():
            name = _short(child.name)
            if name not in seen:
                inclusive[name] = inclusive.get(name, 0) + child.count
            own[name] = own.get(name, 0) + child.self_count
            walk(child, seen | {name})

    walk(root, frozenset())
    total = root.count or 1
    ranked = sorted(inclusive, key=lambda n: -inclusive[n])[:top]
    return [(n, 100 * inclusive[n] / total, 100 * own.get(n, 0) / total) for n in ranked]


def _colour(name: str) -> str:
    if "site-packages/django/" in name or "(django/" in name:
        return "#8fbf6f"
    if "rest_framework" in name or "django_filters" in name or "drf_spectacular" in name:
        return "#e0a95c"
    if "psycopg" in name:
        return "#6fa8dc"
    if "site-packages" in name or "python3" in name or "<frozen" in name:
        return "#c9c9c9"
    return "#e8705c"  # the project's own code


def render(root: Node, *, title: str, min_percent: float = 0.5) -> str:
    """An icicle-style flame graph (root on top) as SVG text."""
    total = root.count or 1
    minimum = total * min_percent / 100
    rects: list[str] = []
    depth_max = 0

    def draw(node: Node, x: float, depth: int) -> None:
        nonlocal depth_max
        width = WIDTH * node.count / total
        depth_max = max(depth_max, depth)
        y = 24 + depth * ROW
        label = html.escape(_short(node.name))
        share = 100 * node.count / total
        text = ""
        chars = int(width / 7)
        if chars >= 4:
            shown = label if len(label) <= chars else label[: chars - 2] + ".."
            text = f'<text x="{x + 3:.1f}" y="{y + 12}">{shown}</text>'
        rects.append(
            f"<g><title>{label} ({node.count} samples, {share:.1f}%)</title>"
            f'<rect x="{x:.1f}" y="{y}" width="{width:.1f}" height="{ROW - 1}" '
            f'fill="{_colour(node.name)}"/>{text}</g>'
        )
        offset = x
        for child in sorted(node.children.values(), key=lambda c: c.name):
            if child.count >= minimum:
                draw(child, offset, depth + 1)
            offset += WIDTH * child.count / total

    draw(root, 0.0, 0)
    height = 24 + (depth_max + 1) * ROW + 8
    legend = (
        "red: project code, green: Django, orange: DRF/django-filter, blue: psycopg, "
        f"grey: other libraries; frames under {min_percent}% left out"
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'font-family="monospace" font-size="11">'
        f'<rect width="100%" height="100%" fill="#fff"/>'
        f'<text x="4" y="14" font-size="12">{html.escape(title)} — {total} samples. '
        f"{legend}</text>" + "".join(rects) + "</svg>\n"
    )


def write(stacks: Path, svg: Path, *, title: str, min_percent: float = 0.5) -> Node:
    root = load(stacks)
    svg.parent.mkdir(parents=True, exist_ok=True)
    svg.write_text(render(root, title=title, min_percent=min_percent))
    return root


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stacks", type=Path)
    parser.add_argument("svg", type=Path)
    parser.add_argument("--title", default="")
    parser.add_argument("--min-percent", type=float, default=0.5)
    args = parser.parse_args(argv)
    title = args.title or args.stacks.name
    root = write(args.stacks, args.svg, title=title, min_percent=args.min_percent)
    for name, inclusive, own in summary(root):
        print(f"{inclusive:5.1f}% {own:5.1f}%  {name}")


if __name__ == "__main__":
    main()
