"""Tenants: the client agencies and covered entities that own their data (ACC-5)."""
