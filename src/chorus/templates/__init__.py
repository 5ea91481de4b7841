"""Templates v1 and v2 (API.md Part B §7): the store, its API, and their resolution at send
time (`resolve`)."""
