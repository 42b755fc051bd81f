"""Scripts: dialogues between characters, written by the LLM and edited line by line."""
