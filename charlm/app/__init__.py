"""What a person runs: the `charlm` command (cli) and `charlm explore`, a page on this machine (page:
the Gradio layout; explorer: what each panel computes; probe: the model reading a text; guard: the
requests the page refuses)."""
