"""Language models behind one port (`voxhub.llm.port`): embedded, or an OpenAI-compatible server."""
