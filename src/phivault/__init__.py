"""phivault: a guarded, encrypted PHI vault and the privacy office that runs on it."""

__version__ = "0.1.0"
