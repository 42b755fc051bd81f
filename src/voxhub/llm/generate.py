"""The embedded model's decode loop (blocking: it runs on the LLM's own thread): prefill with the
cached prefix reused, sample token by token, detokenize incrementally, stop on end of turn, a stop
string, the token budget or a cancel; with a schema, every token goes through `JsonGuide`."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from voxhub.core.errors import LlmBadOutput
from voxhub.llm.json_guide import JsonGuide, State
from voxhub.llm.llama import Llama
from voxhub.llm.port import ChatMessage, FinishReason
from voxhub.llm.tokenizer import ChatTokenizer

PREFILL_BLOCK = 128  # prompt tokens per forward call: a cancel waits for one block at most
REPEAT_WINDOW, REPEAT_PENALTY = 64, 1.1  # llama.cpp's defaults; tiny models loop without it
TOP_K, TOP_P = 40, 0.95
GUIDE_CANDIDATES = 256  # best-scored tokens offered to the JSON guide before all the rest


@dataclass
class Request:
    prompt: list[int]
    max_tokens: int
    temperature: float
    stop: Sequence[str] = ()
    guide: JsonGuide | None = None
    seed: int | None = None
    cancel: threading.Event = field(default_factory=threading.Event)


@dataclass
class Outcome:
    reason: FinishReason
    completion_tokens: int
    cancelled: bool = False


class Generator:
    """One model and its key/value cache; not thread-safe (one request at a time)."""

    def __init__(self, net: Llama, tokenizer: ChatTokenizer) -> None:
        self.net = net
        self.tok = tokenizer
        self.cached: list[int] = []  # the tokens whose keys and values the cache holds, in order
        self.end_ids = {tokenizer.vocab.eos} | {
            i for i, t in enumerate(tokenizer.vocab.tokens) if t in ("<|endoftext|>", "<|im_end|>")
        }

    def run(self, req: Request, emit: Callable[[str], None]) -> Outcome:
        """Generate for `req`, passing each new piece of text to `emit`."""
        logits = self._prefill(req)
        if logits is None:
            return Outcome("stop", 0, cancelled=True)
        seed = req.seed if req.seed is not None else int.from_bytes(os.urandom(4))
        generator = torch.Generator().manual_seed(seed)
        out: list[int] = []
        text = emitted = ""
        hold = max((len(s) for s in req.stop), default=1) - 1
        state = req.guide.start if req.guide else None
        reason: FinishReason = "length"
        while len(out) < req.max_tokens:
            if req.cancel.is_set():
                return Outcome("stop", len(out), cancelled=True)
            if req.guide is not None:
                assert state is not None
                token, state = self._guided(req, req.guide, state, logits, out, generator)
            else:
                token = self._sample(logits, out, req.temperature, generator)
            if token in self.end_ids:
                reason = "stop"
                break
            out.append(token)
            text = self.tok.decode(out)
            cut = _find_stop(text, req.stop)
            if cut is not None:
                text, reason = text[:cut], "stop"
                break
            # Hold back an unfinished UTF-8 character and what might begin a stop string.
            ready = len(text) - hold if req.stop else len(text)
            if text.endswith("\ufffd"):
                ready = min(ready, len(text) - 1)
            if ready > len(emitted):
                emit(text[len(emitted) : ready])
                emitted = text[:ready]
            if req.guide is not None and state is not None and req.guide.done(state):
                reason = "stop"
                break
            if len(self.cached) >= self.net.context:
                break  # the window is full: "length"
            logits = self.net.forward([token], len(self.cached))
            self.cached.append(token)
        if len(text) > len(emitted):
            emit(text[len(emitted) :])
        return Outcome(reason, len(out))

    def _prefill(self, req: Request) -> torch.Tensor | None:
        prompt = req.prompt
        # A chat's next prompt repeats the last one: its cached prefix needs no recompute.
        common = 0
        for a, b in zip(self.cached, prompt[:-1], strict=False):
            if a != b:
                break
            common += 1
        self.cached = self.cached[:common]
        logits = None
        for start in range(common, len(prompt), PREFILL_BLOCK):
            if req.cancel.is_set():
                return None
            block = prompt[start : start + PREFILL_BLOCK]
            logits = self.net.forward(block, start)
            self.cached += block
        return logits

    def _sample(
        self, logits: torch.Tensor, out: list[int], temperature: float, gen: torch.Generator
    ) -> int:
        logits = _penalise_repeats(logits, out)
        if temperature <= 1e-3:
            return int(logits.argmax())
        top, ids = torch.topk(logits / temperature, TOP_K)
        probs = torch.softmax(top, dim=-1)
        # Nucleus: keep the smallest set of tokens that holds TOP_P of the probability.
        keep = torch.cumsum(probs, dim=-1) - probs < TOP_P
        probs = probs * keep
        return int(ids[torch.multinomial(probs / probs.sum(), 1, generator=gen)])

    def _guided(
        self,
        req: Request,
        guide: JsonGuide,
        state: State,
        logits: torch.Tensor,
        out: list[int],
        gen: torch.Generator,
    ) -> tuple[int, State]:
        """The best (or a sampled) token that keeps the answer a valid prefix."""
        # Inside a JSON string a tiny model loops as readily as in prose ("moods.moods.…"
        # until the budget ran out, in CI): the same penalty as unguided sampling.
        logits = _penalise_repeats(logits, out)
        order = torch.argsort(logits, descending=True).tolist()
        wanted = 1 if req.temperature <= 1e-3 else 8
        found: list[tuple[int, State]] = []
        for rank, token in enumerate(order):
            if rank == GUIDE_CANDIDATES and found:
                break
            data = self.tok.token_bytes[token]
            if data is None:
                if token in self.end_ids and guide.can_end(state):
                    found.append((token, state))
            elif (nxt := guide.feed(state, data)) is not None:
                found.append((token, nxt))
            if len(found) >= wanted:
                break
        if not found:
            raise LlmBadOutput("No token continues the JSON answer.")
        if len(found) == 1:
            return found[0]
        scores = torch.tensor([float(logits[t]) for t, _ in found]) / req.temperature
        pick = int(torch.multinomial(torch.softmax(scores, dim=-1), 1, generator=gen))
        return found[pick]


def _penalise_repeats(logits: torch.Tensor, out: list[int]) -> torch.Tensor:
    """`logits` with the tokens of the last REPEAT_WINDOW made less likely (a copy)."""
    logits = logits.clone()
    recent = torch.tensor(sorted(set(out[-REPEAT_WINDOW:])), dtype=torch.long)
    if len(recent):
        picked = logits[recent]
        logits[recent] = torch.where(picked > 0, picked / REPEAT_PENALTY, picked * REPEAT_PENALTY)
    return logits


def _find_stop(text: str, stops: Sequence[str]) -> int | None:
    hits = [i for s in stops if s and (i := text.find(s)) >= 0]
    return min(hits) if hits else None


def with_schema_hint(messages: Sequence[ChatMessage], schema: dict[str, Any]) -> list[ChatMessage]:
    """`messages` with the schema spelled out in the system turn (small models need the hint;
    the guide makes the answer valid, the hint makes it sensible)."""
    hint = (
        "Answer with only one JSON value, no other text, matching this JSON Schema: "
        + json.dumps(schema)
    )
    if messages and messages[0].role == "system":
        return [ChatMessage("system", f"{messages[0].content}\n\n{hint}"), *messages[1:]]
    return [ChatMessage("system", hint), *messages]
