"""`tierflow bench`: measured figures, printed beside a baseline from the same run (see docs/bench.md)."""
