"""Fuzz targets for the sans-I/O core (atheris, with a plain random fallback).

See docs/fuzzing.md: ``python tests/fuzz/run.py --target server --seconds 60``.
"""
