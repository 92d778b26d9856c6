"""`release-tools sandbox`: a sandbox in the foreground, until Ctrl-C (or SIGTERM).

It seeds a release world in a folder, writes the configuration that points release-tools
at it, says how to use it, serves, and on a stop signal shuts the server down and leaves
the folder for inspection: `sandbox.yaml`, `sandbox.env`, `release_managers.yml`, the bare
remotes under `remotes/` and the request log `requests.jsonl`.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from .. import output
from ..errors import Interrupted, quote_path
from ..version import Version
from .world import INSTANCES, Sandbox

#: The line that says the sandbox serves (tests and scripts wait for it).
READY = "Ready: the sandbox serves until Ctrl-C"


def serve(version: Version, directory: str = "") -> Sandbox:
    """Seed a sandbox for `version` in `directory` (a new temporary folder when empty),
    serve it until a stop signal, and return it, stopped."""
    root = Path(directory) if directory else Path(tempfile.mkdtemp(prefix="release-tools-sandbox-"))
    sandbox = Sandbox.create(root, version)
    output.protect(*sandbox.tokens.values())
    config, _ = sandbox.write_configuration()
    sandbox.server.request_log = sandbox.root / "requests.jsonl"
    sandbox.server.request_log.touch()
    with sandbox:
        try:  # from here on, a stop signal is the way to end the sandbox, not an error
            _say_how_to_use(sandbox, config, version)
            output.result(READY)
            while True:
                time.sleep(3600)
        except Interrupted:
            pass
    output.result(f"Stopped; the folder stays: {quote_path(sandbox.root)}")
    return sandbox


def _say_how_to_use(sandbox: Sandbox, config: Path, version: Version) -> None:
    shown = quote_path(config)
    output.result(f"Sandbox of {version}: {sandbox.url}")
    for name, instance in sandbox.instances.items():
        output.result(f"  {name} ({INSTANCES[name]}): {instance.url}")
    output.result(f"Folder: {quote_path(sandbox.root)}")
    output.result(f"  sandbox.yaml  the configuration: release-tools -f {shown} TASK")
    output.result(f"  sandbox.env   the tokens (named by sandbox.yaml; {', '.join(sandbox.environ())})")
    output.result("  remotes/      the bare git remotes, remotes/<instance>/<project path>.git")
    output.result("  requests.jsonl  every request the sandbox answered")
    output.result("Try:")
    for command in ("status", "monthly_issue" if version.is_monthly else "patch_issue", "tag"):
        output.result(f"  release-tools -f {shown} {command} {version}")
