"""``python -m ontomap`` runs the command line."""

from ontomap.cli import main

main()
