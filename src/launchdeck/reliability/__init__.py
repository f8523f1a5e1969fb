"""Reliability: SLOs (OpenSLO v1), error budgets, burn-rate alerts, Prometheus rules and the
error-budget policy the deploy gate enforces."""
