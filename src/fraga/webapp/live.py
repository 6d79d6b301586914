"""New documents live without a restart: the app follows the index's ``CURRENT`` generation.

``fraga index`` writes a new generation beside the old one and then switches ``CURRENT`` to it.
:class:`LiveService` stands where the app's :class:`~fraga.webapp.service.Service` stood and hands
every request the Service of the newest generation it has loaded. It looks at ``CURRENT`` at most
once per ``check_seconds``; when the name changed it loads the new generation in a background
thread and swaps it in when it is ready, between requests. A request that began on the old
Service keeps it to the end (it holds the old Service's bound methods), so questions in flight
finish on the old index; the old generation's open files stay readable until they are closed.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fraga.index.generation import current_generation, default_index_dir, load_index
from fraga.webapp.service import Service

logger = logging.getLogger(__name__)

CHECK_SECONDS = 2.0


class LiveService:
    """The Service of the index's current generation, swapped when ``fraga index`` publishes a new one.

    Args:
        service: The Service of the generation loaded now.
        index_dir: The index folder whose ``CURRENT`` is followed. Defaults to $FRAGA_INDEX_DIR or "index".
        check_seconds: Look at ``CURRENT`` at most this often. Defaults to 2.0.
        background: Load a new generation in a background thread (the app); False loads it in
            the request that noticed it (tests). Defaults to True.
        open_service: Makes the Service of a loaded index (and warms it up). Defaults to ``Service``
            with ``warm_up()``.
    """

    def __init__(
        self,
        service: Service,
        index_dir: str | Path | None = None,
        *,
        check_seconds: float = CHECK_SECONDS,
        background: bool = True,
        open_service: Callable[[Any], Service] | None = None,
    ) -> None:
        self._service = service
        self._folder = Path(index_dir or default_index_dir())
        self._generation = service.index.generation
        self._check_seconds = check_seconds
        self._background = background
        self._open = open_service or _warm_service
        self._lock = threading.Lock()
        self._next_check = time.monotonic() + check_seconds
        self._loading: str | None = None  # the generation being loaded
        self._failed: str | None = None  # a generation that could not be loaded (not retried)

    @property
    def generation(self) -> str:
        """The name of the generation served now."""
        return self._generation

    def current(self) -> Service:
        """The Service to serve the next request with (checking ``CURRENT`` when it is time)."""
        now = time.monotonic()
        if now >= self._next_check:
            with self._lock:
                if now >= self._next_check:
                    self._next_check = now + self._check_seconds
                    self._check()
        return self._service

    def __getattr__(self, name: str) -> Any:
        return getattr(self.current(), name)

    def _check(self) -> None:
        """Start loading the generation ``CURRENT`` names when it is new. Called under the lock."""
        try:
            gen = current_generation(self._folder)
        except Exception as exc:  # a damaged CURRENT: keep serving what is loaded
            logger.warning("index CURRENT unreadable (%s); serving %s", exc, self._generation)
            return
        name = gen.name if gen is not None else None
        if name is None or name in (self._generation, self._loading, self._failed):
            return
        self._loading = name
        if self._background:
            threading.Thread(target=self._load, args=(name,), name="fraga-index-reload", daemon=True).start()
        else:
            self._load(name)

    def _load(self, name: str) -> None:
        try:
            index = load_index(self._folder)
            if index.folder.name != name:  # CURRENT moved again meanwhile: take the newer one
                name = index.folder.name
            service = self._open(index)
        except Exception as exc:  # a half-written or broken generation: keep the old one
            logger.warning("new index generation %s not loaded (%s); serving %s", name, exc, self._generation)
            self._failed, self._loading = name, None
            return
        self._service, self._generation, self._loading = service, name, None
        logger.info("serving index generation %s (%d documents)", name, len(index.documents))


def _warm_service(index) -> Service:
    service = Service(index)
    service.warm_up()
    return service
