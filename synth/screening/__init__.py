"""Screening: dual blinded screening, agreement statistics, prioritisation, stopping and simulation.

The modules here are a pure core (no database, no terminal): :mod:`synth.store.screening` reads and writes the
store, :mod:`synth.screening.tui` draws the interactive screen and :mod:`synth.cli.screen_cmd` is the CLI.
"""
