"""gunicorn settings for the benchmarks: each worker marks itself ready once it has loaded the
app, so a load starts when both workers serve, not while they are still importing (the app's
import takes seconds; the port is open from the master's first moment)."""

import os
from pathlib import Path


def post_worker_init(worker: object) -> None:
    Path(os.environ["BENCH_READY_DIR"], str(os.getpid())).touch()
