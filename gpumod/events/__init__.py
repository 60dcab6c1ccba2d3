"""Event types, the append-only log, its hash chain and upcasting."""
