"""Settings from the environment (LAUNCHDECK_*); the embedded defaults need no configuration."""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, StringConstraints, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["STATE_DIR", "WORKSPACE_FILE", "Settings"]

WORKSPACE_FILE = "launchdeck.yaml"
STATE_DIR = ".launchdeck"


def _default_actor() -> str:
    try:
        return f"{getpass.getuser()}@local"
    except (KeyError, OSError):  # no passwd entry, e.g. an anonymous container user
        return "local"


class Settings(BaseSettings):
    """Everything configurable. Read once per process at its composition root."""

    model_config = SettingsConfigDict(env_prefix="LAUNCHDECK_", extra="ignore", frozen=True)

    workspace: Path = Path(".")
    """A workspace directory, or the path of its launchdeck.yaml."""
    database_url: str | None = None
    """SQLAlchemy URL; None means an SQLite file under .launchdeck/ beside the workspace."""
    url: str | None = None
    """Base URL of a launchdeck API: when set, the CLI runs in remote mode."""
    token: SecretStr | None = None
    """API token for remote mode."""
    actor: Annotated[
        str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)
    ] = _default_actor()
    """Who local-mode changes are attributed to on the timeline."""
    http_timeout_s: float = 30.0
    prometheus_url: str = "http://127.0.0.1:9090"
    """Where SLIs are read when an SLO names no DataSource with a connectionDetails.url."""
    prometheus_timeout_s: float = 10.0
    notify_timeout_s: float = 5.0
    """Per attempt, per channel, for Slack, Teams and webhook notifications."""
    notify_attempts: int = 3
    notify_in_background: bool = True
    """`launchdeck serve` answers first and notifies after, so a hanging Slack never slows an
    incident request; CLI commands always wait for their notifications."""
    incident_refresh_s: float = 60.0
    """How often `launchdeck serve` brings open incidents' severity up to date with the calendar
    (seconds; 0: only when they are read)."""
    flag_check_interval_s: Annotated[float, Field(ge=0, le=3600)] = 0.25
    """How often `launchdeck serve` asks the database whether flags changed (one cheap query
    for the flags revision), so changes made by another process reach OFREP and SDK clients
    within this; changes made through the server itself are seen at once."""
    ofrep_rate_limit: Annotated[float, Field(ge=0)] = 1000.0
    """OFREP and SDK requests a second allowed per credential (SDK key or API token), with
    bursts of twice as many; a client over it gets 429 with Retry-After (whole seconds), which
    the OpenFeature providers honour. 0: no limit (benchmarks, trusted networks)."""
    sse_max_stream_s: Annotated[float, Field(gt=0)] = 300.0
    """An OFREP event stream (/ofrep/v1/sse) ends after this long and the client reconnects
    and re-fetches; a server shutting down waits at most this long for open streams."""
    events_path: Path | None = None
    """The DuckDB file of ingested events; None means .launchdeck/events.duckdb beside the
    workspace. One process at a time may open it (`launchdeck serve` holds it while it runs)."""
    sites_dir: Path | None = None
    """Where nginx-static targets keep their sites when a system's target names no root; None
    means .launchdeck/sites beside the workspace."""
    controller_interval_s: Annotated[float, Field(ge=0, le=3600)] = 5.0
    """How often the release controller takes a pass over the active releases (`launchdeck
    controller`, and `launchdeck serve` unless 0)."""
    log_level: str = "info"

    @field_validator("url")
    @classmethod
    def _strip_slash(cls, value: str | None) -> str | None:
        return value.rstrip("/") if value else value

    @property
    def workspace_file(self) -> Path:
        """The launchdeck.yaml this process works on."""
        path = self.workspace
        return path if path.suffix in {".yaml", ".yml"} else path / WORKSPACE_FILE

    @property
    def workspace_dir(self) -> Path:
        return self.workspace_file.parent

    @property
    def resolved_database_url(self) -> str:
        """The database URL in force: the setting, or the embedded SQLite file."""
        if self.database_url:
            return self.database_url
        state = (self.workspace_dir / STATE_DIR / "state.db").resolve()
        return f"sqlite:///{state}"

    @property
    def resolved_events_path(self) -> Path:
        """The event store in force: the setting, or the embedded file."""
        if self.events_path is not None:
            return self.events_path
        return (self.workspace_dir / STATE_DIR / "events.duckdb").resolve()

    @property
    def resolved_sites_dir(self) -> Path:
        """Where nginx-static sites live unless their target names a root."""
        if self.sites_dir is not None:
            return self.sites_dir.resolve()
        return (self.workspace_dir / STATE_DIR / "sites").resolve()

    @property
    def remote(self) -> bool:
        return bool(self.url)
