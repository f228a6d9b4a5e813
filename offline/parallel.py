"""A function run in a forked child while the parent goes on, so a preview's two runs use both cores.

The preview evaluates the program twice: as a new stack's `pulumi preview` (the tree it prints) and
as the resolved `pulumi up` (what it checks and writes). Forking after the imports, before either
run starts any thread, lets them run side by side. Where fork is unavailable (Windows) the
function runs in-process when its result is asked for.
"""

from __future__ import annotations

import os
import pickle
import traceback
from collections.abc import Callable
from typing import Any


class ChildFailed(Exception):
    """The child raised one of the expected errors; the message is its message."""


class InChild:
    def __init__(self, function: Callable[..., Any], *args: Any, expected: tuple[type[BaseException], ...] = ()):
        self._function, self._args, self._expected = function, args, expected
        self._pid = None
        if hasattr(os, "fork"):
            read, write = os.pipe()
            pid = os.fork()
            if pid == 0:  # the child: run, report, leave without running the parent's cleanup
                os.close(read)
                try:
                    payload = ("ok", function(*args))
                except BaseException as error:  # noqa: BLE001 - every failure is reported to the parent
                    payload = ("expected" if isinstance(error, expected) else "unexpected", str(error),
                               traceback.format_exc())
                try:
                    with os.fdopen(write, "wb") as pipe:
                        pickle.dump(payload, pipe)
                except BrokenPipeError:
                    pass  # the parent stopped before asking (it failed on its own): nobody to tell
                os._exit(0)
            os.close(write)
            self._pid, self._read = pid, read

    def discard(self) -> None:
        """Stop waiting for a result that will not be asked for: the child is reaped, not left behind."""
        if self._pid is not None:
            os.close(self._read)
            os.waitpid(self._pid, 0)
            self._pid = None

    def result(self) -> Any:
        if self._pid is None:
            try:
                return self._function(*self._args)
            except self._expected as error:
                raise ChildFailed(str(error)) from None
        with os.fdopen(self._read, "rb") as pipe:
            data = pipe.read()
        os.waitpid(self._pid, 0)
        if not data:
            raise RuntimeError("the forked preview run ended without a result")
        payload = pickle.loads(data)  # noqa: S301 - written by our own child process
        if payload[0] == "ok":
            return payload[1]
        if payload[0] == "expected":
            raise ChildFailed(payload[1])
        raise RuntimeError(f"the forked preview run failed:\n{payload[2]}")
