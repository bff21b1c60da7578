"""The soak run: a synthetic world of sensors fed to a real hub under faults, and a ledger
that proves what the hub stored, exported and published is exactly what the world sent."""
