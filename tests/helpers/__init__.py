"""What the tests share besides fixtures (those are in tests/conftest.py): texts, a loopback HTTP server,
the tiny configuration, running stages, downloading and training."""
