"""OSCQuery: the engine's OSC namespace as JSON over HTTP, value streaming over WebSocket, mDNS.

Clients such as TouchOSC, Chataigne or VDMX browse the controls instead of having addresses typed
in. Following the OSCQuery proposal (Vidvox):

- ``GET /<path>`` returns the node as JSON: FULL_PATH, CONTENTS (containers), TYPE (an OSC type
  tag: ``f``, ``i``, ``T`` for booleans, ``N`` for triggers), VALUE (a one-element array), RANGE
  (``[{"MIN": .., "MAX": ..}]`` or ``[{"VALS": [...]}]``), ACCESS (1 read, 2 write, 3 both) and
  DESCRIPTION. ``GET /<path>?VALUE`` (or any other attribute) returns just that attribute;
  ``GET /?HOST_INFO`` the server's name, OSC port and transport and its extensions. An unknown
  path is 404, an attribute the node does not have 204, an unknown attribute 400.
- A WebSocket on the same port takes ``{"COMMAND": "LISTEN", "DATA": "<path>"}`` and
  ``{"COMMAND": "IGNORE", "DATA": "<path>"}``; each change of a listened value is sent as a
  binary OSC message (the address and its new value). When the scene changes, every client gets
  ``{"COMMAND": "PATH_CHANGED", "DATA": "/echoel"}``.
- mDNS (zeroconf), when enabled: ``_oscjson._tcp`` (this server) and ``_osc._udp`` (the OSC
  input), announced only on the interface the server is bound to (every interface if bound to
  0.0.0.0).

The nodes are the targets of the running scene (`live.control.osc_namespace`) and, write-only,
the companion-app addresses of the devices heard so far.

Threads: the server runs an asyncio loop on its own thread ("oscquery"). The render thread hands
it immutable snapshots through `publish` (namespace and changed values); nothing here touches the
engine.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import socket
import threading
import urllib.parse
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from live.control.bio import BIO_PREFIX, SCHEMA
from live.control.osc import OscError
from live.control.osc_namespace import (
    ACCESS_WRITE,
    TYPE_TAGS,
    Namespace,
    TargetInfo,
    target_address,
)
from live.control.osc_out import encode

log = logging.getLogger(__name__)

#: Attributes a client may ask for with ``?NAME``.
ATTRIBUTES = ("FULL_PATH", "CONTENTS", "TYPE", "VALUE", "RANGE", "ACCESS", "DESCRIPTION")
EXTENSIONS = {
    "ACCESS": True, "VALUE": True, "RANGE": True, "DESCRIPTION": True, "TAGS": False,
    "CLIPMODE": False, "UNIT": False, "CRITICAL": False, "EXTENDED_TYPE": False,
    "OVERLOADS": False, "HTML": False, "LISTEN": True, "PATH_CHANGED": True,
    "PATH_ADDED": False, "PATH_REMOVED": False, "PATH_RENAMED": False,
}
#: Changed values waiting to be sent to one slow WebSocket client before the oldest is dropped.
CLIENT_QUEUE = 1024
#: At most this many WebSocket clients at once.
MAX_CLIENTS = 32


@dataclass(frozen=True)
class OscQuerySettings:
    """Where OSCQuery is served and what it announces. Immutable; any thread.

    Attributes:
        host: address to bind the HTTP/WebSocket server to.
        port: TCP port (0 picks a free one).
        name: the name clients show.
        osc_port: the UDP port of the OSC input (HOST_INFO and the _osc._udp announcement).
        mdns: announce over mDNS.
    """

    host: str = "127.0.0.1"
    port: int = 9001
    name: str = "Echoel Live"
    osc_port: int = 9000
    mdns: bool = False

    @classmethod
    def from_config(cls, cfg: Any, osc_port: int | None = None) -> OscQuerySettings:
        """Settings from a `live.config.Config` (oscquery.* keys)."""
        return cls(host=str(cfg.get("oscquery.host", "127.0.0.1")),
                   port=int(cfg.get("oscquery.port", 9001)),
                   name=str(cfg.get("oscquery.name", "Echoel Live")),
                   osc_port=int(osc_port if osc_port is not None else cfg.get("osc.port", 9000)),
                   mdns=bool(cfg.get("oscquery.mdns", False)))


# --------------------------------------------------------------------------------------------
# The tree (pure functions, any thread)


def _leaf(info: TargetInfo, value: float | None) -> dict[str, Any]:
    node: dict[str, Any] = {"FULL_PATH": info.address, "TYPE": TYPE_TAGS[info.type],
                            "ACCESS": info.access, "DESCRIPTION": info.description}
    if info.values:
        node["RANGE"] = [{"VALS": list(info.values)}]
    elif info.lo is not None or info.hi is not None:
        rng: dict[str, float] = {}
        if info.lo is not None:
            rng["MIN"] = info.lo
        if info.hi is not None:
            rng["MAX"] = info.hi
        node["RANGE"] = [rng]
    if value is not None and info.access != ACCESS_WRITE:
        node["VALUE"] = [_json_value(info, value)]
    return node


def _json_value(info: TargetInfo, value: float) -> Any:
    if TYPE_TAGS[info.type] == "T":
        return bool(value >= 0.5)
    if TYPE_TAGS[info.type] == "i":
        return int(round(value))
    return float(value)


def build_tree(namespace: Namespace, values: dict[str, float],
               devices: Iterable[str] = ()) -> dict[str, Any]:
    """The whole namespace as an OSCQuery root node."""
    root: dict[str, Any] = {"FULL_PATH": "/", "ACCESS": 0, "DESCRIPTION": "Echoel Live",
                            "CONTENTS": {}}

    def container(path_parts: list[str]) -> dict[str, Any]:
        node = root
        for i, part in enumerate(path_parts):
            contents = node.setdefault("CONTENTS", {})
            child = contents.get(part)
            if child is None:
                child = contents[part] = {"FULL_PATH": "/" + "/".join(path_parts[:i + 1]),
                                          "ACCESS": 0, "CONTENTS": {}}
            node = child
        return node

    for info in namespace.targets:
        parts = info.address.strip("/").split("/")
        parent = container(parts[:-1])
        parent.setdefault("CONTENTS", {})[parts[-1]] = _leaf(info, values.get(info.target))
    for device in devices:
        for suffix, field_ in SCHEMA.items():
            address = f"{BIO_PREFIX}{device}/{suffix}"
            parts = address.strip("/").split("/")
            node = {"FULL_PATH": address, "TYPE": field_.type_tag, "ACCESS": ACCESS_WRITE,
                    "DESCRIPTION": f"companion device {device}: {field_.description}",
                    "RANGE": [{"MIN": field_.lo, "MAX": field_.hi}]}
            container(parts[:-1])["CONTENTS"][parts[-1]] = node
    return root


def find_node(tree: dict[str, Any], path: str) -> dict[str, Any] | None:
    """The node at an OSC path ("/" is the root), or None."""
    node = tree
    for part in [p for p in path.split("/") if p]:
        node = node.get("CONTENTS", {}).get(part)
        if node is None:
            return None
    return node


def answer(tree: dict[str, Any], host_info: dict[str, Any], target: str) -> tuple[int, Any]:
    """(HTTP status, JSON body or None) for a request target like ``/echoel/x?VALUE``."""
    parsed = urllib.parse.urlsplit(target)
    path = urllib.parse.unquote(parsed.path) or "/"
    query = parsed.query
    if query.upper() == "HOST_INFO":
        return 200, host_info
    node = find_node(tree, path)
    if node is None:
        return 404, None
    if not query:
        return 200, node
    attribute = query.split("=", 1)[0].upper()
    if attribute not in ATTRIBUTES:
        return 400, None
    if attribute not in node:
        return 204, None
    return 200, {attribute: node[attribute]}


# --------------------------------------------------------------------------------------------
# The server


class OscQueryServer:
    """HTTP + WebSocket OSCQuery server on its own thread, optionally announced over mDNS.

    Args:
        settings: bind address, port, name, OSC port, mDNS.
    """

    def __init__(self, settings: OscQuerySettings) -> None:
        self.settings = settings
        self._namespace = Namespace("", ())
        self._values: dict[str, float] = {}
        self._devices: tuple[str, ...] = ()
        self._tree: dict[str, Any] = build_tree(self._namespace, {})
        self._tree_stale = False
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: Any = None
        self._clients: dict[Any, tuple[set[str], asyncio.Queue]] = {}
        self._port: int | None = None
        self._zeroconf: Any = None
        self._services: list[Any] = []
        self.requests = 0

    # -- lifecycle (main thread) ----------------------------------------------------------------
    def start(self, timeout: float = 10.0) -> None:
        """Open the port and start serving (and announcing, if configured).

        Raises OscError when the port cannot be opened or the server does not come up.
        """
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self._open())
            except BaseException as exc:  # noqa: BLE001 - reported to start()
                failure.append(exc)
                ready.set()
                loop.close()
                return
            ready.set()
            try:
                loop.run_forever()
            finally:
                loop.run_until_complete(self._shutdown())
                loop.close()

        self._thread = threading.Thread(target=run, name="oscquery", daemon=True)
        self._thread.start()
        if not ready.wait(timeout):
            raise OscError("OSCQuery server did not start in time")
        if failure:
            exc = failure[0]
            self._thread.join(timeout=1.0)
            raise OscError(f"cannot serve OSCQuery on {self.settings.host}:{self.settings.port}: "
                           f"{getattr(exc, 'strerror', None) or exc} (set oscquery.port / "
                           "oscquery.host in the configuration)") from None
        if self.settings.mdns:
            self._announce()

    async def _open(self) -> None:
        from websockets.asyncio.server import serve
        self._server = await serve(self._ws_handler, self.settings.host, self.settings.port,
                                   process_request=self._process_request, max_size=1 << 16,
                                   ping_interval=20, ping_timeout=20)
        self._port = self._server.sockets[0].getsockname()[1]

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    @property
    def port(self) -> int:
        """The bound TCP port."""
        return self._port if self._port is not None else self.settings.port

    def close(self) -> None:
        """Stop announcing and serving (main thread)."""
        self._unannounce()
        loop = self._loop
        if loop is not None and loop.is_running():
            loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=5.0)
            self._thread = None

    # -- render thread --------------------------------------------------------------------------
    def publish(self, namespace: Namespace | None, changes: dict[str, float],
                devices: Iterable[str] = ()) -> None:
        """Hand over a new namespace (None: unchanged) and the values that changed. Render
        thread; never blocks (the loop thread does the sending)."""
        devices = tuple(devices)
        with self._lock:
            if namespace is not None:
                self._namespace = namespace
                self._values = {}
                self._tree_stale = True
            if devices != self._devices:
                self._devices = devices
                self._tree_stale = True
            if changes:
                self._values.update(changes)
                self._tree_stale = True
        loop = self._loop
        if loop is None or not self._clients:
            return
        messages: list[tuple[str, Any]] = []
        if namespace is not None:
            messages.append(("", json.dumps({"COMMAND": "PATH_CHANGED", "DATA": "/echoel"})))
        messages.extend((target_address(target), value) for target, value in changes.items())
        if messages:
            try:
                loop.call_soon_threadsafe(self._fan_out, messages)
            except RuntimeError:
                pass  # the loop is closing

    # -- loop thread ----------------------------------------------------------------------------
    def _current_tree(self) -> dict[str, Any]:
        with self._lock:
            if self._tree_stale:
                self._tree = build_tree(self._namespace, self._values, self._devices)
                self._tree_stale = False
            return self._tree

    def host_info(self) -> dict[str, Any]:
        """The HOST_INFO answer."""
        host = self.settings.host
        return {"NAME": self.settings.name, "EXTENSIONS": dict(EXTENSIONS),
                "OSC_IP": host, "OSC_PORT": self.settings.osc_port, "OSC_TRANSPORT": "UDP",
                "WS_IP": host, "WS_PORT": self.port}

    def _process_request(self, connection: Any, request: Any) -> Any:
        from websockets.datastructures import Headers
        from websockets.http11 import Response
        if request.headers.get("Upgrade", "").lower() == "websocket":
            if len(self._clients) >= MAX_CLIENTS:
                return Response(503, "Service Unavailable", Headers([("Content-Length", "0")]), b"")
            return None  # go on with the WebSocket handshake
        self.requests += 1
        status, body = answer(self._current_tree(), self.host_info(), request.path)
        reasons = {200: "OK", 204: "No Content", 400: "Bad Request", 404: "Not Found"}
        data = b"" if body is None else json.dumps(body).encode()
        headers = Headers([("Content-Type", "application/json"), ("Content-Length", str(len(data))),
                           ("Connection", "close"), ("Access-Control-Allow-Origin", "*")])
        return Response(status, reasons[status], headers, data)

    async def _ws_handler(self, ws: Any) -> None:
        listening: set[str] = set()
        queue: asyncio.Queue = asyncio.Queue(maxsize=CLIENT_QUEUE)
        self._clients[ws] = (listening, queue)
        sender = asyncio.ensure_future(self._sender(ws, queue))
        try:
            async for raw in ws:
                self._command(raw, listening)
        except Exception as exc:  # noqa: BLE001 - a client going away is normal
            log.debug("OSCQuery WebSocket client ended: %s", exc)
        finally:
            self._clients.pop(ws, None)
            sender.cancel()

    def _command(self, raw: Any, listening: set[str]) -> None:
        try:
            msg = json.loads(raw)
            command, path = str(msg.get("COMMAND", "")).upper(), str(msg.get("DATA", ""))
        except (ValueError, AttributeError, TypeError):
            log.debug("OSCQuery: ignoring a WebSocket message that is not a JSON command")
            return
        if command == "LISTEN" and len(listening) < 4096:
            listening.add(path)
        elif command == "IGNORE":
            listening.discard(path)

    async def _sender(self, ws: Any, queue: asyncio.Queue) -> None:
        while True:
            item = await queue.get()
            await ws.send(item)

    def _fan_out(self, messages: list[tuple[str, Any]]) -> None:
        for ws, (listening, queue) in list(self._clients.items()):
            for address, value in messages:
                if not address:  # a JSON notice for every client
                    data: Any = value
                elif address in listening:
                    data = encode(address, float(value))
                else:
                    continue
                if queue.full():
                    try:
                        queue.get_nowait()  # a slow client loses its oldest update, not the show
                    except asyncio.QueueEmpty:
                        pass
                queue.put_nowait(data)

    # -- mDNS -----------------------------------------------------------------------------------
    def _announce(self) -> None:
        try:
            from zeroconf import InterfaceChoice, ServiceInfo, Zeroconf
        except ImportError as exc:
            raise OscError("oscquery.mdns needs the 'zeroconf' package (pip install zeroconf)") from exc
        host = self.settings.host
        if _is_unspecified(host):
            interfaces: Any = InterfaceChoice.All
            addresses = [socket.inet_aton(a) for a in _ipv4_addresses()]
        else:
            interfaces = [host]
            addresses = [socket.inet_aton(host)]
        name = self.settings.name
        server = f"{socket.gethostname().split('.')[0] or 'echoel'}.local."
        self._zeroconf = Zeroconf(interfaces=interfaces)
        self._services = [
            ServiceInfo("_oscjson._tcp.local.", f"{name}._oscjson._tcp.local.", port=self.port,
                        addresses=addresses, server=server, properties={"txtvers": "1"}),
            ServiceInfo("_osc._udp.local.", f"{name}._osc._udp.local.", port=self.settings.osc_port,
                        addresses=addresses, server=server, properties={"txtvers": "1"}),
        ]
        for info in self._services:
            self._zeroconf.register_service(info, allow_name_change=True)

    def _unannounce(self) -> None:
        zc, self._zeroconf = self._zeroconf, None
        if zc is None:
            return
        try:
            for info in self._services:
                zc.unregister_service(info)
        finally:
            zc.close()
            self._services = []


def _is_unspecified(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_unspecified
    except ValueError:
        return False


def _ipv4_addresses() -> list[str]:
    try:
        import ifaddr
    except ImportError:
        return ["127.0.0.1"]
    out = []
    for adapter in ifaddr.get_adapters():
        for ip in adapter.ips:
            if isinstance(ip.ip, str):
                out.append(ip.ip)
    return out or ["127.0.0.1"]
