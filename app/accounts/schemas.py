from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

_FORBID = ConfigDict(extra="forbid")


class LoginRequest(BaseModel):
    model_config = _FORBID

    email: str = Field(max_length=254)
    password: str = Field(max_length=1000)
    code: str | None = Field(
        default=None, max_length=40, description="TOTP or recovery code, if two-factor is on"
    )


class UserRead(BaseModel):
    model_config = _FORBID

    id: int
    email: str
    name: str
    role: str
    can_publish: bool
    is_active: bool
    must_change_password: bool
    two_factor: bool
    created_at: datetime


class LoginResponse(BaseModel):
    model_config = _FORBID

    user: UserRead
    csrf_token: str = Field(description="Send as X-CSRF-Token on state-changing requests")
    second_factor_required: bool = Field(
        default=False, description="POST the code to /api/v1/auth/second-factor next"
    )
    password_change_required: bool = False


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


class CodeRequest(BaseModel):
    model_config = _FORBID

    code: str = Field(max_length=40)


class PasswordChange(BaseModel):
    model_config = _FORBID

    current_password: str = Field(max_length=1000)
    new_password: str = Field(max_length=1000)


class PasswordReset(BaseModel):
    model_config = _FORBID

    one_time_password: str


class SessionRead(BaseModel):
    model_config = _FORBID

    id: int
    created_at: datetime
    last_seen_at: datetime | None
    expires_at: datetime
    client: str
    current: bool


class SessionsEnded(BaseModel):
    model_config = _FORBID

    ended: int


class TwoFactorSetup(BaseModel):
    model_config = _FORBID

    secret: str = Field(description="base32, for apps that cannot scan the QR code")
    otpauth_uri: str


class RecoveryCodes(BaseModel):
    model_config = _FORBID

    recovery_codes: list[str] = Field(description="single-use; shown once")
