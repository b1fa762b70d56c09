"""Clinical grading of free-text reports: findings extraction, rubrics, statistics."""
