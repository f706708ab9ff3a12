"""Go behaviour reproduced byte-exactly where istioctl's output depends on it (pure)."""
