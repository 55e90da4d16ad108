"""tierflow notification service: turns routing decisions into governed outreach."""
