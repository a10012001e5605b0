"""The HTTP API (FastAPI, versioned under /v1): carriers' queries and the admin endpoints."""
