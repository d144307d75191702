"""Unit tests: one module each, in this process, no DVC, no real training run (`make fast`)."""
