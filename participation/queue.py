"""The task queue: Huey on SQLite in instance/ by default, Redis when QUEUE_URL says so.

Tasks are declared with `@task()` at import time and bound to each app's Huey instance in
init_app(), so one code path serves `flask --app app worker`, the web process and the tests.
With QUEUE_IMMEDIATE (tests) a task runs at once in the caller's app context.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any
from urllib.parse import urlparse

from flask import Flask, current_app
from huey import Huey, MemoryHuey, RedisHuey, SqliteHuey, crontab

from participation.db import write_intent

_declared: dict[str, tuple[Callable[..., Any], dict[str, Any]]] = {}


def _name(fn: Callable[..., Any]) -> str:
    return f"{fn.__module__}.{fn.__qualname__}"


def task(**options: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare a task; `options` may hold `periodic=crontab(...)` or `retries=N`.

    Calling the returned function enqueues the task (or runs it at once in immediate mode).
    """

    def decorator(fn: Callable[..., Any]) -> Callable[..., Any]:
        name = _name(fn)
        _declared[name] = (fn, options)

        @functools.wraps(fn)
        def enqueue(*args: Any, **kwargs: Any) -> Any:
            app = current_app._get_current_object()  # type: ignore[attr-defined]
            if app.extensions["huey"].immediate:
                return fn(*args, **kwargs)
            return app.extensions["huey_tasks"][name](*args, **kwargs)

        enqueue.call_local = fn  # type: ignore[attr-defined]
        return enqueue

    return decorator


def make_huey(url: str, *, immediate: bool = False) -> Huey:
    if immediate:
        return MemoryHuey("participation", immediate=True)
    parsed = urlparse(url)
    if parsed.scheme in {"redis", "rediss"}:
        return RedisHuey("participation", url=url)
    if parsed.scheme == "sqlite":
        return SqliteHuey("participation", filename=parsed.path or "queue.db")
    if parsed.scheme == "memory":
        return MemoryHuey("participation")
    raise ValueError(f"QUEUE_URL scheme not supported: {parsed.scheme}")


def init_app(app: Flask) -> None:
    huey = make_huey(app.config["QUEUE_URL"], immediate=app.config.get("QUEUE_IMMEDIATE", False))
    bound: dict[str, Any] = {}
    for name, (fn, options) in _declared.items():
        wrapped = _in_app_context(app, fn)
        if (periodic := options.get("periodic")) is not None:
            bound[name] = huey.periodic_task(periodic, name=name)(wrapped)
        else:
            bound[name] = huey.task(name=name, retries=options.get("retries", 0))(wrapped)
    app.extensions["huey"] = huey
    app.extensions["huey_tasks"] = bound


def _in_app_context(app: Flask, fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Any:
        # Tasks write: on SQLite their transactions take the write lock when they begin.
        with app.app_context(), write_intent():
            return fn(*args, **kwargs)

    return run


__all__ = ["crontab", "init_app", "make_huey", "task"]
