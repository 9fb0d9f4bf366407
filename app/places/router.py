from __future__ import annotations

from fastapi import APIRouter

from app.accounts.deps import Anyone
from app.places import service
from app.places.schemas import PlaceRead
from app.web.session import SessionDep, UnitOfWorkRoute

router = APIRouter(prefix="/api/v1/places", tags=["places"], route_class=UnitOfWorkRoute)


@router.get("", response_model=list[PlaceRead], summary="Every known city with its province")
def list_places(session: SessionDep, _: Anyone) -> list[PlaceRead]:
    return service.list_places(session)
