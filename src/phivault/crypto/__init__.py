"""Encryption at rest (I-6): master key provider, tenant keyring, field and file ciphers."""
