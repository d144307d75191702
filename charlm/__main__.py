"""`python -m charlm generate ...`, the same as the `charlm` console script."""

from charlm.app.cli import main

main()
