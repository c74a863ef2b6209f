"""A data dir for track runs: the shared mirror (linked) plus small files in the official layouts of absent sets.

GLUE's QQP, MNLI and AX and ELUE's IMDb, SNLI and SciTail are not in the mirror; these few rows, written
in each benchmark's own file layout, let the `glue` and `elue-*` tracks run end to end offline.
"""

from __future__ import annotations

from pathlib import Path

MNLI_HEADER = ("index\tpromptID\tpairID\tgenre\tsentence1_binary_parse\tsentence2_binary_parse\tsentence1_parse\t"
               "sentence2_parse\tsentence1\tsentence2\tlabel1\tlabel2\tlabel3\tlabel4\tlabel5\tgold_label\n")
MNLI_ROW = "{i}\t1\t1n\tfiction\t( a )\t( b )\t(S a)\t(S b)\t{a}\t{b}\t{label}\t\t\t\t\t{label}\n"
PAIRS = [("A man sleeps.", "A person rests.", 0), ("A dog runs.", "A cat sits.", 2), ("Kids play.", "Children play.", 0),
         ("It rains.", "The sun shines.", 2), ("She reads.", "She has a book.", 1), ("He cooks.", "He eats.", 1)]
NLI3 = ("entailment", "neutral", "contradiction")

FILES = {
    "glue/QQP/dev.tsv": "id\tqid1\tqid2\tquestion1\tquestion2\tis_duplicate\n" + "".join(
        f"{i}\t{2 * i}\t{2 * i + 1}\tHow do I {a}?\tWhat is the way to {b}?\t{i % 2}\n"
        for i, (a, b, _) in enumerate(PAIRS)),
    "glue/MNLI/dev_matched.tsv": MNLI_HEADER + "".join(
        MNLI_ROW.format(i=i, a=a, b=b, label=NLI3[y]) for i, (a, b, y) in enumerate(PAIRS)),
    "glue/MNLI/dev_mismatched.tsv": MNLI_HEADER + "".join(
        MNLI_ROW.format(i=i, a=b, b=a, label=NLI3[y]) for i, (a, b, y) in enumerate(PAIRS)),
    "glue/diagnostic/diagnostic-full.tsv":
        "Lexical Semantics\tPredicate-Argument Structure\tLogic\tKnowledge\tDomain\tPremise\tHypothesis\tLabel\n" + "".join(
            f"Negation\t\t\t\tArtificial\t{a}\t{b}\t{NLI3[y]}\n" for a, b, y in PAIRS),
    # ELUE's TSVs: a header line, then columns by position, the label last (harness/tasks/elue.py).
    "elue/IMDb/dev.tsv": "sentence\tlabel\n" + "".join(
        f"{text}\t{y}\n" for text, y in [("A wonderful film, moving and funny.", 1), ("Dull and far too long.", 0),
                                         ("I loved every minute of it.", 1), ("The plot makes no sense at all.", 0),
                                         ("Great acting, weak script.", 1), ("Avoid this one.", 0)]),
    "elue/SNLI/dev.tsv": "premise\thypothesis\tlabel\n" + "".join(f"{a}\t{b}\t{y}\n" for a, b, y in PAIRS)
                         + "A bird sings.\tA bird is loud.\t-1\n",
    "elue/SciTail/dev.tsv": "premise\thypothesis\tlabel\n" + "".join(
        f"{a}\t{b}\t{y % 2}\n" for a, b, y in PAIRS),
}


def build_data_dir(mirror: Path, target: Path) -> Path:
    """`target` with every mirror folder linked in and the fixture files added; returns `target`."""
    for top in sorted(p for p in mirror.iterdir() if p.is_dir()):
        for child in top.iterdir():
            link = target / top.name / child.name
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(child)
    for rel, text in FILES.items():
        path = target / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return target
