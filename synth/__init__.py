"""synth: systematic evidence synthesis from the command line.

The package layout follows the review pipeline::

    protocol -> sources / importers -> store -> dedup -> screening
             -> extraction -> meta -> evidence / prisma / report
"""

__version__ = "0.1.0"
