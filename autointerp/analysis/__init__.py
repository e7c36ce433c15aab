"""Analysis stage: a sentence token by token, and the meta-interpretation grounded in it."""
