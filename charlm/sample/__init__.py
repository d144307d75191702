"""Writing with a trained model: generate (a prompt continued at several temperatures), prompt
(text -> codes), temperature (tempered_softmax and its curves) and words (how word-like a text is)."""
