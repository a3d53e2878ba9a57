"""The partner and product REST API under /api/v1/."""
