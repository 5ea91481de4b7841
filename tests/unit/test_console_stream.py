"""The live stream ends when uvicorn is asked to exit, so an open console never holds a
shutdown up."""

import signal

from chorus.console.routes import server_exiting


class FakeServer:
    def __init__(self) -> None:
        self.should_exit = False

    def handle_exit(self, sig: int, frame: object) -> None:
        self.should_exit = True


def test_stream_sees_uvicorn_exiting() -> None:
    previous = signal.getsignal(signal.SIGTERM)
    server = FakeServer()
    signal.signal(signal.SIGTERM, server.handle_exit)
    try:
        assert not server_exiting()
        server.should_exit = True
        assert server_exiting()
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_without_uvicorn_nothing_is_exiting() -> None:
    previous = signal.getsignal(signal.SIGTERM)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        assert not server_exiting()
    finally:
        signal.signal(signal.SIGTERM, previous)
