"""Infrastructure the project can start by itself (the embedded default)."""
