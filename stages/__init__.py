"""charlm: a DVC pipeline that trains a character-level LSTM (download -> prepare -> train -> sample -> plot_softmax)."""
