"""nautilus_tls.__version__ comes from the installed package's metadata."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

import pytest

import nautilus_tls
from nautilus_tls import _version


def test_version_is_the_installed_distribution_version() -> None:
    assert nautilus_tls.__version__ == version("nautilus-tls")


def test_version_falls_back_when_the_package_is_not_installed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def missing(name: str) -> str:
        raise PackageNotFoundError(name)

    monkeypatch.setattr(_version, "version", missing)
    assert _version.package_version() == "0+unknown"
