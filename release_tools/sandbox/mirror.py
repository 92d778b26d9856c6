"""Mirroring a bare remote into a project of an instance, as GitLab holds what was pushed
to it: every commit (SHA, parents, author, message and the few files the tasks read through
the API), branch and tag."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from .projects import add_project
from .repositories import BareRemote
from .repository import add_commit, set_ref

#: The files the mirrors keep (status reads no others).
MIRRORED_FILES = ("VERSION", "Chart.yaml")


def mirror(fake: Any, path: str, bare: BareRemote, files: tuple[str, ...] = MIRRORED_FILES) -> None:
    """Make project `path` of `fake` hold what `bare` holds: every commit (SHA, parents,
    message, the `files` it has), branch and tag. Commits it has already are kept."""
    project = add_project(fake, path)
    known = {c["id"] for c in fake.table("commits") if c["project_id"] == project["id"]}
    log = bare.git("log", "--all", "--topo-order", "--reverse", "--format=%H%x1f%P%x1f%an%x1f%ae%x1f%B%x1e")
    entries = []
    for record in log.split("\x1e"):
        record = record.strip("\n")
        if not record:
            continue
        sha, parents, author, email, message = record.split("\x1f", 4)
        if sha not in known:
            entries.append((sha, parents.split(), author, email, message.rstrip("\n")))
    contents = _blobs(bare.path, [(sha, name) for sha, *_ in entries for name in files])
    for sha, parents, author, email, message in entries:
        tree = {name: contents[(sha, name)] for name in files if contents.get((sha, name)) is not None}
        add_commit(fake, path, message, branch=None, parents=parents, sha=sha, tree=tree,
                   author_name=author, author_email=email)
    for name, sha in bare.branches().items():
        set_ref(fake, path, "branches", name, sha)
    for name, tag in bare.tags().items():
        set_ref(fake, path, "tags", name, tag.commit)


def _blobs(repository: Path, wanted: list[tuple[str, str]]) -> dict[tuple[str, str], str | None]:
    """`sha:path` -> the file's text (None when missing), with one `git cat-file --batch`."""
    if not wanted:
        return {}
    request = "".join(f"{sha}:{name}\n" for sha, name in wanted).encode()
    output = subprocess.run(
        ["git", "cat-file", "--batch"], cwd=repository, input=request, capture_output=True, check=True
    ).stdout
    found: dict[tuple[str, str], str | None] = {}
    position = 0
    for key in wanted:
        end = output.index(b"\n", position)
        header = output[position:end].decode()
        position = end + 1
        if header.endswith(" missing"):
            found[key] = None
            continue
        size = int(header.rsplit(" ", 1)[1])
        found[key] = output[position : position + size].decode()
        position += size + 1
    return found
