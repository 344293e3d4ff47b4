"""Bundled data: the project's judges/ and prompts/ folders, shipped inside the package.

pyproject.toml maps them to ``evalkit._bundled.judges`` and ``evalkit._bundled.prompts``;
``evalkit.catalog`` finds them.
"""
