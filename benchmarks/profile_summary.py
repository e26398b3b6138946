"""Summarize py-spy collapsed stacks (``py-spy record --format raw``): where does a server spend its CPU?

    python benchmarks/profile_summary.py profiles/gateway-modern.txt profiles/bare-modern.txt

Each sample is charged to the innermost frame that belongs to an "owner" package (uvicorn, h11,
starlette, mcp, mcp_types, sse_starlette, the standard library's logging, or omni_mcp); library code
in between (pydantic, anyio, asyncio, loguru...) is charged to whoever called it. So the omni_mcp
lines are the gateway's own cost, including the library calls it makes, and the rest is what the bare
SDK pays too (plus whatever the gateway makes it do more often, such as logging).
The files also open in https://www.speedscope.app (collapsed stack format) or flamegraph.pl.
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from pathlib import Path

OWNERS = ("omni_mcp/", "starlette/", "mcp/", "mcp_types/", "uvicorn/", "h11/", "sse_starlette/", "logging/")
_FRAME = re.compile(r"^(?P<function>.*) \((?P<file>[^:()]*)(?::(?P<line>\d+))?\)$")


def charge(stack: str) -> tuple[str, str]:
    """(owner package, owner frame) for one collapsed stack."""
    for frame in reversed(stack.split(";")):
        match = _FRAME.match(frame)
        if match is None:
            continue
        file = match["file"]
        if file.startswith(OWNERS):
            package = file.split("/", 1)[0]
            where = f"{match['function']} ({file}:{match['line']})" if match["line"] else frame
            return package, where
    return "(other)", "(other)"


def summarize(path: Path, top: int = 12) -> str:
    packages: Counter[str] = Counter()
    gateway_frames: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        package, where = charge(stack)
        packages[package] += count
        if package == "omni_mcp":
            gateway_frames[where] += count
    if not total:
        return f"{path}: no samples"
    lines = [f"{path}: {total} samples; CPU by owner package:"]
    lines += [f"  {count / total:6.1%}  {package}" for package, count in packages.most_common()]
    if gateway_frames:
        lines.append("  omni_mcp frames (with the library calls they make):")
        lines += [f"    {count / total:6.1%}  {where}" for where, count in gateway_frames.most_common(top)]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    for name in argv:
        print(summarize(Path(name)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
