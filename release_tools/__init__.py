"""release-tools: GitLab release automation as invoke tasks."""

__version__ = "0.1.0"
