"""The nginx configuration of an `nginx-static` site, as text. Pure.

One site is one directory (`root`) that nginx serves from:

    releases/<version>/      immutable copies of the artifacts
    live/stable, live/canary, live/preview
                             symlinks to releases (or to each other); swapped with rename(2),
                             which nginx sees on the next request (no reload)
    split.conf               the canary's weight: rewritten, checked, then nginx reloaded
    nginx.conf               this module's `main_config`
    logs/access.json.log     one JSON object per request, the variant on every line
    run/nginx.pid, tmp/

Who gets what, per request (the variables are nginx's):

1. `X-Canary: always|never` forces the canary or stable (QA); `always` means stable while no
   canary runs.
2. A visitor arriving with a paid-click parameter (`gclid`, `fbclid`, `msclkid`, or
   `utm_medium=cpc|paid`: `paid_parameters`) gets the `ld_paid` cookie and stays on stable for
   the whole canary, so paid media never pays for a release being tried.
3. Everyone else is split by `split_clients` on a first-party cookie `ld_uid` (set on the first
   response: `$request_id`, 128 random bits). The canary's share is the first `weight` % of
   the hash range, so raising the weight only adds visitors: who was on the canary stays.

A release whose root holds `maintenance.html` is in maintenance mode: every page answers 503
with that page and `Retry-After` (the classic nginx pattern), so a build shipped in maintenance
by mistake shows up as server errors the judge sees.

`POST|GET /__ld/convert` is the conversion beacon: answered 204 and logged with the variant of
the visitor who sent it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

__all__ = [
    "BEACON_PATH",
    "DEFAULT_PAID_PARAMETERS",
    "SiteLayout",
    "main_config",
    "parse_weight",
    "split_config",
]

BEACON_PATH: Final = "/__ld/convert"
DEFAULT_PAID_PARAMETERS: Final = ("gclid", "fbclid", "msclkid", "utm_medium=cpc", "utm_medium=paid")
_WEIGHT = re.compile(r"^\s*([0-9.]+)%\s+canary;", re.MULTILINE)
_PARAMETER = re.compile(r"^[A-Za-z0-9_.-]+(=[A-Za-z0-9_.-]+)?$")


@dataclass(frozen=True, slots=True)
class SiteLayout:
    """Where one site's files are."""

    root: Path

    @property
    def releases(self) -> Path:
        return self.root / "releases"

    @property
    def live(self) -> Path:
        return self.root / "live"

    @property
    def config(self) -> Path:
        return self.root / "nginx.conf"

    @property
    def split(self) -> Path:
        return self.root / "split.conf"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def access_log(self) -> Path:
        return self.logs / "access.json.log"

    @property
    def pid_file(self) -> Path:
        return self.root / "run" / "nginx.pid"

    @property
    def tmp(self) -> Path:
        return self.root / "tmp"


def _paid_map(parameters: Sequence[str]) -> str:
    lines = []
    for parameter in parameters:
        if not _PARAMETER.match(parameter):
            raise ValueError(f"paid parameter {parameter!r}: a query parameter name, or name=value")
        name, _, value = parameter.partition("=")
        pattern = f"(^|&){re.escape(name)}=" + (f"{re.escape(value)}(&|$)" if value else "")
        lines.append(f'        "~*{pattern}" 1;')
    return "\n".join(lines)


def main_config(
    layout: SiteLayout,
    *,
    port: int,
    preview_port: int,
    host: str = "127.0.0.1",
    paid_parameters: Sequence[str] = DEFAULT_PAID_PARAMETERS,
    user: str | None = None,
    mime_types: Path | None = None,
) -> str:
    """nginx.conf of the site (`user`: the workers' user when nginx starts as root)."""
    types = f"include {mime_types};" if mime_types else "types { text/html html; }"
    return f"""# Written by launchdeck (nginx-static target): edits are overwritten.
worker_processes 1;
pid {layout.pid_file};
error_log {layout.logs / "error.log"} warn;
{f"user {user};" if user else ""}
events {{ worker_connections 1024; }}

http {{
    {types}
    default_type application/octet-stream;
    sendfile on;
    keepalive_timeout 65;
    open_file_cache off;
    client_body_temp_path {layout.tmp / "body"};
    proxy_temp_path {layout.tmp / "proxy"};
    fastcgi_temp_path {layout.tmp / "fastcgi"};
    uwsgi_temp_path {layout.tmp / "uwsgi"};
    scgi_temp_path {layout.tmp / "scgi"};

    # The visitor's id: their cookie, or this request's random id (then set as the cookie).
    map $cookie_ld_uid $ld_uid {{
        "" $request_id;
        default $cookie_ld_uid;
    }}
    map $cookie_ld_uid $ld_set_uid {{
        "" "ld_uid=$request_id; Path=/; Max-Age=31536000; SameSite=Lax";
        default "";
    }}
    # Arriving from a paid click: stable for the whole canary (a cookie remembers it).
    map $args $ld_paid_arrival {{
{_paid_map(paid_parameters)}
        default "";
    }}
    map $ld_paid_arrival $ld_set_paid {{
        1 "ld_paid=1; Path=/; Max-Age=2592000; SameSite=Lax";
        default "";
    }}
    map "$cookie_ld_paid$ld_paid_arrival" $ld_paid {{
        "" "";
        default 1;
    }}
    # The split and what X-Canary forces: split.conf, rewritten with the weight.
    include {layout.split};
    map "$ld_forced|$ld_paid|$ld_split" $ld_variant {{
        "~^canary" canary;
        "~^stable" stable;
        "~^\\|1\\|" stable;
        default $ld_split;
    }}

    log_format ld_json escape=json '{{"time":"$time_iso8601","variant":"$ld_variant",'
        '"status":$status,"request_time":$request_time,"method":"$request_method",'
        '"uri":"$uri","uid":"$ld_uid","paid":"$ld_paid","bytes":$body_bytes_sent}}';

    server {{
        listen {host}:{port};
        server_name _;
        access_log {layout.access_log} ld_json;
        add_header X-Launchdeck-Variant $ld_variant always;
        add_header Set-Cookie $ld_set_uid;
        add_header Set-Cookie $ld_set_paid;
        root {layout.live}/$ld_variant;

        location = {BEACON_PATH} {{
            add_header X-Launchdeck-Variant $ld_variant always;
            add_header Set-Cookie $ld_set_uid;
            return 204;
        }}
        # Maintenance mode: a release with maintenance.html at its root answers 503 with it.
        error_page 503 /maintenance.html;
        location = /maintenance.html {{
            add_header X-Launchdeck-Variant $ld_variant always;
            add_header Retry-After 300 always;
        }}
        location / {{
            if (-f $document_root/maintenance.html) {{
                return 503;
            }}
            try_files $uri $uri/index.html =404;
        }}
    }}

    # The idle colour of a blue-green release, or the canary, before it takes traffic.
    server {{
        listen {host}:{preview_port};
        server_name _;
        access_log {layout.logs / "preview.json.log"} ld_json;
        root {layout.live}/preview;
        location / {{
            try_files $uri $uri/index.html =404;
        }}
    }}
}}
"""


def split_config(weight: float, *, canary: bool) -> str:
    """split.conf for `weight` % on the canary (0 to 100; `canary` False: none runs)."""
    if not 0 <= weight <= 100:
        raise ValueError(f"a canary weight is 0 to 100 (%), not {weight}")
    running = canary and weight > 0
    share = f"{weight:.2f}".rstrip("0").rstrip(".")
    split = f"        {share}% canary;\n" if running else ""
    always = "canary" if canary else "stable"
    return f"""# Written by launchdeck: the canary's weight ({share if running else 0} %).
split_clients "${{ld_uid}}" $ld_split {{
{split}        * stable;
}}
map $http_x_canary $ld_forced {{
    always {always};
    never stable;
    default "";
}}
"""


def parse_weight(text: str) -> float:
    """The canary weight a split.conf holds (0 when none)."""
    found = _WEIGHT.search(text)
    return float(found.group(1)) if found else 0.0
