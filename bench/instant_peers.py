"""Peers that answer at once, for measuring linkage's own part of the code chain alone
(`bench/code_chain.py --instant-peers`): the intermediate server's code acquisition interface
and the 住基GW server's entry point, as linkage's client (linkage/clients/intermediate.py)
calls them, with no national side behind them: a person is `acquired` as soon as linkage has
sent its pair to the 住基GW (S34), `pending` before.

Holds the individual numbers of the open files in memory only, and logs nothing.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class InstantPeers:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.numbers: dict[str, str] = {}  # integrated number -> individual number
        self.files: dict[str, list[str]] = {}
        self.serials = itertools.count(1)
        self.serial_of: dict[str, str] = {}  # processing serial number -> integrated number
        self.sent: set[str] = set()  # integrated numbers whose pair reached the 住基GW
        self.calls: Counter[str] = Counter()

    def answer(self, method: str, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        with self.lock:
            self.calls[f"{method} {path.rsplit('/', 1)[0] if method != 'POST' else path}"] += 1
            if path == "/intermediate/serial-number-requests":
                for request in body["requests"]:
                    self.numbers[request["integrated_number"]] = request["individual_number"]
                return 200, {"results": [{"status": "pending"} for _ in body["requests"]]}
            if path == "/intermediate/code-acquisition-files":
                reception_number = f"R{next(self.serials):012d}"
                self.files[reception_number] = list(body["integrated_numbers"])
                return 201, {"reception_number": reception_number}
            if path.startswith("/intermediate/code-acquisition-files/"):
                reception_number = path.rsplit("/", 1)[1]
                if method == "DELETE":
                    for number in self.files.pop(reception_number, []):
                        self.numbers.pop(number, None)
                    return 204, {}
                entries = []
                for number in self.files.get(reception_number, []):
                    serial = f"{next(self.serials):016d}"
                    self.serial_of[serial] = number
                    entries.append(
                        {
                            "integrated_number": number,
                            "processing_serial_number": serial,
                            "individual_number": self.numbers[number],
                        }
                    )
                return 200, {"entries": entries}
            if path == "/gateway/entries":
                for entry in body["entries"]:
                    self.sent.add(self.serial_of.pop(entry["processing_serial_number"], ""))
                return 200, {"results": [{"status": "accepted"} for _ in body["entries"]]}
            if path == "/intermediate/code-status-inquiries":
                results = [
                    {
                        "integrated_number": number,
                        "status": "acquired" if number in self.sent else "pending",
                    }
                    for number in body["integrated_numbers"]
                ]
                return 200, {"results": results}
            return 200, {}  # notices

    def serve(self, port: int) -> ThreadingHTTPServer:
        peers = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                status, body = peers.answer(self.command, self.path, json.loads(raw or b"{}"))
                content = json.dumps(body).encode() if status != 204 else b""
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            do_GET = do_POST = do_DELETE = _handle

            def log_message(self, format: str, *args: Any) -> None:
                return None

        server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return server
