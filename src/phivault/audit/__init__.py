"""The tamper-evident audit trail (AUD-1, AUD-2, AUD-6)."""
