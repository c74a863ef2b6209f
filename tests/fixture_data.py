"""A data dir for track runs: the shared mirror (each file linked) plus small files in the official layouts of
the sets the mirror lacks.

GLUE's QQP and MNLI are not in the mirror; these few rows, written in GLUE's own file layout, let the `glue`
track run end to end offline. The mirror itself is never written: its folders are re-created here as real
folders holding links to its files, and a fixture file whose path the mirror has is refused.
"""

from __future__ import annotations

from pathlib import Path

MNLI_HEADER = (
    "index\tpromptID\tpairID\tgenre\tsentence1_binary_parse\tsentence2_binary_parse\tsentence1_parse\t"
    "sentence2_parse\tsentence1\tsentence2\tlabel1\tlabel2\tlabel3\tlabel4\tlabel5\tgold_label\n"
)
MNLI_ROW = "{i}\t1\t1n\tfiction\t( a )\t( b )\t(S a)\t(S b)\t{a}\t{b}\t{label}\t\t\t\t\t{label}\n"
PAIRS = [
    ("A man sleeps.", "A person rests.", 0),
    ("A dog runs.", "A cat sits.", 2),
    ("Kids play.", "Children play.", 0),
    ("It rains.", "The sun shines.", 2),
    ("She reads.", "She has a book.", 1),
    ("He cooks.", "He eats.", 1),
]
NLI3 = ("entailment", "neutral", "contradiction")

FILES = {
    "glue/QQP/dev.tsv": "id\tqid1\tqid2\tquestion1\tquestion2\tis_duplicate\n"
    + "".join(
        f"{i}\t{2 * i}\t{2 * i + 1}\tHow do I {a}?\tWhat is the way to {b}?\t{i % 2}\n"
        for i, (a, b, _) in enumerate(PAIRS)
    ),
    "glue/MNLI/dev_matched.tsv": MNLI_HEADER
    + "".join(MNLI_ROW.format(i=i, a=a, b=b, label=NLI3[y]) for i, (a, b, y) in enumerate(PAIRS)),
    "glue/MNLI/dev_mismatched.tsv": MNLI_HEADER
    + "".join(MNLI_ROW.format(i=i, a=b, b=a, label=NLI3[y]) for i, (a, b, y) in enumerate(PAIRS)),
}


def build_data_dir(mirror: Path, target: Path) -> Path:
    """`target` with a link to every mirror file (in real folders of its own) and the fixture files added.

    A link to a folder would let a fixture file be written through it into the mirror (as root, its missing write
    bits stop nothing), so only files are linked, and a fixture may only add a file the mirror lacks.
    """
    for path in sorted(mirror.rglob("*")):
        if path.is_file():
            link = target / path.relative_to(mirror)
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(path)
    for rel, text in FILES.items():
        if (mirror / rel).exists():
            raise AssertionError(f"fixture file {rel} would shadow the mirror's own file; drop it from FILES")
        path = target / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.is_symlink():
            raise AssertionError(f"{path} is a link into the mirror; a fixture never writes through it")
        path.write_text(text, encoding="utf-8")
    return target
