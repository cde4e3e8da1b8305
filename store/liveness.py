"""Names of the processes that hold work in the store (a fine-tuning worker's job, a batch runner's
batches), and whether the one named may still be alive: a process on this machine that has exited is not,
so its work is taken at once; one on another machine is judged by its heartbeat or lease alone."""

from __future__ import annotations

import os
import secrets
import socket


def process_name(unique: bool = False) -> str:
    """``host:pid`` (with a random suffix when one process holds work under several names)."""
    name = f"{socket.gethostname()}:{os.getpid()}"
    return f"{name}:{secrets.token_hex(4)}" if unique else name


def alive(name: str) -> bool:
    """False only for a process on this machine that no longer exists."""
    host, _, rest = name.partition(":")
    pid = rest.split(":", 1)[0]
    if host != socket.gethostname() or not pid.isdigit():
        return True
    if int(pid) == os.getpid():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: it exists
        return True
    return True
