from __future__ import annotations

from fastapi import APIRouter

from app.accounts.deps import Anyone
from app.places import service
from app.places.schemas import PlaceRead
from app.public import service as public
from app.web.session import SessionDep, UnitOfWorkRoute

router = APIRouter(prefix="/api/v1/places", tags=["places"], route_class=UnitOfWorkRoute)


@router.get("", response_model=list[PlaceRead], summary="The cities, with their provinces")
def list_places(session: SessionDep, who: Anyone) -> list[PlaceRead]:
    """The team sees every city; everyone else (anonymous callers and partner keys) the
    seeded gazetteer and the cities of published clips only."""
    if who.user is not None:
        return service.list_places(session)
    return service.list_places(session, ids=public.public_city_ids(session))
