"""WSGI server backends: gevent (default), waitress, wsgiref."""
