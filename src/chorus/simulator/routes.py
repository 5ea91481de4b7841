"""Routes of the simulator: the fakes of the channels' native APIs under
`/simulator/{channel}/...` and the control API under `/simulator/v1/...`."""

from fastapi import APIRouter

from chorus.simulator import control
from chorus.simulator.registry import simulators
from chorus.simulator.whatsapp_templates import control_router as whatsapp_templates

router = APIRouter(tags=["simulator"])
router.include_router(control.router)
router.include_router(whatsapp_templates)
for simulator in simulators().values():
    router.include_router(simulator.router)
