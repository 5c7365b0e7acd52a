"""Reading what comes in: observation files (JSONL, CSV) with the JSONL fast lane and grouping,
people's decisions, removals, the jury's judgments, small JSONL record files and pasted links.

Every reader checks what it reads and raises :class:`oyren.errors.InputError` naming the file,
line and field. May import the rules and the base modules; nothing above.
"""
