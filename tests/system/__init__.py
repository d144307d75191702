"""System tests: real DVC in temporary repositories, real training, the page in a browser, the notebook,
the console script in its own process (marked slow)."""
