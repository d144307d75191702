"""Text, from a source to the numbers a model reads.

    fetch (a URL or a file in data/books/) -> encodings (bytes -> clean text) -> gutenberg (header
    and footer off) -> corpus (the download stage's corpus.txt) -> prepare (vocabulary, encoded
    splits) -> splits (what training and generation read back); charstats reports the characters.
"""
