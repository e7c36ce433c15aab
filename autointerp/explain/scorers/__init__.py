"""Scorers measure an explanation on held-out tokens; the measurement becomes the confidence."""
