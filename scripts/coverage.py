#!/usr/bin/env python3
"""Prints a line-coverage table per module from `llvm-cov export -summary-only` JSON on stdin.

Usage: llvm-cov export -summary-only BINARY -instr-profile=PROFDATA | scripts/coverage.py [--min PERCENT]
Modules are the folders under Sources/. Exits 1 when the total is below --min.
"""
import json
import os
import sys


def main() -> int:
    minimum = 0.0
    args = sys.argv[1:]
    if args[:1] == ["--min"]:
        minimum = float(args[1])
    data = json.load(sys.stdin)
    root = os.getcwd().rstrip("/") + "/Sources/"
    modules = {}
    for f in data["data"][0]["files"]:
        name = f["filename"]
        if not name.startswith(root):
            continue
        module = name[len(root):].split("/", 1)[0]
        lines = f["summary"]["lines"]
        m = modules.setdefault(module, [0, 0, 0])
        m[0] += lines["count"]
        m[1] += lines["covered"]
        m[2] += 1
    if not modules:
        print("coverage: no Sources/ files in the report", file=sys.stderr)
        return 1
    width = max(len(m) for m in modules) + 2
    print(f"{'Module':<{width}}{'Files':>6}{'Lines':>8}{'Covered':>9}{'Cover':>9}")
    total_lines = total_covered = 0
    for module in sorted(modules):
        count, covered, files = modules[module]
        total_lines += count
        total_covered += covered
        print(f"{module:<{width}}{files:>6}{count:>8}{covered:>9}{100.0 * covered / max(count, 1):>8.2f}%")
    total = 100.0 * total_covered / max(total_lines, 1)
    print(f"{'TOTAL':<{width}}{'':>6}{total_lines:>8}{total_covered:>9}{total:>8.2f}%")
    if total < minimum:
        print(f"coverage: total {total:.2f}% is below the {minimum:.0f}% floor", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
