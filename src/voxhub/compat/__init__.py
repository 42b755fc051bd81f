"""The seed systems' documented endpoints, as thin routers over voxhub's services."""
