"""The official packs a home lacks, fetched from the model hub without holding up the start.

Cloning blends the English packs shipped inside voxhub; the other languages' packs are extra
stock voices. Fetched before the engine reported ready, they made a fresh home on a slow or
filtered network wait for 26 downloads (a 3 s probe, then up to 30 s each) before its first
enrolment. So the engine starts on what is on disk, and this fetches the rest on a daemon
thread, each pack checked against its pinned sum, then hands the engine the new pack list.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from voxhub.engines.embedded.packs import (
    HF_VOICES_URL,
    OFFICIAL_VOICES,
    SHIPPED_VOICES,
    VoicePack,
    download_packs,
    load_packs,
)
from voxhub.settings import Settings

log = logging.getLogger(__name__)

# (packs, source) as `load_packs` returns them, once the download added any.
OnPacks = Callable[[list[VoicePack], str], None]


class PackDownload:
    """One background fetch of the official packs not shipped and not yet in the home's cache."""

    def __init__(
        self,
        settings: Settings,
        on_packs: OnPacks,
        base_url: str = HF_VOICES_URL,
        probe_timeout: float = 3.0,
    ) -> None:
        self._settings = settings
        self._on_packs = on_packs
        self._base_url = base_url
        self._probe_timeout = probe_timeout
        self.fetched: list[str] = []
        self.started = False
        self._thread = threading.Thread(target=self._run, name="kokoro-packs", daemon=True)

    def start_if_wanted(self, source: str) -> bool:
        """Begin fetching (returns at once) unless the engine's packs come from a configured
        folder (`source` "folder", see `load_packs`) or downloads are off; whether it began."""
        if source != "folder" and self._settings.engine.kokoro_download and not self.started:
            self.started = True
            self._thread.start()
        return self.started

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the fetch (at most `timeout` s); whether it is over (or never began)."""
        if self.started:
            self._thread.join(timeout)
        return not self._thread.is_alive()

    def _run(self) -> None:
        others = [n for n in OFFICIAL_VOICES if n not in SHIPPED_VOICES]
        try:
            self.fetched = download_packs(
                self._settings.cache_dir / "kokoro_voices",
                names=others,
                base_url=self._base_url,
                probe_timeout=self._probe_timeout,
            )
            if self.fetched:
                log.info("downloaded %d voice packs: %s", len(self.fetched), self.fetched)
                self._on_packs(*load_packs(self._settings, download=False))
        except Exception:  # a thread's error would otherwise vanish; the engine keeps its packs
            log.exception("the voice pack download failed; the engine keeps the packs it has")
