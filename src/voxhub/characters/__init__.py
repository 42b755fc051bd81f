"""Characters: a persona with a voice, images, a synthesis config, visibility and stars."""
