"""seconds_to_brief over the shared examples (in-memory sources): median and p95.

    .venv/bin/python benchmarks/investigate.py [DIR] [--repeat N]

Ends with one line: ``investigate_median_s=... investigate_p95_s=...`` (target median < 0.5 s).
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

from bot.investigation.drill import run_drill
from bot.scenarios import load_scenario

DEFAULT = Path("/work/shared/scenarios/examples")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("directory", nargs="?", type=Path, default=DEFAULT)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    times: list[float] = []
    for p in sorted(args.directory.glob("*.yaml")):
        sc = load_scenario(p)
        for _ in range(args.repeat):
            times.append(float(run_drill(sc, direct=True)["seconds_to_brief"]))
        print(f"{sc.id}: {times[-1]:.3f}s")
    if not times:
        print("no scenarios", file=sys.stderr)
        return 1
    times.sort()
    p95 = times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))]
    print(f"investigate_median_s={statistics.median(times):.3f} investigate_p95_s={p95:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
