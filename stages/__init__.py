"""charlm: a DVC pipeline for a character-level LSTM.

download -> prepare -> train -> sample -> plot_softmax, one module per stage.
"""
