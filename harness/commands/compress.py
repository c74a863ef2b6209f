"""`harness compress BASE -o NEW --recipe R [params] [--then R2 [params]] ...`: a chain of recipes into a new
submission folder; each parameter flag belongs to the recipe before it (harness.submissions.compression's table)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from harness.submissions.compression import RECIPE_SPECS, RECIPE_TABLE

STEPS = "compress_steps"  # the Namespace attribute the chain is collected in: [(recipe, {param: value})]


class _Step(argparse.Action):
    """--recipe / --then: start a new step of the chain."""

    def __call__(self, parser: Any, namespace: Any, value: Any, option: str | None = None) -> None:
        steps = getattr(namespace, STEPS, None) or []
        if option == "--recipe" and steps:
            parser.error("--recipe: give it once, first; chain more recipes with --then")
        if option == "--then" and not steps:
            parser.error("--then: comes after --recipe NAME")
        if value not in RECIPE_SPECS:
            from harness.errors import did_you_mean

            parser.error(f"{option} {value}: unknown recipe; {did_you_mean(value, RECIPE_SPECS, 'recipes')}")
        setattr(namespace, STEPS, steps + [(value, {})])


class _Param(argparse.Action):
    """A recipe parameter flag: typed by the table, given to the step named before it."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: Any, value: Any, option: str | None = None) -> None:
        steps = getattr(namespace, STEPS, None) or []
        if not steps:
            parser.error(f"{option}: comes after the --recipe or --then whose parameter it is")
        recipe, params = steps[-1]
        param = RECIPE_SPECS[recipe].param(self.dest)
        if param is None:
            takers = [r.name for r in RECIPE_TABLE if r.param(self.dest)]
            parser.error(
                f"{option}: recipe {recipe} takes no such parameter; put it after --recipe/--then {' or '.join(takers)}"
            )
        try:
            typed = param.kind(value)
        except ValueError:
            parser.error(f"{option} {value}: expected {'a whole number' if param.kind is int else 'a number'}")
        if (why := param.problem(typed)) is not None:
            parser.error(f"{option} {value}: {why} ({param.help})")
        if self.dest in params:
            parser.error(f"{option}: given twice for {recipe}")
        params[self.dest] = typed


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register the `compress` subcommand; its parameter flags come from the recipe table."""
    recipes = "\n".join(f"  {r.name}: {r.summary}" for r in RECIPE_TABLE)
    p = subparsers.add_parser(
        "compress",
        help="compress a submission's models by a chain of recipes into a new submission folder",
        description="Compress a submission (or a bare model folder with --task) into a new submission folder "
        "that `harness check` accepts. Recipes:\n" + recipes,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("base", type=Path, metavar="BASE", help="a submission folder, or a model folder with --task")
    p.add_argument("-o", "--output", type=Path, required=True, help="the new submission folder (must not exist)")
    p.add_argument("--recipe", action=_Step, required=True, metavar="NAME", help="the first recipe")
    p.add_argument("--then", action=_Step, metavar="NAME", help="a further recipe, run after the ones before it")
    seen: set[str] = set()
    for spec in RECIPE_TABLE:
        for param in spec.params:
            if param.name not in seen:
                seen.add(param.name)
                takers = ", ".join(r.name for r in RECIPE_TABLE if r.param(param.name))
                p.add_argument(param.flag, dest=param.name, action=_Param, metavar="N", help=f"{takers}: {param.help}")
    p.add_argument("--task", help="with a bare model folder: the task it is for (its submission's only task)")
    p.add_argument("--head", help="with a bare model folder: its head (default: the one it was saved with)")
    p.add_argument("--name", help="display name (default: the base's name + the recipes)")
    p.add_argument("--team", help="team (default: the base submission's)")
    p.add_argument("--contact", help="contact email (default: the base submission's)")
    p.add_argument("--force", action="store_true", help="replace the output folder if it exists")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Compress, then check the new folder as `harness check` does; 0 when it is valid."""
    from harness.errors import UserError
    from harness.recipes.pipeline import Meta, compress
    from harness.submissions import check_submission
    from harness.submissions.compression import make_step, step_problems

    steps = []
    for i, (recipe, params) in enumerate(getattr(args, STEPS)):
        for name, message, fix in step_problems(recipe, params):
            flag = f"--{name.replace('_', '-')}" if name != "recipe" else "--recipe"
            raise UserError(f"{'--recipe' if i == 0 else '--then'} {recipe}: {flag}: {message}", fix=fix)
        steps.append(make_step(recipe, params))
    meta = Meta(args.name, args.team, args.contact)
    notes = compress(args.base, args.output, steps, task=args.task, head=args.head, meta=meta, force=args.force)
    for folder, did in notes.items():
        print(f"{args.output / folder}:")
        for step, text in zip(steps, did):
            print(f"  {step.recipe}: {text}")
    problems = check_submission(args.output)
    for problem in problems:
        print(problem)
    print(f"wrote {args.output}: " + ("valid (harness check)" if not problems else f"{len(problems)} problem(s)"))
    return 1 if problems else 0
