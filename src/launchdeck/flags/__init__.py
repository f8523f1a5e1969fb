"""Feature flags: definitions, targeting, bucketing and evaluation (issue #4)."""
