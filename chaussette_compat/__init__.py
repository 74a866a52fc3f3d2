"""A chaussette-compatible WSGI server for sockets inherited from circusd."""
