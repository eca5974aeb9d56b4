"""``certnet.contracts``: the contract build artifacts (``build/*.json``) as package data.

Loaded through importlib.resources (see ``certnet.node.artifacts``), so they are found in a wheel install
without a checkout; the Solidity sources here are only for the compiler (``python -m certnet.node.compiler``).
"""
