"""The installed version of the package, read from its metadata (pyproject.toml's
``version``), so that there is one place to change it."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

DISTRIBUTION = "nautilus-tls"


def package_version() -> str:
    """The version of the installed distribution; ``0+unknown`` when running from a source
    tree that was never installed (no metadata to read)."""
    try:
        return version(DISTRIBUTION)
    except PackageNotFoundError:
        return "0+unknown"


__version__ = package_version()
