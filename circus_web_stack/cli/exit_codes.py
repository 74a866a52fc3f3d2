"""Every exit status of the cli programs (circusd, circusctl, circusd-stats, circus-top, make run).

Rule: a status is named once, here; where sysexits.h has a fitting code it is used, so that init
systems and scripts read the same meaning as for other daemons.
"""

from __future__ import annotations

import signal

EXIT_OK = 0
EXIT_ERROR_REPLY = 1  # circusctl: the daemon answered with an error
EXIT_SETUP = 1  # make run: the example could not be prepared
EXIT_USAGE = 2  # the command line is wrong; for circusctl, nothing was sent
EXIT_UNREACHABLE = 3  # circusctl: no reply (not running, wrong endpoint, permissions, timeout)
EXIT_DAEMON_GONE = 69  # sysexits EX_UNAVAILABLE: circusd-stats' daemon went away
EXIT_BIND = 71  # sysexits EX_OSERR: a socket or endpoint could not be bound
EXIT_PIDFILE = 73  # sysexits EX_CANTCREAT
EXIT_CONFIG = 78  # sysexits EX_CONFIG
EXIT_CLOSED_PIPE = 128 + signal.SIGPIPE  # stdout's reader went away: what a shell shows for SIGPIPE
