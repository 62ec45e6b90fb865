"""The thin Typer CLI over the synth library. Each pipeline group lives in its own module."""
