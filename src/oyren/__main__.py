"""``python -m oyren`` runs the command line."""

from oyren.cli import main

main()
