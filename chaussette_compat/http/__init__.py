"""Pure HTTP/1.1 parts of the server: parsing, environ building, response framing, access log lines.

Rule: nothing in this package touches a socket, a clock or a process; callers pass bytes and `now` in.
"""
