"""Wall time of `rehearse`: a monthly release and a patch release with 20 picks, each step of
both passes, the seeding of the sandbox and the whole.

The monthly release is `release-tools rehearse 11.1.0`, run as a user runs it. The patch
release is rehearsed in this process (the steps are still the real command, each in a
process of its own), with a sandbox seeded with 10 merge requests labelled `Pick into 11.1`
on each of gitlab-ce and gitlab-ee instead of 3 (`--picks`). Targets: the monthly release,
both passes, under 10 s; the patch release under 15 s.

    python benchmarks/rehearse.py [--picks N] [--monthly VERSION] [--patch VERSION]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from release_tools.sandbox import world  # noqa: E402
from release_tools.version import Version  # noqa: E402

TARGETS = {"monthly": 10.0, "patch": 15.0}
RELEASE_TOOLS = str(Path(sys.executable).parent / "release-tools")


def picks(count: int) -> tuple[tuple[str, str, str], ...]:
    """`count` merge requests to pick (per edition), by two community authors."""
    authors = (("Joe Contributor <joe@example.com>", "joe-contributor"), ("Ann Other <ann@example.com>", "ann-other"))
    return tuple((f"Fix issue number {n}", *authors[n % 2]) for n in range(1, count + 1))


def print_steps(document: dict) -> None:
    print(f"  {'':5}  {'sandbox':14} {document['seed_seconds']:6.2f} s  seeded and started")
    for outcome in document["steps"]:
        print(f"  {'first':5}  {outcome['step']:14} {outcome['seconds']:6.2f} s  {outcome['state']}")
    print(f"  {'':5}  {'status':14} {document['status_seconds']:6.2f} s  the last jobs finished, every phase done")
    for outcome in document["again"]:
        print(f"  {'again':5}  {outcome['step']:14} {outcome['seconds']:6.2f} s  {outcome['state']}")
    print(f"  {'again':5}  {'(side by side)':14} {document['again_changes']['seconds']:6.2f} s  nothing changed")


def monthly(version: str) -> float:
    """`release-tools rehearse VERSION` as a subprocess; its wall time."""
    with tempfile.TemporaryDirectory() as scratch:
        started = time.monotonic()
        completed = subprocess.run(
            [RELEASE_TOOLS, "rehearse", "--json", "--keep", str(Path(scratch) / "sandbox"), version],
            capture_output=True, text=True, cwd=scratch,
        )
        seconds = time.monotonic() - started
    if completed.returncode != 0:
        sys.exit(f"the rehearsal of {version} failed:\n{completed.stderr}")
    document = json.loads(completed.stdout)
    print(f"monthly {version}: {seconds:.2f} s in all (target {TARGETS['monthly']:.0f} s), {document['seconds']:.2f} s rehearsing")
    print_steps(document)
    return seconds


def patch(version: str, count: int) -> float:
    """A patch rehearsal in this process, its sandbox seeded with `count` picks per edition."""
    from release_tools.rehearse import rehearse

    world.PICKS = picks(count)
    with tempfile.TemporaryDirectory() as scratch:
        started = time.monotonic()
        report = rehearse(Version.parse(version), keep=str(Path(scratch) / "sandbox"))
        seconds = time.monotonic() - started
    if report.exit_status:
        sys.exit(f"the rehearsal of {version} failed")
    document = report.to_json()
    print(f"patch {version} with {2 * count} picks: {seconds:.2f} s in all (target {TARGETS['patch']:.0f} s)")
    print_steps(document)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--picks", type=int, default=10, help="merge requests to pick on each of CE and EE")
    parser.add_argument("--monthly", default="11.1.0")
    parser.add_argument("--patch", default="11.1.2")
    args = parser.parse_args()
    import logging

    logging.getLogger("release_tools").disabled = True  # the step lines: the table below says it
    times = {"monthly": monthly(args.monthly), "patch": patch(args.patch, args.picks)}
    missed = [f"{name} {seconds:.1f} s > {TARGETS[name]:.0f} s" for name, seconds in times.items() if seconds > TARGETS[name]]
    print("targets met" if not missed else "targets missed: " + ", ".join(missed))
    sys.exit(1 if missed else 0)


if __name__ == "__main__":
    main()
