"""Run a model on a task: model references, the evaluation runner, track runs, self-reported points."""
