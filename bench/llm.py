"""The embedded LLM alone: load time, time to first token, decode tokens/s, a JSON answer.

Prints JSON: medians over `BENCH_RUNS` replies of up to 64 tokens, each to a different persona so
no reply reuses the previous prompt's cache (a chat's next turn does, and starts faster: that is
`first_token_cached_s`), and the first token after a long uncached history. Also the same decode
with float32 weights instead of int8, the runtime choice this measures. Numbers are printed,
never asserted: the machine is shared and noisy.

    python -m bench.llm
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import time
from typing import Any

from voxhub.llm.embedded import EmbeddedLLM, packaged_model_path
from voxhub.llm.generate import Generator, Request
from voxhub.llm.gguf_file import read_gguf
from voxhub.llm.llama import Llama
from voxhub.llm.port import ChatMessage, Finished, TextDelta, complete
from voxhub.llm.tokenizer import ChatTokenizer
from voxhub.settings import LlmSettings

RUNS = int(os.environ.get("BENCH_RUNS", "5"))
PERSONAS = [
    "You are Mira, a lighthouse keeper.",
    "You are Tom, a retired train driver.",
    "You are Ana, a marine biologist.",
    "You are Leo, a jazz pianist.",
    "You are Ines, a mountain guide.",
]
QUESTION = "Tell me about an ordinary day in your life."
SCHEMA = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "maxLength": 40},
        "age": {"type": "integer"},
        "mood": {"enum": ["cheerful", "grumpy", "calm"]},
    },
    "required": ["name", "age", "mood"],
}


def median(xs: list[float]) -> float:
    return round(statistics.median(xs), 4)


async def one_reply(llm: EmbeddedLLM, persona: str) -> tuple[float, float, int]:
    """(seconds to the first token, decode tokens/s after it, tokens)."""
    messages = [ChatMessage("system", persona), ChatMessage("user", QUESTION)]
    t0 = time.perf_counter()
    first = None
    finished: Finished | None = None
    async for event in llm.stream(messages, max_tokens=64, temperature=0.7):
        if isinstance(event, TextDelta):
            first = first or time.perf_counter()
        else:
            finished = event
    end = time.perf_counter()
    assert first is not None and finished is not None
    rate = (finished.completion_tokens - 1) / (end - first) if end > first else 0.0
    return first - t0, rate, finished.completion_tokens


def float32_rate() -> float:
    """Decode tokens/s of the same model with float32 weights (what int8 was chosen over)."""
    path = packaged_model_path()
    assert path is not None
    model = read_gguf(path)
    gen = Generator(Llama(model, 512, int8=False), ChatTokenizer(model.vocab, model.chat_template))
    rates = []
    for persona in PERSONAS[:3]:
        prompt = gen.tok.encode_chat(
            [ChatMessage("system", persona), ChatMessage("user", QUESTION)]
        )
        req = Request(prompt=prompt, max_tokens=48, temperature=0.7)
        t0 = time.perf_counter()
        out = gen.run(req, lambda _: None)
        rates.append(out.completion_tokens / (time.perf_counter() - t0))
    return median(rates)


async def measure_llm() -> dict[str, Any]:
    llm = EmbeddedLLM(LlmSettings())
    t0 = time.perf_counter()
    await llm.load()
    load_s = time.perf_counter() - t0
    first, rates, cached = [], [], []
    try:
        for i in range(RUNS):
            ttft, rate, _ = await one_reply(llm, PERSONAS[i % len(PERSONAS)])
            first.append(ttft)
            rates.append(rate)
            ttft, _, _ = await one_reply(llm, PERSONAS[i % len(PERSONAS)])  # same prompt again
            cached.append(ttft)
        # A long chat history: ~1,200 prompt tokens, none cached.
        history = " ".join(
            f"Line {i} of the log talks about the sea and the lamp." for i in range(90)
        )
        long_prompt = [ChatMessage("system", PERSONAS[0]), ChatMessage("user", history)]
        t0 = time.perf_counter()
        async for event in llm.stream(long_prompt, max_tokens=2):
            if isinstance(event, TextDelta):
                break
        long_first_s = time.perf_counter() - t0
        long_tokens = llm.count_tokens(long_prompt)
        t0 = time.perf_counter()
        text, _ = await complete(
            llm,
            [ChatMessage("user", "Invent a character for a story.")],
            max_tokens=100,
            temperature=0.7,
            json_schema=SCHEMA,
        )
        json_s = time.perf_counter() - t0
        json.loads(text)
    finally:
        await llm.aclose()
    return {
        "model": llm.info.model,
        "load_s": round(load_s, 2),
        "first_token_s_median": median(first),
        "first_token_cached_s_median": median(cached),
        "tokens_per_s_median": round(statistics.median(rates), 1),
        "long_prompt_tokens": long_tokens,
        "long_prompt_first_token_s": round(long_first_s, 2),
        "json_answer_s": round(json_s, 2),
        "float32_tokens_per_s_median": round(await asyncio.to_thread(float32_rate), 1),
    }


if __name__ == "__main__":
    print(json.dumps(asyncio.run(measure_llm()), indent=2))
