"""Serve an exported model directory over HTTP: ``create_app(model_dir)``.

``crossover serve MODEL_DIR`` runs it with uvicorn; see :mod:`crossover.serve.app` for routes.
"""

from crossover.serve.app import create_app
from crossover.serve.settings import ServeSettings

__all__ = ["ServeSettings", "create_app"]
