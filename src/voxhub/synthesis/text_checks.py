"""Checking a speech request's text before anything is paid or rendered: breaks read, each
piece cleaned, the caller's pronunciation rules applied, the spoken length measured against the
limits, and the engine and language checked against what the text needs."""

from __future__ import annotations

from dataclasses import dataclass

from voxhub.accounts.principal import Principal
from voxhub.container import Container
from voxhub.core.errors import InvalidInput, InvalidText, TextTooLong
from voxhub.credits.schemas import SpeechEstimate
from voxhub.engines.base import Engine
from voxhub.pronunciation.errors import PhonemesUnsupported
from voxhub.pronunciation.lexicon import Lexicon, pronounce
from voxhub.pronunciation.service import lexicon_for
from voxhub.synthesis.schemas import SpeechRequest
from voxhub.text.breaks import MAX_BREAK_S, InvalidBreak, has_break, join_breaks, split_breaks
from voxhub.text.lane import off_loop
from voxhub.text.normalize import normalize_text
from voxhub.text.spoken import in_words


@dataclass(frozen=True)
class CheckedText:
    text: str  # normalised, aliases said, breaks in their canonical spelling
    spoken: int  # characters when spoken
    phonemes: tuple[tuple[str, str], ...] = ()  # phoneme rules the text uses, for the engine
    # The dictionaries' versions it was checked with (id, version), so a job says the same.
    versions: tuple[tuple[str, int], ...] = ()


def check_text(
    text: str,
    language: str,
    limit: int,
    job_limit: int,
    is_job: bool,
    lexicon: Lexicon | None = None,
) -> CheckedText:
    """Normalised text and its spoken length, or a clear refusal when it is empty or too long.

    Its `<break>` tags are read and each piece between them cleaned on its own, with the
    caller's pronunciation rules applied. The limits count what will be spoken: 5,000 digits
    are read as some 30,000 characters of words. Blocking (the whole text plan, linear in its
    length): call it in a thread.
    """
    pieces: list[tuple[str, float]] = []
    phonemes: dict[str, str] = {}
    allowed = job_limit if is_job else limit
    # Aliases may lengthen the text, but not without bound: past this it is too long to speak
    # anyway, and expanding further would hold the text lane for everyone.
    budget = len(text) + allowed
    for piece, pause in split_breaks(text):
        clean = normalize_text(piece)
        if clean and lexicon:
            said = pronounce(lexicon, clean, language, budget)
            budget -= len(said.text) - len(clean)
            clean = normalize_text(said.text)  # an alias is cleaned like the text around it
            phonemes.update(said.phonemes)
        if has_break(clean):
            # Cleaning made a tag of what was not one (`<\u200bbreak`, full-width brackets):
            # it was not read as a pause, so it may not become one when the text is spoken.
            raise InvalidBreak("a break tag is hidden by invisible or full-width characters")
        if not clean and pieces:
            # Nothing to say between two pauses (it cleaned away): they are one pause, within
            # the bound, as the canonical text will be read again when it is spoken.
            before, waited = pieces[-1]
            if waited + pause > MAX_BREAK_S:
                raise InvalidBreak(f"a pause may last up to {MAX_BREAK_S:g} s")
            pieces[-1] = (before, waited + pause)
            continue
        pieces.append((clean, pause))
    if not any(clean for clean, _ in pieces):
        raise InvalidText("text has nothing that can be spoken")
    spoken = sum(len(in_words(clean, language)) for clean, _ in pieces if clean)
    if spoken > allowed:
        per = "job" if is_job else "request"
        hint = ""
        if not is_job and spoken <= job_limit:
            hint = f' Send it with "async": true (up to {job_limit}) or split it.'
        raise TextTooLong(
            f"text is {spoken} characters when spoken ({len(text)} sent); the limit is "
            f"{allowed} spoken characters per {per}.{hint}",
            length=spoken,
            sent=len(text),
            limit=allowed,
        )
    versions = tuple(sorted(lexicon.versions.items())) if lexicon is not None else ()
    return CheckedText(join_breaks(pieces), spoken, tuple(sorted(phonemes.items())), versions)


async def lexicon_of(c: Container, req: SpeechRequest | SpeechEstimate, p: Principal) -> Lexicon:
    """The rules of the dictionaries a request names (404 for one the caller cannot read)."""
    if not req.pronunciation_dictionary_ids:
        return Lexicon()
    pinned = req.pronunciation_dictionary_versions or {}
    named = [(d, pinned.get(d)) for d in req.pronunciation_dictionary_ids]
    async with c.sessions() as session:
        return await lexicon_for(session, named, p)


async def checked_text(
    c: Container, req: SpeechRequest | SpeechEstimate, p: Principal, is_job: bool
) -> CheckedText:
    """`check_text` for a request, with its dictionaries, off the event loop."""
    limits = c.settings.limits
    return await off_loop(
        check_text,
        req.text,
        req.language or "en",
        limits.max_text_chars,
        limits.max_job_text_chars,
        is_job,
        await lexicon_of(c, req, p),
    )


def speaks_text(engine: Engine, checked: CheckedText) -> Engine:
    """`engine`, refused when the text has phoneme rules it cannot take."""
    if checked.phonemes and not engine.info.supports_phonemes:
        raise PhonemesUnsupported(
            f"engine {engine.info.name} takes no phonemes, and the text uses phoneme rules for"
            f" {', '.join(repr(phrase) for phrase, _ in checked.phonemes)}: use alias rules"
            " (respellings), or an engine that takes phonemes",
            engine=engine.info.name,
        )
    return engine


def spoken_language(engine: Engine, language: str | None) -> str:
    """The language to speak in (default English), refused if the engine does not speak it."""
    language = language or "en"
    if language.split("-")[0] not in engine.info.languages:
        raise InvalidInput(
            f"engine {engine.info.name} speaks {', '.join(engine.info.languages)}, not {language}",
            language=language,
        )
    return language
