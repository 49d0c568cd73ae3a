"""TensorBoard event files beside the SQLite records, so ``tensorboard --logdir $NSML_HOME/sessions`` shows every run.

``nsml.report`` hands each report to an ``EventLog``; the database stays the platform's record (``ps``, ``plot``,
``nsml board`` read it), the event files are for people who already live in TensorBoard. Inside a session they
are written into the session's own folder, so TensorBoard names each run ``USER/DATASET/N``; outside one, into the
local checkpoint root.

Tags put the metric family first: ``train__loss`` becomes ``loss/train`` and ``eval__loss`` ``loss/eval``, so
TensorBoard's sections are the families ``nsml plot`` draws as panels. TensorBoard steps are integers: a step is
rounded, and a report without ``step=`` counts its key's reports (as ``nsml plot`` does). The session's resolved
arguments (the ones ``nsml.argrecord`` stored) are written once as hyperparameters, for the HPARAMS tab.

The writer is the ``tensorboard`` package's own event-file writer, the one under torch's ``SummaryWriter``, used
directly: the records are the same (``simple_value`` scalars, the hparams plugin's session-start summary) without
importing torch, which would add seconds to the first report of a program that has no other use for it. The package
is optional: without it the run goes on and records metrics as before, after one notice on stderr.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nsml.argvalues import by_content

MISSING_NOTICE = ("nsml: TensorBoard events are not written ({reason}); metrics are recorded as usual. "
                  "Install the tensorboard package to get them: pip install tensorboard")


def scalar_tag(key: str) -> str:
    """``train__loss`` -> ``loss/train``; a key without ``__`` is its own tag."""
    parts = key.split("__")
    return "/".join([parts[-1], *parts[:-1]])


def hparam_value(value: Any) -> bool | int | float | str | None:
    """A resolved argument as TensorBoard takes it: numbers, flags and text as they are, lists as one string."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return " ".join(str(item) for item in value)
    return str(value)


def hparams(params: Mapping[str, Any] | None, args: str,
            code_dir: Path | None = None) -> dict[str, bool | int | float | str]:
    """{name: value} for TensorBoard: the recorded options without their dashes, else the raw ``-a`` string. A file
    inside the session's ``code_dir`` (main.py's ``--labels``) is given by its content, as ``nsml compare`` does."""
    if params is None:
        return {"args": args}
    found = {}
    for option, value in params.items():
        shown = hparam_value(by_content(value, code_dir))
        if shown is not None:
            found[option.lstrip("-") or option] = shown
    return found


def _open_writer(directory: Path) -> Any:
    from tensorboard.summary.writer.event_file_writer import EventFileWriter

    return EventFileWriter(str(directory), flush_secs=10)


def _notify(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@dataclass
class EventLog:
    """The event writer of this process, opened on the first report and kept for the next ones.

    One writer (one event file) per process and folder: a new folder (another session in the same test process,
    another ``NSML_CHECKPOINT_DIR``) or a forked child (a DataLoader worker reporting) gets a writer of its own.
    """

    _writer: Any = None
    _key: tuple[int, Path] | None = None
    _counts: dict[str, int] = field(default_factory=dict)
    _unavailable: bool = False

    def write(self, directory: Path, step: float | None, values: Mapping[str, float], wall: float,
              hyperparameters: Callable[[], Mapping[str, Any] | None]) -> None:
        """Add one report; ``hyperparameters()`` is asked once per writer, on its first report.

        Never raises: the event files are a convenience beside the records, so a missing package or a failing
        write is one notice on stderr and no more events from this process, never a failed training run.
        """
        if self._unavailable:
            return
        try:
            writer = self._writer_for(directory, hyperparameters, wall)
            for key, value in values.items():
                self._counts[key] = self._counts.get(key, 0) + 1
                at = self._counts[key] if step is None or not math.isfinite(step) else round(step)
                writer.add_event(_scalar_event(scalar_tag(key), value, at, wall))
            writer.flush()  # reports are per epoch or per few batches: a live TensorBoard sees each one
        except ImportError as error:  # no tensorboard package
            self._give_up(MISSING_NOTICE.format(reason=error))
        except Exception as error:  # noqa: BLE001 - see above: never the run's failure
            self._give_up(f"nsml: TensorBoard events stopped ({type(error).__name__}: {error}); metrics are "
                          f"recorded as usual")

    def _give_up(self, message: str) -> None:
        self._unavailable = True
        _notify(message)

    def _writer_for(self, directory: Path, hyperparameters: Callable[[], Mapping[str, Any] | None],
                    wall: float) -> Any:
        key = (os.getpid(), Path(directory))
        if self._key == key:
            return self._writer
        self.close()
        writer = _open_writer(directory)
        self._writer, self._key, self._counts = writer, key, {}
        chosen = hyperparameters()
        if chosen:
            writer.add_event(_hparams_event(chosen, wall))
        return writer

    def close(self) -> None:
        """Close the current writer (only in the process that opened it: a forked child never owns it)."""
        if self._writer is not None and self._key is not None and self._key[0] == os.getpid():
            self._writer.close()
        self._writer, self._key = None, None


def _scalar_event(tag: str, value: float, step: int, wall: float) -> Any:
    from tensorboard.compat.proto import event_pb2, summary_pb2

    summary = summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag=tag, simple_value=value)])
    return event_pb2.Event(wall_time=wall, step=step, summary=summary)


def _hparams_event(chosen: Mapping[str, Any], wall: float) -> Any:
    """The session-start record of TensorBoard's hparams plugin; the plugin lists every scalar as a metric."""
    from tensorboard.compat.proto import event_pb2, summary_pb2
    from tensorboard.plugins.hparams import metadata, plugin_data_pb2

    start = plugin_data_pb2.SessionStartInfo(start_time_secs=wall)
    for name, value in chosen.items():
        if isinstance(value, bool):
            start.hparams[name].bool_value = value
        elif isinstance(value, (int, float)):
            start.hparams[name].number_value = value
        else:
            start.hparams[name].string_value = str(value)
    content = plugin_data_pb2.HParamsPluginData(session_start_info=start, version=metadata.PLUGIN_DATA_VERSION)
    plugin = summary_pb2.SummaryMetadata.PluginData(plugin_name=metadata.PLUGIN_NAME,
                                                    content=content.SerializeToString())
    summary = summary_pb2.Summary(value=[summary_pb2.Summary.Value(
        tag=metadata.SESSION_START_INFO_TAG, metadata=summary_pb2.SummaryMetadata(plugin_data=plugin))])
    return event_pb2.Event(wall_time=wall, summary=summary)
