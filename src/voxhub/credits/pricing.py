"""What operations cost, from `settings.credits`. A price of 0 makes the operation free.

Speech is priced per started 1,000 spoken characters: the characters the text limit counts
(`synthesis.text_checks.check_text`: the normalised text with numbers and symbols read out), so
"5,000" costs what "five thousand" costs and a request is never cheaper than its length says.
"""

from __future__ import annotations

from dataclasses import dataclass

from voxhub.settings import CreditSettings

SPEECH_UNIT = 1000  # spoken characters per speech price unit


def speech_cost(prices: CreditSettings, spoken_chars: int) -> int:
    """Credits for speaking `spoken_chars` characters: per started 1,000 (ceil)."""
    per_unit = prices.price_speech_per_1k_chars
    if per_unit == 0 or spoken_chars <= 0:
        return 0
    return -(-spoken_chars // SPEECH_UNIT) * per_unit


def clone_cost(prices: CreditSettings) -> int:
    """Credits for one clone: creating a voice, or adding a reference (a new profile)."""
    return prices.price_clone


def video_cost(prices: CreditSettings) -> int:
    """Credits for one video (seed 001: 1 token per video)."""
    return prices.price_video


def llm_cost(prices: CreditSettings) -> int:
    """Credits for one LLM call (a script generated)."""
    return prices.price_llm_call


@dataclass(frozen=True)
class PriceList:
    speech_per_1k_chars: int
    clone: int
    video: int
    llm_call: int


def price_list(prices: CreditSettings) -> PriceList:
    return PriceList(
        prices.price_speech_per_1k_chars,
        prices.price_clone,
        prices.price_video,
        prices.price_llm_call,
    )
