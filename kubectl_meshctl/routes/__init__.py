"""istioctl's `proxy-config routes`: a config dump decoded and rendered byte-for-byte (pure)."""
