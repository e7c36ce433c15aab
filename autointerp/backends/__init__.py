"""Optional build backends; the default local backend lives in autointerp.workspace."""
