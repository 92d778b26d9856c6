"""A sandbox kept on disk: what its instances hold, written to `DIR/sandbox.json`, so that a
later process can serve the same world again (a rehearsal finished after a failure).

The bare remotes are on disk already; this file holds the API side: users and their
tokens, groups, projects, issues, merge requests, notes, pipelines and jobs, the id
counters, the tokens of `sandbox.env`, and the address it was served at (served again
there when that port is free, else on a new one, every address in the state moved along).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from ..errors import ReleaseToolsError, quote_path
from ..release_managers import load as load_release_managers
from ..version import Version
from .core import FakeGitLab
from .world import Sandbox

STATE_FILE = "sandbox.json"
#: The version of the file's layout.
SCHEMA = 1


def state_path(root: Path) -> Path:
    return root / STATE_FILE


def save(sandbox: Sandbox) -> Path:
    """Write what the sandbox's instances hold to `DIR/sandbox.json`."""
    state = {
        "schema": SCHEMA,
        "version": str(sandbox.version),
        "url": sandbox.url,
        "tokens": sandbox.tokens,
        "instances": {name: _instance_state(instance) for name, instance in sandbox.instances.items()},
    }
    path = state_path(sandbox.root)
    path.write_text(json.dumps(state))
    path.chmod(0o600)  # it holds the tokens, as sandbox.env does
    return path


def load(root: Path) -> Sandbox:
    """The sandbox kept in `root` (not started). Raises ReleaseToolsError when `root` holds
    no kept sandbox."""
    root = root.absolute()
    path = state_path(root)
    try:
        text = path.read_text()
        state = json.loads(text)
    except (OSError, ValueError):
        raise ReleaseToolsError(f"{quote_path(root)} holds no kept sandbox ({STATE_FILE} is missing or unreadable)") from None
    if not isinstance(state, dict) or state.get("schema") != SCHEMA:
        raise ReleaseToolsError(f"{quote_path(path)} is not a sandbox state this release-tools can read")
    managers = load_release_managers(root / "release_managers.yml")
    old_url = state["url"]
    port = int(old_url.rsplit(":", 1)[1])
    try:
        sandbox = Sandbox(root, Version.parse(state["version"]), managers, port)
    except OSError:  # the port is taken now: serve on another, and say so in every address
        sandbox = Sandbox(root, Version.parse(state["version"]), managers)
        state = json.loads(text.replace(old_url, sandbox.url))
    sandbox.tokens = dict(state["tokens"])
    for name, instance in sandbox.instances.items():
        _restore(instance, state["instances"][name])
    return sandbox


def _instance_state(instance: FakeGitLab) -> dict[str, Any]:
    clock = time.monotonic()
    with instance.lock:
        tables = json.loads(json.dumps(instance.tables))
        for job in tables.get("jobs", []):
            if job.get("played_at") is not None:  # monotonic clocks are per process: keep the age
                job["played_at"] -= clock
        return {
            "tokens": instance.tokens,
            "users": instance.users,
            "groups": instance.groups,
            "projects": instance.projects,
            "repositories": {path: str(where) for path, where in instance.repositories.items()},
            "tables": tables,
            "ids": {kind: _next_id(counter) for kind, counter in instance._ids.items()},
        }


def _next_id(counter: Any) -> int:
    """The value an `itertools.count` gives next, read without taking it (`count(42)`)."""
    return int(repr(counter).removeprefix("count(").removesuffix(")"))


def _restore(instance: FakeGitLab, state: dict[str, Any]) -> None:
    import itertools

    clock = time.monotonic()
    with instance.lock:
        instance.tokens = dict(state["tokens"])
        instance.users = {int(key): value for key, value in state["users"].items()}
        instance.groups = {int(key): value for key, value in state["groups"].items()}
        instance.projects = {int(key): value for key, value in state["projects"].items()}
        instance.repositories = {path: Path(where) for path, where in state["repositories"].items()}
        instance.tables = state["tables"]
        for job in instance.table("jobs"):
            if job.get("played_at") is not None:
                job["played_at"] += clock
            instance.job_tokens[job["token"]] = job
        instance._ids = {kind: itertools.count(value) for kind, value in state["ids"].items()}
