"""The score of ``make mutate``, per module: mutmut's results (``mutants/**/*.py.meta``) read
the way ``mutmut results`` reads them (mutmut.stats.status_by_exit_code).

Killed: a test failed (or the mutant never finished: a timeout is caught too). Survived: every
test passed, or none ran it. ``python -m perfaudit.tests.mutation_score [--min 85]`` prints the
table and, with ``--min``, exits 1 when the total is below that percentage.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from mutmut.stats import status_by_exit_code

DETECTED = {"killed", "timeout", "caught by type check", "segfault"}


def scores(root: Path) -> dict[str, tuple[int, int]]:
    """module path -> (killed, total)."""
    result = {}
    for meta in sorted(root.glob("**/*.py.meta")):
        codes = json.loads(meta.read_text())["exit_code_by_key"]
        statuses = [status_by_exit_code[code] for code in codes.values()]
        module = str(meta.relative_to(root)).removesuffix(".meta")
        result[module] = (sum(s in DETECTED for s in statuses), len(statuses))
    return result


def table(found: dict[str, tuple[int, int]]) -> tuple[str, float]:
    width = max((len(m) for m in found), default=6)
    lines = [f"{'module':<{width}}  {'killed':>6}  {'total':>5}  {'score':>6}"]
    killed = total = 0
    for module, (k, n) in found.items():
        lines.append(f"{module:<{width}}  {k:>6}  {n:>5}  {100 * k / n if n else 0:>5.1f}%")
        killed, total = killed + k, total + n
    share = 100 * killed / total if total else 0.0
    lines.append(f"{'all':<{width}}  {killed:>6}  {total:>5}  {share:>5.1f}%")
    return "\n".join(lines), share


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mutants", default="mutants", help="mutmut's directory")
    parser.add_argument("--min", type=float, help="exit 1 below this total percentage")
    args = parser.parse_args(argv)
    found = scores(Path(args.mutants))
    if not found:
        print(f"no mutmut results under {args.mutants}/ (run mutmut first)", file=sys.stderr)
        return 2
    text, share = table(found)
    print(text)
    if args.min is not None and share < args.min:
        print(f"mutation score {share:.1f}% is below {args.min:g}%", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
