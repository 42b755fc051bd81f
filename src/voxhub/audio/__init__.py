"""Audio in and out: probe, decode, clean, analyse, encode."""
