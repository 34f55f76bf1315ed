"""Storage: engine, sessions, declarative base and migrations."""
