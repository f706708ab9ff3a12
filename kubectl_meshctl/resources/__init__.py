"""The resource model: typed, immutable objects parsed once from raw dicts, and the limits on hostile input."""
