"""The Prometheus /metrics endpoint of circusd (`metrics_endpoint`): the pure part (histogram.py,
ledgers.py, slots.py, families.py: what is counted and how it is named) and the edges (sockets.py, a
thread reading the listeners through sock_diag; server.py, the HTTP side and the extension)."""
