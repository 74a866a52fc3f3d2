"""What the watcher's state machine needs of a config, read once per config (core cannot read config
objects, nor ask the system whether a priority can be given back)."""

from __future__ import annotations

from circus_web_stack.config.model import WatcherConfig
from circus_web_stack.core.settings import FlappingRule, LifecycleSettings, Readiness
from circus_web_stack.runtime.system import System


def lifecycle_settings(cfg: WatcherConfig, system: System) -> LifecycleSettings:
    """What the state machine needs of a config (core cannot read config objects)."""
    spec = cfg.flapping
    return LifecycleSettings(
        numprocesses=cfg.numprocesses,
        warmup_delay_s=cfg.warmup_delay,
        graceful_timeout_s=cfg.graceful_timeout,
        stop_signal=cfg.stop_signal,
        stop_children=cfg.stop_children,
        ready_timeout_s=cfg.ready_timeout,
        readiness=Readiness(cfg.readiness),
        max_age_s=cfg.max_age,
        max_age_variance_s=cfg.max_age_variance,
        respawn=cfg.respawn,
        max_surge=cfg.max_surge,
        scale_down=cfg.scale_down,
        send_hup=cfg.send_hup,
        # No lowering when circusd could not give the priority back.
        startup_nice=cfg.startup_nice if system.can_restore_priority() else 0,
        singleton=cfg.singleton,
        hooks=frozenset(cfg.hooks),
        flapping=FlappingRule(spec.attempts, spec.window, spec.retry_in, spec.max_retry, cfg.max_retry),
    )
