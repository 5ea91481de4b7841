"""Routes of the simulator (filled in by the simulator work)."""

from fastapi import APIRouter

router = APIRouter(tags=["simulator"])
