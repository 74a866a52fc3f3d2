"""circusd-stats: the stats stream of a daemon (processes from /proc, listeners from sock_diag)."""
