"""Process exit codes of `chaussette`, one name each (gunicorn's APP_LOAD_ERROR is 4; we keep that).

Rule: every sys.exit in the package uses one of these names.
"""

EXIT_OK = 0
#: An unexpected error inside the server itself (a bug: the traceback is logged).
EXIT_SOFTWARE = 1
#: Bad command line (argparse also exits with 2).
EXIT_USAGE = 2
#: The application (or a --pre-hook/--post-hook) could not be imported or is not callable.
EXIT_APP_LOAD_ERROR = 4
#: The listening socket could not be bound, or the inherited --fd is not a listening socket.
EXIT_BIND_ERROR = 5
