"""tierflow routing service: where each customer goes, and the routing API."""
