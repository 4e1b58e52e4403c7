"""ifvc-studio: edit a face video's semantics live in the browser.

Starts a local web application (http://127.0.0.1:PORT/, printed at start) where a stream is
opened (or a video encoded on the spot), played, and edited with one slider per semantic
element; the preview follows the sliders, and the edited stream and an MP4 can be exported.
The edit list is shown as the --edit arguments that repeat it with ifvc-decode / ifvc-edit.

The server binds to 127.0.0.1 only. --host with any other address is refused unless
--allow-remote is given too (then anyone who can reach the address can use the studio, which
reads and writes nothing on this machine but its temporary files): a warning says so.
"""
from __future__ import annotations

import ipaddress
import socket
import sys
from pathlib import Path

from ifvc_common.argtypes import int_range
from ifvc_common.errors import describe_os_error, fail
from ifvc_common.exit_codes import EXIT_USAGE
from ifvc_common.parser import CommandParser, command
from ifvc_common.paths import read_input_file

PROG = "ifvc-studio"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def bind(host: str, port: int) -> socket.socket:
    """A listening socket (port 0: a free one), so the URL printed is the one served."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(64)
    sock.set_inheritable(True)
    return sock


def build_parser() -> CommandParser:
    ap = CommandParser(prog=PROG, description=__doc__)
    ap.add_argument("stream", nargs="?", help="an .ifvc stream to open at start (optional)")
    ap.add_argument("--port", type=int_range(0, 65535), default=8765, help="TCP port (0: any free port)")
    ap.add_argument("--host", default="127.0.0.1",
                    help="address to bind; anything but a loopback address needs --allow-remote")
    ap.add_argument("--allow-remote", action="store_true",
                    help="allow --host to be a non-loopback address (prints a warning)")
    return ap


@command(PROG, interrupted="studio stopped")
def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if not is_loopback(args.host) and not args.allow_remote:
        fail(f"--host {args.host} is not a loopback address: the studio would be reachable from other "
             "machines; add --allow-remote if that is what you want", EXIT_USAGE)
    # heavy imports after the command line is checked (--help stays fast)
    from .app import LOOPBACK_HOSTS, Studio, build_app
    from .session import StudioError, StudioSession

    studio = Studio()
    if args.stream:
        data = read_input_file(args.stream, "stream")
        try:
            studio.initial = studio.add(StudioSession(data, Path(args.stream).name))
        except StudioError as exc:
            fail(str(exc))
    try:
        sock = bind(args.host, args.port)
    except OSError as exc:
        fail(f"cannot listen on {args.host}:{args.port}: {describe_os_error(exc)}")
    port = sock.getsockname()[1]
    hosts = LOOPBACK_HOSTS if is_loopback(args.host) else ["*"]
    if not is_loopback(args.host):
        print(f"{PROG}: warning: serving on {args.host}, reachable from other machines; anyone who can "
              "reach it can upload streams, videos and photos to this studio", file=sys.stderr)
    shown = f"[{args.host}]" if ":" in args.host else args.host
    print(f"IFVC Studio: http://{shown}:{port}/  (Ctrl-C to stop)", flush=True)

    import uvicorn
    config = uvicorn.Config(build_app(studio, hosts), log_level="warning", ws="websockets-sansio",
                            lifespan="off", access_log=False)
    server = uvicorn.Server(config)
    server.run(sockets=[sock])
    return 0


if __name__ == "__main__":
    sys.exit(main())
