"""The shipped defaults: GitLab's own release setup, every setting under `release_tools`.

They are the collection layer of invoke's configuration; every other layer (system, user
and project files, `INVOKE_RELEASE_TOOLS_*` variables, the runtime file) overrides them
key by key (release_tools/config.py loads and checks those layers).
"""

from __future__ import annotations

from typing import Any

#: The collection's configuration (`ns.configure({"release_tools": DEFAULTS})` in cli.py).
#: Every key is present, because invoke maps `INVOKE_RELEASE_TOOLS_*` only onto existing keys.
DEFAULTS: dict[str, Any] = {
    # Dry run: print what would happen, make no mutating request and no push (`TEST`).
    "dry_run": False,
    # Security release: use only the `dev` remotes (`SECURITY`).
    "security": False,
    # One JSON document on stdout, the plan and its outcome (`--json`, `RELEASE_TOOLS_JSON=1`).
    "json": False,
    # Do not ask before changing anything (`--yes`).
    "assume_yes": False,
    # On a terminal outside CI, show the plan and ask before changing anything.
    "confirm": True,
    # The day every date is written for (`YYYY-MM-DD`), instead of today; see clock.py.
    "date": "",
    # `insecure_http: true` allows a plain http:// URL to a host other than this machine.
    "instances": {
        "production": {"url": "https://gitlab.com", "token_variable": "GITLAB_API_PRIVATE_TOKEN", "insecure_http": False},
        "dev": {"url": "https://dev.gitlab.org", "token_variable": "DEV_API_PRIVATE_TOKEN", "insecure_http": False},
    },
    # Seconds before an API request is abandoned, and the most seconds one request waits
    # between its retries in all (each retry is said on stderr).
    "api": {"timeout": 30, "max_wait": 60},
    # Remotes are listed in order; the first one is canonical (clones come from it).
    "projects": {
        "ce": {
            "path": "gitlab-org/gitlab-ce",
            "dev_path": "gitlab/gitlabhq",
            "remotes": {
                "dev": "git@dev.gitlab.org:gitlab/gitlabhq.git",
                "gitlab": "git@gitlab.com:gitlab-org/gitlab-ce.git",
            },
        },
        "ee": {
            "path": "gitlab-org/gitlab-ee",
            "dev_path": "gitlab/gitlab-ee",
            "remotes": {
                "dev": "git@dev.gitlab.org:gitlab/gitlab-ee.git",
                "gitlab": "git@gitlab.com:gitlab-org/gitlab-ee.git",
            },
        },
        "omnibus": {
            "path": "gitlab-org/omnibus-gitlab",
            "dev_path": "gitlab/omnibus-gitlab",
            "remotes": {
                "dev": "git@dev.gitlab.org:gitlab/omnibus-gitlab.git",
                "gitlab": "git@gitlab.com:gitlab-org/omnibus-gitlab.git",
            },
        },
        "helm": {
            "path": "charts/gitlab",
            "dev_path": "",
            "remotes": {"gitlab": "git@gitlab.com:charts/gitlab.git"},
        },
        "release_tasks": {
            "path": "gitlab-org/release/tasks",
            "dev_path": "",
            "remotes": {"gitlab": "git@gitlab.com:gitlab-org/release/tasks.git"},
        },
    },
    # Milestones `X.Y` are looked up in the project first, then in this group.
    "milestone_group": "gitlab-org",
    "labels": {
        "release": "Release",
        "security": "security",
        "qa": "QA task",
        "upstream_merge": "CE upstream",
        # The label of merge requests to cherry-pick into a patch or RC; `{minor}` is `11.1`.
        "pick_into": "Pick into {minor}",
    },
    "qa": {
        # Projects (keys of `projects`) whose changes the QA issue lists; EE contains CE.
        "projects": ["ee"],
        # A merge request goes under the first of these labels it has, in this order.
        "team_labels": [
            "Discussion",
            "Platform",
            "CI/CD",
            "Geo",
            "Gitaly",
            "Monitoring",
            "Security Products",
            "frontend",
            "database",
        ],
        # Merge requests with any of these labels need no manual QA and are left out.
        "unpermitted_labels": [
            "Quality",
            "meta",
            "Documentation",
            "Release",
            "test",
            "broken master",
            "CE upstream",
            "development guidelines",
            "static analysis",
            "QA",
        ],
        # Community contributions are checked by whoever merged them, not by their author.
        "community_label": "Community Contribution",
    },
    "publish": {
        # The project (a key of `projects`) whose tag pipelines on the dev instance build the packages.
        "project": "omnibus",
        # Manual jobs of these stages are played; others (e.g. triggers, metrics) are left alone.
        "stages": ["package-release", "image-release", "raspbian-release", "raspbian_release"],
        # How many jobs are started at the same time.
        "concurrency": 4,
    },
    "helm": {
        # GitLab's own subcharts, `<folder>/<name>/Chart.yaml`: they get the chart's version.
        "subcharts_dir": "charts/gitlab/charts",
        # Where a subchart's appVersion comes from: `gitlab` (the GitLab version the chart
        # ships) or a version file of gitlab-ee at that version's tag. Others keep theirs;
        # an empty value removes a shipped entry.
        "subchart_app_versions": {
            "gitaly": "GITALY_SERVER_VERSION",
            "gitlab-shell": "GITLAB_SHELL_VERSION",
            "migrations": "gitlab",
            "sidekiq": "gitlab",
            "unicorn": "gitlab",
            "task-runner": "gitlab",
            "geo-logcursor": "gitlab",
        },
    },
    "upstream_merge": {
        # The remote (of the `ce` and `ee` projects) the merge reads CE from and pushes EE to:
        # the one on the production instance, where the merge request is opened.
        "remote": "gitlab",
        # Who is assigned when no conflicting file's author is a member of EE; the day of
        # the year picks one, so the duty rotates.
        "fallback_assignees": ["dzaporozhets", "vsizov", "rymai", "godfat", "winh"],
    },
    "cherry_pick": {
        # Projects (keys of `projects`: `ce`, `ee`) whose preparation branches get the picks.
        "projects": ["ce", "ee"],
        # The label a picked merge request gets instead of `labels.pick_into` (`{minor}` is
        # `11.1`); empty keeps the `Pick into` label.
        "picked_label": "",
    },
    "slack": {"tag_url": "", "upstream_merge_url": "", "chatops_url": "", "cherry_pick_url": ""},
    # Who may run release tasks through ChatOps; a relative path is relative to the project
    # folder (this checkout when run from one, else the working directory).
    "release_managers_file": "config/release_managers.yml",
    # The group on each instance whose direct members `release_managers.sync` makes match
    # the release managers file, in the order they are synced; empty leaves an instance out.
    "release_manager_groups": {"dev": "gitlab/release/managers", "production": "gitlab-org/release/managers"},
    "chatops": {
        # Commands from this chat channel (`CHAT_CHANNEL`) are security releases.
        "security_channel": "security-release",
        # Bot accounts whose pipelines may act for the user named in `RELEASE_USER`
        # (the original's trigger style); comma-separated, empty trusts none.
        "trusted_relays": "",
        # Seconds after the chat command within which GitLab posts the job's output back.
        "reply_window": 1800,
        # The project whose chat and trigger jobs may run release tasks, per instance: its
        # path or (better: it survives a move) its numeric id; empty allows none. Read from
        # these defaults and this checkout's invoke.yaml only, never from variables,
        # ~/.invoke.yaml or INVOKE_RUNTIME_CONFIG, which whoever starts a pipeline can set.
        "projects": {"production": "gitlab-org/release-tools", "dev": "gitlab/release-tools"},
    },
    # Where tokens may also be read from (KEY=VALUE lines); relative to the working directory.
    "env_file": ".env",
    # Empty: the templates shipped in the package (release_tools/templates); a relative
    # path is relative to the project folder.
    "templates_dir": "",
}
