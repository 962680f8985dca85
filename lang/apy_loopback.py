# apy_loopback.py: run apertium-apy listening on 127.0.0.1 only.
#
# apertium-apy binds every interface and has no option to bind one. This
# bootstrap replaces tornado's TCPServer.bind with one that binds 127.0.0.1,
# refuses to go on if any socket is bound elsewhere, prints
# "LISTEN 127.0.0.1:<port>" (so a port of 0 can pick a free one), and then
# runs apertium-apy's own main with the remaining arguments:
#
#   python3 apy_loopback.py -p 2737 /usr/share/apertium/modes
#
# tocsin's lang.StartAPy runs it with the interpreter of apertium-apy's #! line.
import sys

import tornado.tcpserver

_bind = tornado.tcpserver.TCPServer.bind


def _loopback_bind(self, port, address=None, *args, **kwargs):
    _bind(self, port, "127.0.0.1", *args, **kwargs)
    socks = list(getattr(self, "_pending_sockets", [])) + list(self._sockets.values())
    if not socks:
        sys.exit("apy_loopback: no socket was bound")
    for s in socks:
        host, bound = s.getsockname()[:2]
        if host != "127.0.0.1":
            sys.exit("apy_loopback: refusing to serve on %s" % host)
        print("LISTEN %s:%d" % (host, bound), flush=True)


tornado.tcpserver.TCPServer.bind = _loopback_bind

from apertium_apy.apy import main  # noqa: E402

sys.argv = ["apertium-apy"] + sys.argv[1:]
sys.exit(main())
