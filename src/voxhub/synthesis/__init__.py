"""Speech synthesis: requests, streaming, the generation history and its cache."""
