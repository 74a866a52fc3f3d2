"""Talking to daemons: `daemon.py` is the blocking client of one circusd's control, event and stats
channels (with CurveZMQ), shared by circusctl, circus-top, the console and plugins."""
