"""Helpers that every layer of graphnets shares: one rule for seeds, one for argument checks.

Nothing here imports the rest of graphnets, so any module may use it. The names are public
within the package (no leading underscore) but not part of the user-facing API.
"""
