"""Apps: channel credentials, processing settings, retention."""
