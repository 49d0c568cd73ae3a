"""The tree's layering, read from the source: the shared core at the bottom imports nothing above it, and no lower
module imports a higher one. The seed's modules (``loader``, ``label_loader``) are faces over the core that re-export
its names, so 2019 code and old snapshots keep importing them."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import label_loader
import loader
import models
from speech_kit import batching, dataset, features, vocab

ROOT = Path(__file__).resolve().parent.parent

# What each part of the tree may import of the kit's own top-level modules and packages, besides itself. A part
# absent from a list is above it (or beside it: the Korean corpus and the Russian system share the core, not each
# other's code).
ALLOWED: dict[str, set[str]] = {
    "speech_kit": set(),
    "models": {"speech_kit"},
    "corpus": {"speech_kit", "models"},  # corpus.text_lm trains a checkpoint's n-gram LM on the text pool
    "loader": {"speech_kit"},
    "label_loader": {"speech_kit"},
    "nsml": {"speech_kit"},
    "evaluation": {"speech_kit", "models"},
    "entry": {"speech_kit", "models", "nsml"},
    "ru_numbers": {"speech_kit", "models", "nsml", "entry"},
    "main": {"speech_kit", "models", "nsml", "entry"},
    "benchmarks": {"speech_kit", "models", "nsml", "entry", "evaluation", "ru_numbers"},  # times both systems
    "scripts": {"speech_kit", "models", "nsml", "entry", "evaluation"},
}
KIT = set(ALLOWED) | {"tests"}


def part_of(path: Path) -> str:
    relative = path.relative_to(ROOT)
    return relative.parts[0] if len(relative.parts) > 1 else relative.stem


def kit_imports(path: Path) -> list[tuple[int, str]]:
    """(line, dotted module) of every absolute import of the kit's own modules in ``path``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found += [(node.lineno, name) for name in names if name.split(".")[0] in KIT]
    return found


def sources() -> list[Path]:
    return sorted(p for p in ROOT.rglob("*.py")
                  if part_of(p) in ALLOWED and not {".venv", "build", "tests"} & set(p.relative_to(ROOT).parts))


def test_no_module_imports_a_part_above_it():
    upward = []
    for path in sources():
        part = part_of(path)
        for line, name in kit_imports(path):
            top = name.split(".")[0]
            if top != part and top not in ALLOWED[part]:
                upward.append(f"{path.relative_to(ROOT)}:{line}: {part} imports {name}")
    assert upward == []


@pytest.mark.parametrize("folder", ["speech_kit", "models"])
def test_the_core_and_the_models_import_no_root_file(folder):
    roots = {"loader", "label_loader", "main", "evaluation"}
    offending = [f"{path.relative_to(ROOT)}:{line}: {name}" for path in sorted((ROOT / folder).rglob("*.py"))
                 for line, name in kit_imports(path) if name.split(".")[0] in roots]
    assert offending == []


# The command line's own modules: the command, the parser of its verbs, and the client that parses a command line
# as the command does before running it on a server. The verbs (nsml/verbs/) are the command line too.
COMMAND_LINE = {"nsml/cli.py", "nsml/__main__.py", "nsml/parser.py", "nsml/server/client.py"}


def test_the_platform_below_its_command_line():
    """The board and the platform's modules never import the CLI's verbs: the CLI sits on top of them."""
    offending = [f"{path.relative_to(ROOT)}:{line}: {name}" for path in sorted((ROOT / "nsml").rglob("*.py"))
                 if str(path.relative_to(ROOT)) not in COMMAND_LINE and "verbs" not in path.parts
                 for line, name in kit_imports(path) if name.startswith(("nsml.verbs", "nsml.cli", "nsml.parser"))]
    assert offending == []


def test_only_the_entry_point_imports_the_command():
    """``nsml.cli`` is the top: the server's client reads the command line through ``nsml.parser`` as it does, and
    nothing imports the command itself (``from nsml import cli`` included) but ``python -m nsml``."""
    offending = []
    for path in sorted((ROOT / "nsml").rglob("*.py")):
        if path.name == "__main__.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
            else:
                continue
            if any(name == "nsml.cli" or name.startswith("nsml.cli.") for name in names):
                offending.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offending == []


SEED_NAMES = {
    loader: ["get_spectrogram_feature", "get_script", "BaseDataset", "BaseDataLoader", "MultiLoader", "_collate_fn",
             "create_empty_batch", "N_FFT", "N_FREQ", "HOP_LENGTH", "Batch", "TrainList", "read_train_list",
             "split_dataset", "load_targets", "FixedSizeBatches", "FrameBudgetBatches", "feature_frames"],
    label_loader: ["load_label", "Vocab", "LabelTableError", "PAD_CHAR", "SOS_CHAR", "EOS_CHAR"],
    models: ["EncoderRNN", "DecoderRNN", "Seq2seq", "Attention"],
}


@pytest.mark.parametrize("module", list(SEED_NAMES), ids=lambda m: m.__name__)
def test_every_seed_name_is_importable_where_the_seed_had_it(module):
    missing = [name for name in SEED_NAMES[module] if not hasattr(module, name)]
    assert missing == []


def test_the_seed_faces_hand_out_the_cores_own_objects():
    """One implementation: the names ``loader`` and ``label_loader`` give are the core's, not copies."""
    assert loader.BaseDataset is dataset.BaseDataset and loader.MultiLoader is batching.MultiLoader
    assert loader._collate_fn is batching.collate
    assert loader.get_spectrogram_feature is features.get_spectrogram_feature
    assert label_loader.Vocab is vocab.Vocab and label_loader.load_label is vocab.load_label


def test_load_label_reads_the_shipped_table_as_the_seed_did():
    char2index, index2char = label_loader.load_label(ROOT / "hackathon.labels")
    assert index2char[0] == "_" and char2index["<s>"] == len(char2index) - 2
    assert all(char2index[c] == i for i, c in index2char.items())


def test_session_records_sit_below_the_backends():
    """``nsml.session`` (records and the local status correction), ``launch`` and ``logs`` import no backend: a
    backend builds on them, and the scheduler-corrected status comes from ``nsml.backends``."""
    offending = []
    for name in ("session", "launch", "logs"):
        path = ROOT / "nsml" / f"{name}.py"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                modules = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
            elif isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            else:
                continue
            offending += [f"nsml/{name}.py:{node.lineno}: {m}" for m in modules if m.startswith("nsml.backends")]
    assert offending == []
