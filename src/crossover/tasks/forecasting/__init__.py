"""The ``forecasting`` task: series in long format, rolling-origin backtests, MASE.

Built in steps (issue 20): reading and checking series (``series``), the backtest's cut-offs
(``backtest``) and the metrics (``metrics``) come first; the task's registration, its
strategies, the study, the report, export and serving follow.
"""
