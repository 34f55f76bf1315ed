"""The HTTP API (FastAPI). Routes parse input, call services and render; nothing else."""
