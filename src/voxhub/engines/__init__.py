"""Speech engines behind one small port (`voxhub.engines.base.Engine`)."""
