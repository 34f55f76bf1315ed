"""Data shipped with phivault's identity package: the password blocklist (see NOTICE)."""
