"""Routes of the simulator: the fakes of the channels' native APIs under
`/simulator/{channel}/...` and the control API under `/simulator/v1/...`."""

from fastapi import APIRouter

from chorus.simulator import control
from chorus.simulator.registry import simulators

router = APIRouter(tags=["simulator"])
router.include_router(control.router)
for simulator in simulators().values():
    router.include_router(simulator.router)
