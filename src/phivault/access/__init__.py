"""The guard (I-1): every read, write, list, download and export of PHI passes through here."""
