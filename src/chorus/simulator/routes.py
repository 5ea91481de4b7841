"""Routes of the simulator: the fakes of the channels' native APIs under
`/simulator/{channel}/...` and the control API under `/simulator/v1/...`."""

from fastapi import APIRouter

from chorus.simulator import control, sms

router = APIRouter(tags=["simulator"])
router.include_router(control.router)
router.include_router(sms.router)
