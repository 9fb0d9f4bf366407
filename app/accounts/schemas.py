from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

_FORBID = ConfigDict(extra="forbid")


class LoginRequest(BaseModel):
    model_config = _FORBID

    email: str = Field(max_length=254)
    password: str = Field(max_length=1000)


class UserRead(BaseModel):
    model_config = _FORBID

    id: int
    email: str
    name: str
    role: str
    can_publish: bool
    is_active: bool
    created_at: datetime


class LoginResponse(BaseModel):
    model_config = _FORBID

    user: UserRead
    csrf_token: str = Field(description="Send as X-CSRF-Token on state-changing requests")


class UserCreate(BaseModel):
    model_config = _FORBID

    email: str = Field(max_length=254)
    name: str = Field(default="", max_length=200)
    role: str = Field(examples=["reviewer"])
    can_publish: bool = False


class UserCreated(BaseModel):
    model_config = _FORBID

    user: UserRead
    one_time_password: str


class UserUpdate(BaseModel):
    model_config = _FORBID

    version: int
    is_active: bool | None = None
    role: str | None = None
    can_publish: bool | None = None
