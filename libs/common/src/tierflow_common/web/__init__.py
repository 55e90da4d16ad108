"""The conventions every tierflow HTTP API shares: error bodies, bearer auth and scopes, rate limits."""
