"""`python -m charlm generate ...`, the same as the `charlm` console script."""

from charlm.cli import main

main()
