"""Cross-cutting machinery shared by the tierflow services."""
