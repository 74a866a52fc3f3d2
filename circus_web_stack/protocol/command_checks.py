"""The cross-property checks of control commands: rules that tie two properties of one request, or
bound a value beyond its type, named by the command table's rows (`CommandSpec.check`).

Rule: pure; each takes the properties already checked one by one against the table (types,
defaults) and raises ClientError in Circus's message style, naming the property and what would be
valid.
"""

from __future__ import annotations

from circus_web_stack.core.errors import ClientError


def check_signal(props: dict[str, object]) -> None:
    if "childpid" in props and "pid" not in props:
        raise ClientError("cannot specify childpid without pid")


def check_stats(props: dict[str, object]) -> None:
    if "process" in props and "name" not in props:
        raise ClientError("message invalid: 'process' needs 'name', the watcher that pid belongs to")


def check_nb(props: dict[str, object]) -> None:
    nb = props.get("nb")
    if isinstance(nb, int) and nb < 1:
        raise ClientError(f"message invalid: 'nb' must be at least 1, got {nb}")


def check_kill(props: dict[str, object]) -> None:
    timeout = props.get("graceful_timeout")
    if isinstance(timeout, float) and timeout < 0:
        raise ClientError(f"message invalid: 'graceful_timeout' must be 0 or more, got {timeout}")


def check_get(props: dict[str, object]) -> None:
    if props.get("keys") == []:
        raise ClientError("message invalid: 'keys' is empty; name at least one option")


def check_set(props: dict[str, object]) -> None:
    if props.get("options") == {}:
        raise ClientError("message invalid: 'options' is empty; give at least one key and value")
