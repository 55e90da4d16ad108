"""tierflow scoring service: tiers and churn risk."""
