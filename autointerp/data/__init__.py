"""Data: the text the stages read (corpus windows) and its tags (WordNet concepts, parts of speech, entities)."""
