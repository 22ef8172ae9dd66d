"""The embedded broker (no REDIS_URL): kombu's file-system transport, with messages written
atomically.

kombu creates a message's file, then writes it; a consumer that lists the folder in between
moves the empty file away and fails to decode it, and the worker stops with "Unrecoverable
error: JSONDecodeError". Found by bench/concurrent_deploys.py: with beat's schedule in the
worker's own process (and 20 deploys queued at once) a send and a read meet within seconds.
Here a message is written under a name the consumer ignores and renamed into place when
complete (a rename within one folder is atomic), so a consumer sees all of it or nothing.
"""

from __future__ import annotations

import os
import uuid
from time import monotonic

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps


class Channel(filesystem.Channel):
    def _put(self, queue, payload, **kwargs) -> None:
        name = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        # No ".<queue>.msg" in it: the consumer's listing skips it until the rename.
        partial = os.path.join(self.data_folder_out, f".partial-{uuid.uuid4()}")
        try:
            with open(partial, "wb") as out:
                out.write(str_to_bytes(dumps(payload)))
            os.replace(partial, final)
        except OSError as exc:
            raise ChannelError(f"Cannot add file {final!r} to directory: {exc}") from exc


class Transport(filesystem.Transport):
    Channel = Channel
