"""The ``forecasting`` task: series in long format, rolling-origin backtests, MASE.

``series`` reads and checks the series, ``backtest`` cuts the windows, ``metrics`` scores them,
``evaluate`` backtests one strategy, ``trial`` is the study's trial (budgets are points of
history per series), ``compare`` prepares a study, ``present`` shows it (the metrics table,
``forecasts.csv``, the per-series plots), ``data`` builds the bundled sales example and ``task``
names them as the task the registry hands out.
"""
