"""Logging for rule scripts: everything a step says, its progress bars included, goes to the rule's log."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from tqdm import tqdm

T = TypeVar("T")


@contextmanager
def log_to(path: str | None) -> Iterator[logging.Logger]:
    """Send logging, warnings and stderr (tqdm) of the block to ``path``; re-raise errors after logging them."""
    logger = logging.getLogger("fingerprintml")
    if path is None:
        stream = sys.stderr
    else:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        stream = open(path, "w", buffering=1)  # noqa: SIM115 - closed in finally
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%H:%M:%S"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.WARNING)  # libraries (hiclass logs every local fit at INFO) say only what matters
    logger.setLevel(logging.INFO)
    logging.captureWarnings(True)
    saved_stderr = sys.stderr
    sys.stderr = stream
    try:
        yield logger
    except Exception:
        logger.exception("step failed")
        raise
    finally:
        sys.stderr = saved_stderr
        root.removeHandler(handler)
        if stream is not saved_stderr:
            stream.close()


def progress(items: Iterable[T], desc: str, total: int | None = None) -> Iterator[T]:
    """A tqdm progress bar on stderr (the rule's log inside :func:`log_to`), updated at most every 2 s."""
    return iter(tqdm(items, desc=desc, total=total, mininterval=2.0, file=sys.stderr, ascii=True))
