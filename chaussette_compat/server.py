"""Run one worker: patch, import the app, run the pre-hook, open the listener, serve, run the post-hook.

Rule: Chaussette's order (app, pre-hook, socket, serve, post-hook in `finally`), with gevent's monkey
patching before anything imports the app, READY=1 only once the app is imported and the listener is
being accepted on, and a named exit code for each way startup can fail.
"""

from __future__ import annotations

import logging
import os
import sys
import traceback
from typing import Any, TextIO

from .app_loader import AppLoadError, load_app, load_hook
from .backends import BackendError, ServeContext, load_backend
from .exit_codes import EXIT_APP_LOAD_ERROR, EXIT_BIND_ERROR, EXIT_USAGE
from .listener import ListenerError, describe_bound, open_listener
from .logs import configure_logging, open_log_stream
from .metrics_report import Reporter
from .notify import sd_notify
from .options import Options
from .request_metrics import RequestMeter, statsd_prefix

log = logging.getLogger("chaussette")


def _report_load_error(exc: AppLoadError, stream: TextIO) -> None:
    cause = exc.__cause__
    if cause is not None:
        stream.write("".join(traceback.format_exception(cause)))
    log.error("%s", exc.summary)


def _open_reporter(options: Options) -> Reporter | None:
    statsd = options.statsd
    if statsd is None and not options.request_metrics:
        return None
    reporter = Reporter(
        RequestMeter(keep_timings=statsd is not None),
        statsd=statsd,
        prefix=statsd_prefix(options.statsd_prefix),
        to_circusd=options.request_metrics,
    )
    reporter.start()
    if statsd is not None:
        log.info("request figures to statsd at %s", statsd.describe())
    return reporter


def run(options: Options, hook_argument: Any) -> int:
    """Serve until stopped; the process exit code. `hook_argument` is what hooks are called with."""
    stream = open_log_stream(options.log_output)
    configure_logging(options.log_level, stream)
    try:
        backend = load_backend(options.backend)
    except BackendError as exc:
        log.error("%s", exc)
        return EXIT_USAGE
    backend.prepare(options)

    sys.path.extend(options.python_path)
    sys.path.append(os.getcwd())
    try:
        app = load_app(options.app)
        pre_hook = load_hook(options.pre_hook, "--pre-hook") if options.pre_hook else None
        post_hook = load_hook(options.post_hook, "--post-hook") if options.post_hook else None
    except AppLoadError as exc:
        _report_load_error(exc, stream)
        return EXIT_APP_LOAD_ERROR
    log.info("application is %r", app)
    if pre_hook is not None:
        log.info("running the pre-hook %s", options.pre_hook)
        pre_hook(hook_argument)

    try:
        try:
            listener = open_listener(options.listen)
        except ListenerError as exc:
            log.error("%s", exc)
            return EXIT_BIND_ERROR
        log.info(
            "serving on %s with the %s backend (pid %d)",
            describe_bound(listener, options.listen),
            options.backend,
            os.getpid(),
        )
        reporter = _open_reporter(options)
        context = ServeContext(
            log_stream=stream,
            on_ready=lambda: sd_notify("READY=1"),
            on_stopping=lambda: sd_notify("STOPPING=1"),
            requests=reporter.meter if reporter is not None else None,
        )
        try:
            code = backend.serve(app, listener, options, context)
        finally:
            if reporter is not None:
                reporter.close()  # the last interval's figures too
        log.info("exiting with code %d", code)
        return code
    finally:
        if post_hook is not None:
            log.info("running the post-hook %s", options.post_hook)
            post_hook(hook_argument)
