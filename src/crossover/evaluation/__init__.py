"""Running trials and measuring them: metrics, bootstrap intervals, latency, memory."""
