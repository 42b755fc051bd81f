"""Pronunciation dictionary use cases: create, change, delete, and the lexicon of a request."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from voxhub.accounts.principal import Principal, readable
from voxhub.audit import service as audit
from voxhub.core.clock import utcnow
from voxhub.core.errors import InvalidInput
from voxhub.pronunciation.errors import DictionaryNotFound, DictionaryVersionConflict
from voxhub.pronunciation.lexicon import Lexicon
from voxhub.pronunciation.models import PronunciationDictionary
from voxhub.pronunciation.schemas import (
    MAX_RULES,
    AliasRule,
    DictionaryCreate,
    DictionaryUpdate,
    PhonemeRule,
    Rule,
    RulesAdd,
    RulesRemove,
)
from voxhub.text.lane import off_loop

_RULES: TypeAdapter[list[Rule]] = TypeAdapter(list[Rule])


def rules_of(d: PronunciationDictionary) -> list[AliasRule | PhonemeRule]:
    """A dictionary's stored rules, as models (they were validated when written)."""
    return _RULES.validate_python(d.rules)


def _dump(rules: Sequence[AliasRule | PhonemeRule]) -> list[dict[str, object]]:
    return [rule.model_dump() for rule in rules]


def _key(rule: AliasRule | PhonemeRule) -> tuple[str, bool]:
    phrase = rule.string_to_replace
    return (phrase if rule.case_sensitive else phrase.casefold(), rule.case_sensitive)


def _merged(
    old: Sequence[AliasRule | PhonemeRule], new: Sequence[AliasRule | PhonemeRule]
) -> list[AliasRule | PhonemeRule]:
    """`old` with `new` added; a new rule for the same phrase (and case rule) replaces the old
    one in its place, and the last of several new ones for a phrase wins."""
    rules = {_key(rule): rule for rule in old}
    for rule in new:
        rules[_key(rule)] = rule
    if len(rules) > MAX_RULES:
        raise InvalidInput(f"a dictionary holds at most {MAX_RULES} rules", max_rules=MAX_RULES)
    return list(rules.values())


async def create_dictionary(
    session: AsyncSession, data: DictionaryCreate, p: Principal
) -> PronunciationDictionary:
    d = PronunciationDictionary(
        owner_id=p.user_id,
        name=data.name,
        description=data.description,
        rules=_dump(_merged([], data.rules)),
        version=1,
    )
    session.add(d)
    await session.flush()
    audit.record(
        session,
        "pronunciation_dictionary_created",
        actor_id=p.user_id,
        target_type="pronunciation_dictionary",
        target_id=d.id,
        rules=len(d.rules),
    )
    await session.commit()
    return d


async def get_dictionary(
    session: AsyncSession, dictionary_id: str, p: Principal
) -> PronunciationDictionary:
    """A dictionary the caller owns (admins: any); 404 otherwise, as for one that does not exist."""
    d = await session.scalar(
        select(PronunciationDictionary).where(
            PronunciationDictionary.id == dictionary_id,
            readable(p, PronunciationDictionary.owner_id),
        )
    )
    if d is None:
        raise DictionaryNotFound(f"no pronunciation dictionary {dictionary_id!r}")
    return d


async def list_dictionaries(session: AsyncSession, p: Principal) -> list[PronunciationDictionary]:
    rows = await session.scalars(
        select(PronunciationDictionary)
        .where(PronunciationDictionary.owner_id == p.user_id)
        .order_by(PronunciationDictionary.created_at, PronunciationDictionary.id)
    )
    return list(rows)


async def update_dictionary(
    session: AsyncSession, dictionary_id: str, data: DictionaryUpdate, p: Principal
) -> PronunciationDictionary:
    d = await get_dictionary(session, dictionary_id, p)
    if data.name is not None:
        d.name = data.name
    if "description" in data.model_fields_set:  # null clears it
        d.description = data.description or ""
    await session.commit()
    return d


async def add_rules(
    session: AsyncSession, dictionary_id: str, data: RulesAdd, p: Principal
) -> PronunciationDictionary:
    d = await get_dictionary(session, dictionary_id, p)
    rules = _dump(_merged(rules_of(d), data.rules))
    return await _changed(session, d, rules, p, "pronunciation_rules_added", len(data.rules))


async def remove_rules(
    session: AsyncSession, dictionary_id: str, data: RulesRemove, p: Principal
) -> PronunciationDictionary:
    """Remove the rules for these phrases (both case rules); phrases without one are ignored."""
    d = await get_dictionary(session, dictionary_id, p)
    gone = set(data.rule_strings)
    folded = {phrase.casefold() for phrase in gone}
    kept = [
        rule
        for rule in rules_of(d)
        if not (
            rule.string_to_replace in gone
            or (not rule.case_sensitive and rule.string_to_replace.casefold() in folded)
        )
    ]
    removed = len(d.rules) - len(kept)
    return await _changed(session, d, _dump(kept), p, "pronunciation_rules_removed", removed)


async def _changed(
    session: AsyncSession,
    d: PronunciationDictionary,
    rules: list[dict[str, object]],
    p: Principal,
    action: str,
    count: int,
) -> PronunciationDictionary:
    """Store `rules` as the next version, only if no other change came first (a version then
    names one set of rules: two changes from the same version cannot both become the next)."""
    old, dictionary_id = d.version, d.id  # read now: a rollback expires them
    done = await session.execute(
        update(PronunciationDictionary)
        .where(PronunciationDictionary.id == dictionary_id, PronunciationDictionary.version == old)
        .values(rules=rules, version=old + 1, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if getattr(done, "rowcount", 0) != 1:
        await session.rollback()
        raise DictionaryVersionConflict(
            f"dictionary {dictionary_id!r} changed while this change was made: read it and"
            " try again"
        )
    audit.record(
        session,
        action,
        actor_id=p.user_id,
        target_type="pronunciation_dictionary",
        target_id=dictionary_id,
        rules=count,
        version=old + 1,
    )
    await session.commit()
    await session.refresh(d)
    # As this change left it: a later change may already have committed over it.
    set_committed_value(d, "rules", rules)
    set_committed_value(d, "version", old + 1)
    return d


async def delete_dictionary(session: AsyncSession, dictionary_id: str, p: Principal) -> None:
    d = await get_dictionary(session, dictionary_id, p)
    await session.delete(d)
    audit.record(
        session,
        "pronunciation_dictionary_deleted",
        actor_id=p.user_id,
        target_type="pronunciation_dictionary",
        target_id=d.id,
    )
    await session.commit()


async def lexicon_for(
    session: AsyncSession,
    named: Sequence[tuple[str, int | None]],
    p: Principal,
) -> Lexicon:
    """The rules of the named dictionaries (id, and the version the caller expects, if any),
    earlier ones first, with the versions read; 404 for one the caller cannot read, 409 for a
    version not current. Up to 3,000 rules are checked and indexed off the event loop."""
    stored: list[list[Any]] = []
    versions: dict[str, int] = {}
    for dictionary_id, version in named:
        d = await get_dictionary(session, dictionary_id, p)
        if version is not None and version != d.version:
            raise DictionaryVersionConflict(
                f"dictionary {dictionary_id!r} is at version {d.version}; only the current"
                f" version is kept (asked for {version})",
                version=d.version,
            )
        stored.append(d.rules)
        versions[d.id] = d.version
    lexicon = await off_loop(_lexicon, stored)
    lexicon.versions = versions
    return lexicon


def _lexicon(stored: list[list[Any]]) -> Lexicon:
    return Lexicon.of([_RULES.validate_python(rules) for rules in stored])
