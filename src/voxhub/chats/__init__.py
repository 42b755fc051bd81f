"""Chat threads with a character: messages kept, replies written by the LLM port."""
