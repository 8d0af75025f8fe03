"""Background jobs; each takes ids, opens its own database connection and writes results to rows."""
