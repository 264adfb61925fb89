"""Text-classification strategies; importing this package registers them."""

from crossover.strategies.text.api_embeddings import ApiEmbeddingHead, ApiZeroShotEmbeddings
from crossover.strategies.text.embedding_head import EmbeddingHead
from crossover.strategies.text.ensemble import Ensemble
from crossover.strategies.text.llm import LlmFewShot, LlmZeroShot
from crossover.strategies.text.setfit import SetFit
from crossover.strategies.text.tfidf_linear import TfidfLinear
from crossover.strategies.text.zero_shot import ZeroShotEmbeddings

__all__ = [
    "ApiEmbeddingHead",
    "ApiZeroShotEmbeddings",
    "EmbeddingHead",
    "Ensemble",
    "LlmFewShot",
    "LlmZeroShot",
    "SetFit",
    "TfidfLinear",
    "ZeroShotEmbeddings",
]
