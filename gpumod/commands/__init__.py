"""Commands: validated against projections, then recorded as events."""
