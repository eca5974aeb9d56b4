"""certnet: the one installed namespace.

Its subpackages live in the repository's top-level folders and are mapped in by pyproject.toml's
``[tool.setuptools] package-dir``: ``certnet.node`` is ``node/``, ``certnet.api`` is ``api/``, and so on
(``certnet.contracts`` is ``contracts/``, for the build artifacts). This folder holds only this file.
"""
