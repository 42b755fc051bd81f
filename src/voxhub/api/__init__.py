"""HTTP surface: dependencies, the one error map, the router tree."""
