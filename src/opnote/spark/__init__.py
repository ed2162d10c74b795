"""Check operative notes held in a Spark DataFrame (``pip install 'opnote[spark]'``).

>>> from opnote.spark import check_notes, session      # doctest: +SKIP
>>> spark = session("local[2]")                         # doctest: +SKIP
>>> out = check_notes(spark.read.parquet("notes.parquet"), text_col="text", id_col="id")  # doctest: +SKIP

Every note goes through :func:`opnote.batch.check_job` with an :class:`opnote.Checker`, so a row's
``report`` column holds exactly what ``Checker().check(text, source=str(id))`` returns, as JSON.
Notes travel to the Python workers as Arrow batches (``mapInPandas``); each Python worker builds
its pipeline once, on its first batch, and keeps it for every later batch and task (Spark reuses
Python workers by default, ``spark.python.worker.reuse=true``).

A note that cannot be checked (null, empty, too large, undecodable bytes, a bad ICD-10 code)
gives a row with ``error`` set and no report; the job goes on. Error messages name the row's id,
never the note's text.

The package is split by where the code runs: :mod:`.driver` (the session and the DataFrame
plan), :mod:`.worker` (what the Python workers run), :mod:`.files` (reading notes, writing
results: ``opnote spark``) and :mod:`.submit` (the file ``spark-submit`` runs). pyspark is
imported only inside functions, so ``import opnote.spark`` works without the extra and every
entry point raises :class:`SparkNotInstalledError` with the install command.
"""

from __future__ import annotations

from .driver import SparkNotInstalledError, check_notes, session
from .files import read_notes, run
from .worker import ITEM_IDS, RESULT_COLUMNS

__all__ = ["check_notes", "session", "read_notes", "run", "SparkNotInstalledError", "ITEM_IDS", "RESULT_COLUMNS"]
