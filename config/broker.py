"""Celery's filesystem transport (the demo's broker without a server), made safe to read.

kombu's own `_put` creates the message file and then writes it; a worker polling the folder
can move and read the file in between, find it empty, fail with "Expecting value: line 1
column 1 (char 0)" and drop the message (celery/kombu#1551; seen here during `make demo`).
Here a message is written under a temporary name, which the reader's filter ignores, and
renamed into place: a rename within one folder is atomic, so a reader sees the whole message
or nothing. Registered under the `filesystem` alias, so `filesystem://` URLs use it.
"""

from __future__ import annotations

import os
import uuid
from time import monotonic
from typing import Any

from kombu.exceptions import ChannelError
from kombu.transport import TRANSPORT_ALIASES, filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps

TEMPORARY_SUFFIX = ".tmp"


class Channel(filesystem.Channel):
    # The signature is kombu's filesystem Channel's, which itself widens AbstractChannel's.
    def _put(self, queue: Any, payload: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        name = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        temporary = final + TEMPORARY_SUFFIX  # "<id>.<queue>.msg.tmp": not a message yet
        try:
            with open(temporary, "wb") as target:
                target.write(str_to_bytes(dumps(payload)))
            os.replace(temporary, final)
        except OSError as exc:
            raise ChannelError(f"Cannot add file {final!r} to directory") from exc


class Transport(filesystem.Transport):
    Channel = Channel


def register() -> None:
    TRANSPORT_ALIASES["filesystem"] = "config.broker:Transport"
