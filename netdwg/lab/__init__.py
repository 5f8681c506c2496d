"""The network-namespace simulator of a topology (``netdwg lab``)."""
