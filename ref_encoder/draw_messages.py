"""Messages between the encoder and its drawing process (draw_ahead.py, draw_worker.py): each a
tuple, pickled and preceded by its length (8 bytes, little-endian). Both ends are this
encoder's own code on one pipe that it created, so nothing foreign is unpickled."""
from __future__ import annotations

import pickle
import struct
from typing import Any

_LENGTH = struct.Struct("<Q")


def send(stream: Any, message: tuple[Any, ...]) -> None:
    """Writes the message to the binary stream and flushes it."""
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_LENGTH.pack(len(data)))
    stream.write(data)
    stream.flush()


def _read_exactly(stream: Any, size: int) -> bytes:
    data = stream.read(size)
    if data is None or len(data) < size:
        raise EOFError("the other end closed the pipe")
    return bytes(data)


def receive(stream: Any) -> tuple[Any, ...]:
    """The next message of the binary stream; EOFError where it ends."""
    (size,) = _LENGTH.unpack(_read_exactly(stream, _LENGTH.size))
    message = pickle.loads(_read_exactly(stream, size))
    if not isinstance(message, tuple) or not message:
        raise EOFError("not a message: the pipe is out of step")
    return message
