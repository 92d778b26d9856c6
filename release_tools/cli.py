"""The command line: the task boundary every task runs through, and the `release-tools` program.

`ReleaseTask` is invoke's Task with what every release task shares, written once:

- `--json` (also `release_tools.json`, `RELEASE_TOOLS_JSON=1`): one JSON document on
  stdout, the plan and its outcome; progress goes to stderr;
- `--yes`/`-y` (also `release_tools.assume_yes`) for tasks that change something: do not
  ask before changing anything (runs on a terminal outside CI ask first);
- invoke's own dry run (`invoke -R TASK`, `--dry`, `run.dry: true`) is a dry run of the task;
- the one error boundary: a ReleaseToolsError becomes one line on stderr and exit status 1
  (anything else is a bug and keeps its traceback); a plan's outcome becomes the exit status.

Short flags come from SHORT_FLAGS only, so each means the same in every task, and none
stands for something else than invoke's core flag of the same letter (`invoke -d` is
invoke's debug switch, so the dry run's short flag is `-R`, as invoke's own dry run).
"""

from __future__ import annotations

import inspect
import json
import sys
from typing import Any

from invoke import Config, Executor, Task
from invoke import task as invoke_task
from invoke.exceptions import Exit

from . import __version__

#: The only short flags, each meaning the same in every task. invoke would otherwise pick
#: the first free letter of each name, task by task. None of them differs from a core
#: flag of invoke (`-R` is invoke's dry run too).
SHORT_FLAGS = {
    "dry_run": "R",
    "yes": "y",
    "security": "s",
    "no_mention": "n",
    "version": "v",
    "gitlab_version": "g",
    "to_ref": "t",
    "username": "u",
}

JSON_HELP = "print one JSON document (the plan and its outcome) on stdout; progress goes to stderr"
YES_HELP = "do not ask before changing anything (a terminal outside CI asks first)"


class ReleaseTask(Task):
    """An invoke task run through the release-tools boundary (see the module docstring)."""

    def __init__(self, *args: Any, mutating: bool = True, **kwargs: Any) -> None:
        self.mutating = mutating
        #: The name with its collection (`release_managers.sync`), set by `qualify()`.
        self.qualified_name = ""
        super().__init__(*args, **kwargs)
        self.help = {**self.help, "json": JSON_HELP, **({"yes": YES_HELP} if mutating else {})}

    def argspec(self, body: Any) -> inspect.Signature:
        """The body's own arguments, then `--json` and (for a task that changes something) `--yes`."""
        signature = super().argspec(body)
        extra = [inspect.Parameter("json", inspect.Parameter.KEYWORD_ONLY, default=False)]
        if self.mutating:
            extra.append(inspect.Parameter("yes", inspect.Parameter.KEYWORD_ONLY, default=False))
        taken = set(signature.parameters)
        parameters = list(signature.parameters.values()) + [p for p in extra if p.name not in taken]
        return signature.replace(parameters=sorted(parameters, key=lambda p: p.kind))

    def arg_opts(self, name: str, default: Any, taken_names: set[str]) -> dict[str, Any]:
        opts = super().arg_opts(name, default, taken_names)
        short = SHORT_FLAGS.get(name)
        opts["names"] = [opts["names"][0], *([short] if short else [])]
        return opts

    def __call__(self, context: Any, *args: Any, **kwargs: Any) -> Any:
        flags = {"json": bool(kwargs.pop("json", False)), "yes": bool(kwargs.pop("yes", False))}
        return Boundary(self.qualified_name or self.name, context, **flags).run(self.body, context, *args, **kwargs)


def task(*args: Any, **kwargs: Any) -> Any:
    return invoke_task(*args, klass=ReleaseTask, **kwargs)


class Boundary:
    """One task run: output mode, the error boundary, the JSON document and the exit status."""

    def __init__(self, name: str, context: Any, *, json: bool = False, yes: bool = False) -> None:
        from .config import wants_json

        self.name = name
        self.context = context
        self.json = json or wants_json(context.config)
        tree = context.config.get("release_tools")
        if tree is not None:
            # The task's Settings read the run's mode from the configuration, flags included.
            tree["json"] = self.json
            tree["assume_yes"] = bool(yes or tree.get("assume_yes"))

    def run(self, body: Any, *args: Any, **kwargs: Any) -> Any:
        from . import output
        from .errors import ReleaseToolsError

        output.configure(json=self.json)
        try:
            outcome = body(*args, **kwargs)
        except ReleaseToolsError as error:
            message = output.redact(f"Error: {error}")
            if self.json:
                self._print({"schema": 1, "task": self.name, "status": "error", "exit_status": 1,
                             "steps": [], "error": message.removeprefix("Error: ")})
            raise Exit(message, code=1) from None
        if self.json:
            self._print(_document(self.name, outcome))
        status = getattr(outcome, "exit_status", 0)
        if status:
            raise Exit(code=status)
        return outcome

    @staticmethod
    def _print(document: dict[str, Any]) -> None:
        from .output import redact

        sys.stdout.write(redact(json.dumps(document, indent=2, ensure_ascii=False)) + "\n")
        sys.stdout.flush()


def _document(name: str, outcome: Any) -> dict[str, Any]:
    """The JSON document of an outcome: a Plan's own, or a minimal one for tasks without a plan."""
    if hasattr(outcome, "to_json"):
        return outcome.to_json()
    return {"schema": 1, "task": name, "status": "done", "exit_status": 0, "steps": [], "error": None}


class ReleaseExecutor(Executor):
    """invoke's executor (`tasks.executor_class`), which first checks the configuration it
    is about to merge, so that a malformed file or variable is one line naming the key,
    not invoke's traceback."""

    def execute(self, *tasks: Any) -> Any:
        from .config import check_layers
        from .errors import user_errors

        with user_errors():
            check_layers(self.config.get("release_tools"))
        return super().execute(*tasks)


class ReleaseConfig(Config):
    """invoke's configuration with the project's settings built in, for `release-tools`
    run from any folder (the checkout's `invoke.yaml` says the same for `invoke`)."""

    @staticmethod
    def global_defaults() -> dict[str, Any]:
        defaults = Config.global_defaults()
        defaults["tasks"]["auto_dash_names"] = False
        defaults["tasks"]["executor_class"] = "release_tools.cli.ReleaseExecutor"
        return defaults


def qualify(collection: Any, prefix: str = "") -> None:
    """Tell every task its full name (`release_managers.sync`), for JSON documents and chat."""
    for name, item in collection.tasks.items():
        if isinstance(item, ReleaseTask):
            item.qualified_name = f"{prefix}{name}"
    for name, sub in collection.collections.items():
        qualify(sub, f"{prefix}{name}.")


def program() -> Any:
    """The `release-tools` command: invoke's Program over the same collection."""
    from invoke import Program

    from .tasks import ns

    return Program(
        namespace=ns,
        version=__version__,
        name="release-tools",
        binary="release-tools",
        binary_names=["release-tools"],
        config_class=ReleaseConfig,
    )


def main() -> None:  # pragma: no cover - exercised through subprocess tests
    program().run()
