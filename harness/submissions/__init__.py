"""Stage 1: a submission folder -> a checked Submission."""
