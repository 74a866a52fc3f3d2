"""What one spawn of a watcher runs: its argv, environment, fds and limits (the $(circus.*)
variables substituted), built from the config; and the words for a spawn that failed.
"""

from __future__ import annotations

import glob
import os
import shlex
import sys

from circus_web_stack.config.model import WatcherConfig
from circus_web_stack.config.substitution import substitute
from circus_web_stack.core.errors import ClientError
from circus_web_stack.runtime import spawner
from circus_web_stack.runtime.sockets import SocketSet


class SpawnSpecBuilder:
    """Builds SpawnSpecs for one config; the `circus.<option>` variables are computed once per config
    (a spawn of thousands pays once)."""

    def __init__(self, name: str, sockets: SocketSet | None) -> None:
        self.name = name
        self.sockets = sockets
        self.notify_socket: str | None = None
        self._variables_cache: tuple[WatcherConfig, dict[str, str]] | None = None

    def spawn_variables(self, cfg: WatcherConfig, wid: int, env: dict[str, str]) -> dict[str, str]:
        """The $(circus.*) variables of one spawn (PROTOCOL.md 3.8)."""
        variables = dict(self._option_variables(cfg))
        variables["circus.wid"] = str(wid)
        variables["circus.name"] = self.name
        variables["circus.working_dir"] = cfg.working_dir or os.getcwd()
        variables["circus.shell"] = str(cfg.shell)
        if self.sockets is not None:
            for sock_name, fd in self.sockets.fds().items():
                variables[f"circus.sockets.{sock_name}"] = str(fd)
        for key, value in env.items():
            variables[f"circus.env.{key.lower()}"] = value
        return variables

    def _option_variables(self, cfg: WatcherConfig) -> dict[str, str]:
        cached = self._variables_cache
        if cached is None or cached[0] is not cfg:
            options = {
                f"circus.{k}": "" if v is None else str(v)
                for k, v in cfg.option_values().items()
                if not isinstance(v, dict | list)
            }
            cached = self._variables_cache = (cfg, options)
        return cached[1]

    def spawn_env(self, cfg: WatcherConfig) -> dict[str, str]:
        env = dict(os.environ) if cfg.copy_env else {}
        env.update(cfg.env)
        if cfg.copy_path:
            env["PYTHONPATH"] = os.pathsep.join(p for p in [*sys.path, env.get("PYTHONPATH", "")] if p)
        if cfg.virtualenv:
            site = glob.glob(
                os.path.join(cfg.virtualenv, "lib", f"python{cfg.virtualenv_py_ver or '*'}", "site-packages")
            )
            env["PYTHONPATH"] = os.pathsep.join(p for p in [*site, env.get("PYTHONPATH", "")] if p)
            env["PATH"] = os.pathsep.join([os.path.join(cfg.virtualenv, "bin"), env.get("PATH", os.defpath)])
            env["VIRTUAL_ENV"] = cfg.virtualenv
        if self.notify_socket:
            env["NOTIFY_SOCKET"] = self.notify_socket
        return env

    def build(self, cfg: WatcherConfig, wid: int, *, capture_stdout: bool) -> spawner.SpawnSpec:
        env = self.spawn_env(cfg)
        variables = self.spawn_variables(cfg, wid, env)
        env = {k: substitute(v, variables) if "$(" in v or "((" in v else v for k, v in env.items()}
        cmd = substitute(cfg.cmd, variables)
        args = [substitute(a, variables) for a in cfg.args]
        if cfg.shell:
            line = " ".join([cmd, *(shlex.quote(a) for a in args)])
            argv = [line, *shlex.split(cfg.shell_args or "")]
        else:
            argv = shlex.split(cmd) + args
        pass_fds: tuple[int, ...] = ()
        if cfg.use_sockets and self.sockets is not None:
            pass_fds = tuple(sorted(self.sockets.fds().values()))
        stdin_fd = None
        if cfg.stdin_socket:
            bound = self.sockets.get(cfg.stdin_socket) if self.sockets is not None else None
            if bound is None:
                raise ClientError(f"{self.name}: stdin_socket {cfg.stdin_socket!r} is not a bound socket")
            stdin_fd = bound.fd
        return spawner.SpawnSpec(
            argv=argv,
            env=env,
            cwd=cfg.working_dir,
            executable=cfg.executable,
            shell=cfg.shell,
            pass_fds=pass_fds,
            stdin=stdin_fd,
            close_stdin=cfg.close_child_stdin,
            capture_stdout=capture_stdout,
            capture_stderr=not cfg.close_child_stderr,
            close_stdout=cfg.close_child_stdout,
            close_stderr=cfg.close_child_stderr,
            uid=cfg.uid,
            gid=cfg.gid,
            umask=cfg.umask,
            rlimits=dict(cfg.rlimits),
        )


def describe_spawn_failure(cfg: WatcherConfig, exc: Exception) -> str:
    """`cannot spawn 'cmd': ...`, naming the real cause (a missing working_dir is not a missing command)."""
    if isinstance(exc, FileNotFoundError):
        if cfg.working_dir and exc.filename == cfg.working_dir and not os.path.isdir(cfg.working_dir):
            what = f"working_dir {cfg.working_dir!r} does not exist"
        else:
            what = f"command not found: {exc.filename or cfg.cmd!r}"
    elif isinstance(exc, OSError):
        what = f"{exc.strerror or exc} ({exc.filename or cfg.cmd})"
    else:
        what = str(exc)
    return f"cannot spawn {cfg.cmd!r}: {what}"
