"""Workforce accounts, tenant grants and API tokens."""
