"""The ``phivault`` command line (Typer + Rich)."""
