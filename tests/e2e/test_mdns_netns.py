"""mDNS discovery of the OSCQuery server, only inside a private network namespace.

A shell under `unshare -n` has nothing but a loopback interface (multicast routed to it), so the
announcements cannot leave the machine. Inside it, one process serves OSCQuery with mDNS on and a
second process browses for `_oscjson._tcp` and `_osc._udp` with zeroconf, then reads HOST_INFO
from the address and port it discovered.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from live.testing import private_netns_command, private_netns_unavailable

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.timeout(120)

SERVER = r"""
import sys, time
from live.control.oscquery import OscQuerySettings, OscQueryServer
server = OscQueryServer(OscQuerySettings(host="127.0.0.1", port=0, name="Echoel NetNS",
                                         osc_port=9123, mdns=True))
server.start()
print("READY", server.port, flush=True)
time.sleep(float(sys.argv[1]))
server.close()
"""

BROWSER = r"""
import json, socket, time, urllib.request
from zeroconf import ServiceBrowser, ServiceListener, Zeroconf
found = {}
class L(ServiceListener):
    def add_service(self, zc, type_, name):
        info = zc.get_service_info(type_, name, timeout=3000)
        if info is not None:
            found[type_] = {"name": name, "port": info.port,
                            "addresses": [socket.inet_ntoa(a) for a in info.addresses]}
    def update_service(self, zc, type_, name): pass
    def remove_service(self, zc, type_, name): pass
zc = Zeroconf(interfaces=["127.0.0.1"])
ServiceBrowser(zc, ["_oscjson._tcp.local.", "_osc._udp.local."], L())
end = time.monotonic() + 15
while len(found) < 2 and time.monotonic() < end:
    time.sleep(0.1)
zc.close()
result = {"found": found}
q = found.get("_oscjson._tcp.local.")
if q:
    url = f"http://{q['addresses'][0]}:{q['port']}/?HOST_INFO"
    result["host_info"] = json.loads(urllib.request.urlopen(url, timeout=5).read())
print("RESULT " + json.dumps(result))
"""

RUN = r"""
import subprocess, sys
server = subprocess.Popen([sys.executable, "-c", sys.argv[1], "20"], stdout=subprocess.PIPE, text=True)
line = server.stdout.readline()
assert line.startswith("READY"), line
out = subprocess.run([sys.executable, "-c", sys.argv[2]], capture_output=True, text=True, timeout=60)
print(out.stdout, out.stderr[-2000:])
server.terminate()
server.wait(timeout=10)
"""


def test_oscquery_and_osc_services_are_discovered_over_mdns_in_a_private_namespace():
    pytest.importorskip("zeroconf", reason="zeroconf not installed")
    reason = private_netns_unavailable()
    if reason:
        pytest.skip(reason)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run(private_netns_command('"$0" -c "$1" "$2" "$3"') + [sys.executable, RUN, SERVER, BROWSER],
                          capture_output=True, text=True, timeout=100, env=env, cwd=ROOT)
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")), None)
    assert line is not None, proc.stdout[-2000:] + proc.stderr[-2000:]
    result = json.loads(line[len("RESULT "):])
    query = result["found"]["_oscjson._tcp.local."]
    osc = result["found"]["_osc._udp.local."]
    assert query["name"].startswith("Echoel NetNS") and query["addresses"] == ["127.0.0.1"]
    assert osc["port"] == 9123 and osc["addresses"] == ["127.0.0.1"]
    assert result["host_info"]["NAME"] == "Echoel NetNS"
    assert result["host_info"]["OSC_PORT"] == 9123
