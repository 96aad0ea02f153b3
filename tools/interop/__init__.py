"""The interoperability matrix runner: ``python -m tools.interop`` (see __main__.py)."""
