"""The network: LitCharRNN (lstm), its checkpoint read without Lightning (checkpoint), and the same
weights run one character at a time, compiled by numba, for generation (compiled)."""
