"""Configurations that must stop `invoke` and the ChatOps entrypoint with one line before
anything runs: each case is a runtime file (`-f FILE` or `INVOKE_RUNTIME_CONFIG`; None: the
file does not exist), variables, and the error, where `{path}` is the file and `{source}`
says how it was named."""

from __future__ import annotations

import pytest

PLAIN_HTTP = (
    "release_tools.instances.production.url is plain http:// to gitlab.example.com, where anyone on the way "
    "could read the API token: use https://, or set release_tools.instances.production.insecure_http: true"
)

BAD_CONFIGURATIONS = [
    pytest.param(
        "release_tools: [unclosed\n", {},
        "configuration file {path!r} is not valid YAML: expected ',' or ']', but got '<stream end>' (line 2, column 1)",
        id="yaml-syntax-error",
    ),
    pytest.param(None, {}, "configuration file {path!r} ({source}) does not exist", id="missing-file"),
    pytest.param(
        "release_tools:\n  projets:\n    release_tasks:\n      path: acme/tasks\n", {},
        "release_tools.projets is not a setting; did you mean release_tools.projects?",
        id="unknown-key",
    ),
    pytest.param(
        "release_tools: {}\n", {"INVOKE_RELEASE_TOOLS_INSTANCES": "x"},
        "INVOKE_RELEASE_TOOLS_INSTANCES names a group of settings, not one: set each setting's own variable, "
        "such as INVOKE_RELEASE_TOOLS_INSTANCES_PRODUCTION_URL",
        id="variable-naming-a-group",
    ),
    pytest.param(
        "release_tools:\n  instances:\n    production:\n      url: http://gitlab.example.com\n", {}, PLAIN_HTTP,
        id="plain-http-to-another-host",
    ),
    pytest.param(
        "release_tools:\n  projects:\n    x:\n      path: a/x\n      remotes:\n        path: git@example.com:x.git\n"
        "    x_remotes:\n      path: a/x-remotes\n", {},
        "INVOKE_RELEASE_TOOLS_PROJECTS_X_REMOTES_PATH would set two settings whose names differ only in underscores: "
        "rename one of them",
        id="two-keys-one-variable",  # invoke's AmbiguousEnvVar
    ),
    pytest.param(
        "release_tools: {}\n", {"INVOKE_RUN_WATCHERS": "x"},
        "INVOKE_RUN_WATCHERS cannot be set from the environment (it is a list)",
        id="a-list-of-invokes-own",  # invoke's UncastableEnvVar
    ),
    pytest.param(
        "release_tools: {}\n", {"INVOKE_RELEASE_TOOLS_PUBLISH_CONCURRENCY": "1e3"},
        "INVOKE_RELEASE_TOOLS_PUBLISH_CONCURRENCY must be a whole number, not '1e3'",
        id="a-number-invoke-would-take",
    ),
]
