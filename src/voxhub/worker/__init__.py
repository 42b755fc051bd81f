"""`voxhub worker`: a process that loads the engines and runs jobs from the Redis queue."""
