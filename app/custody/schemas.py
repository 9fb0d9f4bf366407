"""What the custody routes return. Hashes are standard base64 (as in checkpoints)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ConsistencyProof(BaseModel):
    """Public: proves the tree of ``from_size`` events is a prefix of the tree of
    ``to_size`` events (RFC 9162 §2.1.4). Reveals no event content."""

    model_config = ConfigDict(extra="forbid")

    from_size: int
    to_size: int
    from_root: str
    to_root: str
    proof: list[str] = Field(description="base64 hashes, RFC 9162 order")


class InclusionProof(BaseModel):
    """Team only: the event, its leaf and the path from it to the root of ``tree_size``."""

    model_config = ConfigDict(extra="forbid")

    event_id: int
    leaf_index: int
    tree_size: int
    leaf_data: str = Field(description="the canonical JSON the leaf hashes (0x00 || data)")
    leaf_hash: str
    root: str
    proof: list[str] = Field(description="base64 hashes, nearest the leaf first")
