"""launchdeck: release safety for marketing technology teams."""

__version__ = "0.1.0"
