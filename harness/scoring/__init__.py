"""Pure scoring: benchmark aggregates, row values, eligibility, ranking, Pareto fronts, Dynascore, ELUE."""
