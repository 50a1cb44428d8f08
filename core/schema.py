"""OpenAPI tweaks shared by the whole API."""
