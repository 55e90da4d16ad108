"""tierflow profile service: the incremental customer profile."""
