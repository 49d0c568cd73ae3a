"""Verbs on submissions: ``submit`` (score a checkpoint), ``submit ls`` and ``submit show`` (reopen a scored one).

A 2019 score of 0 came with no reason. Here every submit prints its worst utterances, and a recorded submit can
be reopened later: ``submit show SESSION N`` prints each utterance's reference and hypothesis aligned, with every
substitution, insertion and deletion marked.
"""

from __future__ import annotations

import argparse
from dataclasses import asdict
from typing import Any

from nsml import alignment, backends, scorers, table
from nsml.entities import ScoredUtterance, Submission
from nsml.store import Store
from nsml.submit import DEFAULT_TIMEOUT_S, Outcome, reopen, submit
from nsml.text import terminal_columns
from nsml.verbs.common import add_verb, non_negative, positive, print_json, say, seconds

LISTED_SUBVERBS = ("ls", "show")  # 'nsml submit ls' / 'nsml submit show' (a session name never is one word)


def _print_outcome(outcome: Outcome, test: bool) -> None:
    kind = "test submit (not recorded)" if test else "submit"
    print(f"{kind} of {outcome.session} checkpoint {outcome.checkpoint!r}")
    print(outcome.scorer.summary(outcome.result.metrics, len(outcome.result.utterances)))
    print(f"time {outcome.duration:.1f} s  peak memory {table.size(outcome.peak_memory_kib * 1024)}")
    if outcome.missing:
        print(f"{outcome.missing} test utterances had no prediction and were scored as empty")
    if outcome.infer_failures:
        where = f": {outcome.errors_log}" if outcome.errors_log else " (above)"
        print(f"{outcome.infer_failures} test files made infer raise and were scored as empty predictions "
              f"(--keep_going); their tracebacks{where}")
    worst = outcome.worst()
    if worst:
        print("worst utterances (errors/size):")
        for row in worst:
            print(f"  {row.key}  {row.errors:g}/{row.size:g}\n    ref: {row.reference}\n    hyp: {row.hypothesis}")
    if outcome.recorded is not None:
        number = outcome.recorded.number
        print(f"recorded on the board of {outcome.recorded.dataset} as submission {number} of {outcome.session}; "
              f"every utterance aligned: nsml submit show {outcome.session} {number}")


def submit_and_show(store: Store, name: str, checkpoint: str, test: bool = False,
                    timeout: float = DEFAULT_TIMEOUT_S, keep_going: bool = False) -> int:
    _print_outcome(submit(store, name, checkpoint, test=test, timeout=timeout, keep_going=keep_going), test)
    return 0


def cmd_submit(store: Store, args: argparse.Namespace) -> int:
    return submit_and_show(store, args.session, args.checkpoint, args.test, args.timeout, args.keep_going)


def _metric_cells(submission: Submission) -> str:
    scorer = scorers.SCORERS.get(submission.scorer)
    if scorer is None:
        return f"{submission.primary_metric}={submission.primary:.4g}"
    return " ".join(f"{c.heading} {scorer.format(submission.metrics, c)}" for c in scorer.columns)


def cmd_submit_ls(store: Store, args: argparse.Namespace) -> int:
    found = store.submissions(session=args.session)
    if not found:
        backends.current(store, args.session)  # an unknown session is an error; a known one simply has none yet
        if not args.json:
            say(f"{args.session} has no submissions yet (nsml submit {args.session} CHECKPOINT makes one; "
                f"nsml model ls {args.session} lists its checkpoints)")
            return 0
    if args.json:
        print_json([asdict(s) for s in found])
        return 0
    rows = [(s.number, s.checkpoint, _metric_cells(s), s.utterances, s.test_set or "-", table.when(s.submitted),
             f"{s.duration:.1f} s", table.size(s.peak_memory_kib * 1024)) for s in found]
    print(table.table(("N", "CHECKPOINT", "SCORE", "UTTERANCES", "TEST SET", "SUBMITTED", "TIME", "PEAK MEMORY"),
                      rows, width=terminal_columns(), shrink=(2,)))
    return 0


def _show_utterance(row: ScoredUtterance) -> str:
    ref, hyp, marks = alignment.aligned_lines(row.reference, row.hypothesis)
    edits = alignment.counts(row.reference, row.hypothesis)
    detail = ", ".join(f"{edits[op]} {word}" for op, word in (("sub", "substituted"), ("ins", "inserted"),
                                                              ("del", "deleted")) if edits[op])
    head = f"{row.key}  errors {row.errors:g}/{row.size:g}" + (f" ({detail})" if detail else " (correct)")
    return f"{head}\n  ref: {ref}\n  hyp: {hyp}\n       {marks}"


def cmd_submit_show(store: Store, args: argparse.Namespace) -> int:
    found, utterances = reopen(store, args.session, args.number)
    scorer = scorers.SCORERS.get(found.scorer)
    print(f"submission {found.number} of {found.session}: checkpoint {found.checkpoint!r}, scored by {found.scorer} "
          f"on test set {found.test_set or 'unknown'} at {table.when(found.submitted)}")
    if scorer is not None:
        print(scorer.summary(found.metrics, found.utterances))
    if found.args is not None:
        print(f"arguments: {found.args or '-'}")
    shown = utterances
    if args.worst is not None:
        shown = sorted((u for u in utterances if u.errors > 0), key=lambda u: (-u.rate, -u.errors, u.key))
        shown = shown[:args.worst]
        print(f"the {len(shown)} worst of {len(utterances)} utterances")
    print("marks: . correct, S substituted, I inserted (not in the reference), D deleted (missing); spaces removed")
    for row in shown:
        print()
        print(_show_utterance(row))
    return 0


def register(verbs: Any) -> None:
    submit_verb = add_verb(verbs, "submit", cmd_submit,
                           "Re-run the session's code snapshot with its own arguments plus '--mode test --pause 1' "
                           "on a checkpoint, score the predictions with the dataset's scorer (CRR) and record them "
                           "on the dataset's board. 'nsml submit ls SESSION' lists a session's submissions, "
                           "'nsml submit show SESSION N' reopens one.")
    submit_verb.add_argument("session", help="USER/DATASET/N")
    submit_verb.add_argument("checkpoint")
    submit_verb.add_argument("-t", "--test", action="store_true",
                             help="quick check: only the first 5 test files, stdout shown, nothing recorded")
    submit_verb.add_argument("--timeout", type=seconds, default=DEFAULT_TIMEOUT_S, metavar="S",
                             help="kill the submit after S seconds (default 3600, as on the platform)")
    submit_verb.add_argument("--keep_going", action="store_true",
                             help="a test file whose infer raises is predicted as empty (scored as all errors) and "
                                  "its traceback kept with the submission, instead of failing the submit")

    listing = add_verb(verbs, "submit ls", cmd_submit_ls,
                       "List a session's recorded submissions: number, checkpoint, score, utterances, test set, "
                       "when, time, peak memory.", listed=False)
    listing.add_argument("session", help="USER/DATASET/N")
    listing.add_argument("--json", action="store_true", help="the whole records as JSON")

    show = add_verb(verbs, "submit show", cmd_submit_show,
                    "Reopen submission N of a session: its score, then each utterance's reference and hypothesis "
                    "aligned character by character, substitutions, insertions and deletions marked.",
                    listed=False)
    show.add_argument("session", help="USER/DATASET/N")
    show.add_argument("number", type=positive, metavar="N", help="the submission's number (nsml submit ls)")
    show.add_argument("--worst", type=non_negative, metavar="K", help="only the K worst utterances with errors")


def route(argv: list[str]) -> list[str]:
    """``submit ls ...`` / ``submit show ...`` -> the verbs ``'submit ls'`` / ``'submit show'``."""
    if len(argv) >= 2 and argv[0] == "submit" and argv[1] in LISTED_SUBVERBS:
        return [f"submit {argv[1]}", *argv[2:]]
    return argv
