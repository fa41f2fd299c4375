"""gate-killswitch: keeps Gate's server-side dead man's switch alive for chosen scopes."""

__version__ = "0.1.0"
APP_NAME = "gate-killswitch"
