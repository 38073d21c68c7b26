"""Extension objects, created once and bound to the app in create_app()."""

import threading
import time

from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect
from limits.storage import MemoryStorage

from participation.db import Database


class SweptMemoryStorage(MemoryStorage):
    """`memory://` (it takes that scheme over from the library's class) with expired counters
    swept at most once a second. The library's own starts a sweeping thread after nearly every
    hit: under load that was a millisecond of each rate-limited POST. A counter past its window
    is dropped before it is counted on, so the limits hold exactly as before; the sweep only
    frees memory."""

    STORAGE_SCHEME = ["memory"]
    SWEEP_EVERY = 1.0

    def __init__(self, *args: object, **kwargs: object) -> None:
        self._next_sweep = 0.0
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    def _MemoryStorage__schedule_expiry(self) -> None:  # noqa: N802  (the base's private name)
        now = time.monotonic()
        if now >= self._next_sweep and not self.timer.is_alive():
            self._next_sweep = now + self.SWEEP_EVERY
            self.timer = threading.Timer(0.01, self._MemoryStorage__expire_events)  # type: ignore[attr-defined]
            self.timer.daemon = True
            self.timer.start()

    def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        self.get(key)  # drops the counter if its window is over
        return super().incr(key, expiry, amount)


db = Database()
csrf = CSRFProtect()
login_manager = LoginManager()
babel = Babel()
limiter = Limiter(key_func=get_remote_address, default_limits=[])
