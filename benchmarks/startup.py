"""Start-up cost of the CLI, measured against a bare `import invoke`.

Prints the median wall time of `invoke --list`, of a dry-run `monthly_issue`, of the
ChatOps entrypoint answering `tag --help`, and of `python -c "import invoke"` on this
machine, and their ratios.
Targets: `--list` within 1.3x of the bare import, the dry run and the chat help within 1.6x.

    python benchmarks/startup.py [--runs N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGETS = {"invoke --list": 1.3, "dry-run monthly_issue": 1.6, "chatops tag --help": 1.6}


def median_seconds(argv: list[str], runs: int, env: dict[str, str]) -> float:
    subprocess.run(argv, cwd=ROOT, env=env, check=True, capture_output=True)  # warm the file cache
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, cwd=ROOT, env=env, check=True, capture_output=True)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args()

    env = {k: v for k, v in os.environ.items() if not k.startswith("INVOKE_")}
    env.pop("TEST", None)
    python = sys.executable
    baseline = median_seconds([python, "-c", "import invoke"], args.runs, env)
    measured = {
        "invoke --list": median_seconds([python, "-m", "invoke", "--list"], args.runs, env),
        "dry-run monthly_issue": median_seconds(
            [python, "-m", "invoke", "monthly_issue", "11.1.0"], args.runs, {**env, "TEST": "true"}
        ),
        # What a chat user waits for (after the job starts) to read a command's help.
        "chatops tag --help": median_seconds(
            [python, "-m", "release_tools.chatops", "tag"], args.runs, {**env, "CHAT_INPUT": "--help"}
        ),
    }

    print(f"{'command':<28}{'median':>10}{'ratio':>9}{'target':>9}")
    label = 'python -c "import invoke"'
    print(f"{label:<28}{baseline * 1000:>8.1f}ms{1:>9.2f}")
    failed = False
    for name, seconds in measured.items():
        ratio = seconds / baseline
        ok = ratio <= TARGETS[name]
        failed |= not ok
        print(f"{name:<28}{seconds * 1000:>8.1f}ms{ratio:>9.2f}{'<= ' + str(TARGETS[name]):>9}  {'ok' if ok else 'MISSED'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
