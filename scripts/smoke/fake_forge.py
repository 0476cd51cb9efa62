#!/usr/bin/env python3
"""A stand-in GitHub API and DNS server on 127.0.0.1 for scripts/image-smoke.sh.

The HTTP side answers the reads of `tollgate review --no-post` for one pull
request (acme/app#7); the DNS side answers every A query with 127.0.0.1, so
a host name that no /etc/hosts holds still resolves, through the resolver
compiled into the static binary. Both stop after --seconds.
"""
import argparse
import json
import socket
import struct
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def dns_answer(query: bytes) -> bytes:
    """An answer to one standard query: A 127.0.0.1 for type A, no records otherwise."""
    ident, _flags, qdcount = struct.unpack("!HHH", query[:6])
    end = 12
    while query[end] != 0:
        end += query[end] + 1
    question = query[12 : end + 5]
    qtype = struct.unpack("!H", query[end + 1 : end + 3])[0]
    answers = b""
    if qtype == 1:
        answers = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + socket.inet_aton("127.0.0.1")
    header = struct.pack("!HHHHHH", ident, 0x8180, 1, 1 if answers else 0, 0, 0)
    return header + question + answers


def query_name(query: bytes) -> str:
    labels, at = [], 12
    while query[at] != 0:
        labels.append(query[at + 1 : at + 1 + query[at]].decode("ascii", "replace"))
        at += query[at] + 1
    return ".".join(labels)


def recorder(path: str):
    lock = threading.Lock()

    def record(line: str) -> None:
        with lock, open(path, "a", encoding="utf-8") as log:
            log.write(line + "\n")

    return record


def serve_dns(port: int, record) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", port))
    while True:
        data, peer = sock.recvfrom(512)
        try:
            record(f"DNS {query_name(data)}")
            sock.sendto(dns_answer(data), peer)
        except (IndexError, struct.error):
            continue


def handler(head: str, base: str, record):
    pr = {
        "number": 7,
        "state": "open",
        "draft": False,
        "head": {"sha": head, "ref": "feature", "label": "acme:feature",
                 "repo": {"full_name": "acme/app"}},
        "base": {"sha": base, "ref": "main", "label": "acme:main",
                 "repo": {"full_name": "acme/app"}},
    }

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            path = self.path.split("?", 1)[0]
            record(f"GET {path} host={self.headers.get('Host')}")
            if path == "/repos/acme/app/pulls/7":
                body = pr
            elif path.startswith("/repos/acme/app/") and path.endswith(("/files", "/comments", "/pulls")):
                body = [pr] if path.endswith(f"/commits/{head}/pulls") else []
            else:
                self.send_error(404)
                return
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--http-port", type=int, required=True)
    parser.add_argument("--dns-port", type=int, default=0)
    parser.add_argument("--head", required=True)
    parser.add_argument("--base", required=True)
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--log", required=True)
    args = parser.parse_args()
    record = recorder(args.log)
    server = ThreadingHTTPServer(("127.0.0.1", args.http_port), handler(args.head, args.base, record))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    if args.dns_port:
        threading.Thread(target=serve_dns, args=(args.dns_port, record), daemon=True).start()
    stop = threading.Event()
    stop.wait(args.seconds)
    server.shutdown()


if __name__ == "__main__":
    main()
