"""Thresholds shared by the core, the CLI and the dashboard: each is defined here once."""

LOW_CONFIDENCE = 0.4  # below this measured confidence an explanation is shown as uncertain and never asserted
MAX_SENTENCE_TOKENS = 2048  # longer text is truncated with a notice (also capped by the model's context)
MIN_SCORING_TOKENS = 8  # fewer held-out members or non-members than this: "insufficient data", not a score
TRIVIAL_FLAGS = frozenset({"single-token", "position", "high-norm", "tiny"})
CONFIDENCE_MAPPING = "clip(2 * (balanced_accuracy - 0.5), 0, 1) on held-out tokens"
