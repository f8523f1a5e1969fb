"""A stand-in for Slack's and Teams' webhooks in `make demo`: records what launchdeck posts.

    python scripts/demo_receiver.py PORT LOG          serve; one JSON line per request in LOG
    python scripts/demo_receiver.py --show LOG        print what each channel received

Real webhooks answer 200 with a short body, and so does this one.
"""

from __future__ import annotations

import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


def serve(port: int, log: Path) -> None:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with log.open("a", encoding="utf-8") as out:
                out.write(json.dumps({"path": self.path, "body": json.loads(body)}) + "\n")
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: object) -> None:
            pass

    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


def _teams_text(body: dict) -> str:
    card = body["attachments"][0]["content"]
    texts = [b.get("text", "") for b in card["body"] if b.get("type") == "TextBlock"]
    return " / ".join(t for t in texts[:2] if t)


def show(log: Path) -> None:
    if not log.exists():
        print("  (nothing received)")
        return
    for line in log.read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        channel, body = item["path"], item["body"]
        if channel.startswith("/slack"):
            text, blocks = body["text"], len(body.get("blocks", []))
            print(f"  Slack {channel}: {text}  [{blocks} Block Kit blocks]")
        else:
            print(f"  Teams {channel}: {_teams_text(body)}  [Adaptive Card]")


if __name__ == "__main__":
    if sys.argv[1] == "--show":
        show(Path(sys.argv[2]))
    else:
        serve(int(sys.argv[1]), Path(sys.argv[2]))
