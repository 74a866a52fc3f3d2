"""The only package that touches os, signal, gevent, zmq and psutil."""
