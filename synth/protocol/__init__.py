"""The review protocol as code: a TOML file validated by a pydantic model."""

from synth.protocol.load import load_protocol, parse_protocol, read_toml
from synth.protocol.model import Protocol

__all__ = ["Protocol", "load_protocol", "parse_protocol", "read_toml"]
