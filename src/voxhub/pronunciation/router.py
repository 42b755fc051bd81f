"""/api/v1/pronunciation-dictionaries: a user's rules for saying words their way.

A speech request names up to three dictionaries in `pronunciation_dictionary_ids`; alias rules
rewrite the text for every engine, phoneme rules (IPA or CMU ARPAbet) go to engines that take
phonemes (the embedded one) and are refused, clearly, by the others.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response, status

from voxhub.accounts.deps import CurrentPrincipal
from voxhub.api.deps import SessionDep
from voxhub.pronunciation import service
from voxhub.pronunciation.models import PronunciationDictionary
from voxhub.pronunciation.schemas import (
    DictionaryCreate,
    DictionaryPage,
    DictionaryRead,
    DictionaryUpdate,
    RulesAdd,
    RulesRemove,
)

router = APIRouter(prefix="/api/v1/pronunciation-dictionaries", tags=["pronunciation"])
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such dictionary of yours (`pronunciation_dictionary_not_found`)"}
}


def _read(d: PronunciationDictionary) -> DictionaryRead:
    return DictionaryRead.model_validate(
        {
            "id": d.id,
            "name": d.name,
            "description": d.description,
            "version": d.version,
            "rules": service.rules_of(d),
            "created_at": d.created_at,
            "updated_at": d.updated_at,
        }
    )


@router.post("", status_code=status.HTTP_201_CREATED, response_model=DictionaryRead)
async def create_dictionary(
    data: DictionaryCreate, session: SessionDep, p: CurrentPrincipal
) -> DictionaryRead:
    """Create a dictionary from rules (up to 1,000; a later rule for a phrase replaces an
    earlier one)."""
    return _read(await service.create_dictionary(session, data, p))


@router.get("", response_model=DictionaryPage)
async def list_dictionaries(session: SessionDep, p: CurrentPrincipal) -> DictionaryPage:
    """Your dictionaries, oldest first."""
    return DictionaryPage(items=[_read(d) for d in await service.list_dictionaries(session, p)])


@router.get("/{dictionary_id}", response_model=DictionaryRead, responses=NOT_FOUND)
async def get_dictionary(
    dictionary_id: str, session: SessionDep, p: CurrentPrincipal
) -> DictionaryRead:
    return _read(await service.get_dictionary(session, dictionary_id, p))


@router.patch("/{dictionary_id}", response_model=DictionaryRead, responses=NOT_FOUND)
async def update_dictionary(
    dictionary_id: str, data: DictionaryUpdate, session: SessionDep, p: CurrentPrincipal
) -> DictionaryRead:
    """Rename or describe a dictionary (its rules and version stay)."""
    return _read(await service.update_dictionary(session, dictionary_id, data, p))


@router.post("/{dictionary_id}/add-rules", response_model=DictionaryRead, responses=NOT_FOUND)
async def add_rules(
    dictionary_id: str, data: RulesAdd, session: SessionDep, p: CurrentPrincipal
) -> DictionaryRead:
    """Add rules; one for a phrase the dictionary has (same case rule) replaces it. Bumps the
    version."""
    return _read(await service.add_rules(session, dictionary_id, data, p))


@router.post("/{dictionary_id}/remove-rules", response_model=DictionaryRead, responses=NOT_FOUND)
async def remove_rules(
    dictionary_id: str, data: RulesRemove, session: SessionDep, p: CurrentPrincipal
) -> DictionaryRead:
    """Remove the rules for these phrases. Bumps the version."""
    return _read(await service.remove_rules(session, dictionary_id, data, p))


@router.delete("/{dictionary_id}", status_code=status.HTTP_204_NO_CONTENT, responses=NOT_FOUND)
async def delete_dictionary(
    dictionary_id: str, session: SessionDep, p: CurrentPrincipal
) -> Response:
    """Delete a dictionary; requests naming it afterwards are answered 404."""
    await service.delete_dictionary(session, dictionary_id, p)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
