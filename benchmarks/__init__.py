"""Benchmarks, one script per stage, each timing the project's path against the 2019 baseline's, reproduced in
``benchmarks.reference``, in the same run on the same data: ``python -m benchmarks.data_path``, ``.train_step``,
``.submit``, ``.scale``, ``.threads``. Figures and how to read them: ``docs/performance.md``."""
