"""Hybrid ``text.setfit``: contrastive fine-tuning of the sentence encoder, then a linear head.

The SetFit method (Tunstall et al. 2022, "Efficient Few-Shot Learning Without Prompts"):

1. sample pairs of labelled texts: ``num_iterations`` rounds in each of which every text gets
   one partner of its own class and (for the ``cosine`` loss) one of another class;
2. fine-tune a copy of the sentence-transformer on the pairs, contrastively;
3. embed the labelled texts with the fine-tuned encoder and fit a logistic regression on them.

Two losses for step 2 (``loss=``):

- ``"in-batch"`` (default): each same-class pair is a query and its answer, every other
  answer in the batch a negative (``MultipleNegativesRankingLoss``), except the answers of
  the query's own class, which are masked out: with few classes, a random batch is full of
  them and plain in-batch negatives would push a class apart.
- ``"cosine"``: SetFit's paper loss, ``CosineSimilarityLoss`` on positive (target 1) and
  negative (target 0) pairs.

Measured on banking77 at 10 labelled rows per class (77 classes, seed 0, all-MiniLM-L6-v2,
8,000 pairs, batch 16, ~4 minutes of training on 2 CPU cores; accuracy on the 3,080 test
rows, head C=50): frozen encoder + head 0.858 (its best C, 100), ``cosine`` 0.848 (0.839 at
learning rate 5e-5), ``in-batch`` 0.871, and 0.875 with ``label_texts``. Each step of the
in-batch loss compares every query with 16 answers instead of scoring one pair, so it learns
more from the same encoder passes; with 77 classes the cosine loss's 8,000 pairs were not
enough to beat the frozen encoder. With two classes (sms_spam, 8 rows per class, 3 seeds)
the two losses tie at the same number of pairs (accuracy 0.936 and 0.935), and the masking
matters: without it the in-batch loss lost 1.1 points (0.913 against 0.924, at half the pairs).

Backend: sentence-transformers' own ``SentenceTransformerTrainer``, not the ``setfit``
package. setfit 1.2.0 does run against sentence-transformers 6.2 here, but not cleanly
enough for this library:

- its pair sampler enumerates every pair of training rows up front
  (``np.triu_indices(n)``): 50 million index pairs, over a gigabyte, for 10,000 rows, where
  the sampler below is linear in the pairs it keeps;
- it shuffles those pairs with a fixed ``RandomState(42)``, whatever the trial's seed;
- its trainer pins memory on a CPU-only torch (a ``UserWarning`` on every fit), shows progress
  bars and sets its loggers to INFO on import; each needs a fix through its trainer's inner
  ``st_trainer`` attribute or a process-wide setting;
- its own ``SetFitModel.save`` writes the head with joblib (a pickle), which crossover refuses.

What setfit adds over the trainer is its pair sampling and its defaults; both are reproduced
here (SetFit's defaults: 20 iterations, batch size 16, one epoch, learning rate 2e-5, 10 %
warm-up), with the seed honoured and two CPU limits added: ``max_pairs`` and ``time_budget_s``.
"""

from __future__ import annotations

import json
import math
import tempfile
import time
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from crossover.errors import ConfigError, ModelError
from crossover.models.embeddings import load_model_copy
from crossover.models.sklearn_io import load_sklearn, save_sklearn
from crossover.strategies.registry import register
from crossover.strategies.text._embedding import DEFAULT_MODEL, EmbeddingStrategy
from crossover.strategies.text.zero_shot import label_prompt

__all__ = ["SetFit", "sample_pairs"]

_TRAINING_FILE = "training.json"
_LOSSES = ("in-batch", "cosine")


def _clock() -> float:
    """Seconds on a monotonic clock; one place for tests to drive the time budget from."""
    return time.monotonic()


def sample_pairs(
    labels: list[str],
    num_iterations: int,
    max_pairs: int | None,
    seed: int,
    *,
    negatives: bool = True,
) -> list[tuple[int, int, float]]:
    """SetFit's pairs: each round, every row with two partners, one of them of its own class.

    Parameters
    ----------
    labels : list of str
        The label of every training row.
    num_iterations : int
        Rounds of sampling; each gives up to ``2 * len(labels)`` pairs.
    max_pairs : int or None
        Keep at most this many pairs (None: all). Rows are visited in a new random order
        every round, so a cut in the middle of a round keeps a random subset of its rows,
        and positive and negative pairs stay balanced.
    seed : int
        Seeds the sampling.
    negatives : bool
        True: the second partner is of another class (SetFit). False: it is of the row's class
        too, for an in-batch loss, which finds its negatives in the batch; the number of pairs,
        and so the training time, stays the same.

    Returns
    -------
    list of (int, int, float)
        ``(row, partner, target)``: target 1.0 for a pair of the same class, 0.0 otherwise.
        A row alone in its class has no positive partner, and with a single class there are
        no negatives; those pairs are left out.
    """
    codes = np.unique(np.asarray(labels, dtype=object), return_inverse=True)[1]
    n = len(codes)
    sizes = np.bincount(codes)
    # Rows grouped by class: class c occupies order[starts[c] : starts[c] + sizes[c]], so
    # the rows of c, or all rows but those of c, are addressed by one random offset.
    order = np.argsort(codes, kind="stable")
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n) - starts[codes[order]]
    rng = np.random.default_rng(seed)

    def same_class(rows: np.ndarray) -> np.ndarray:
        # A partner of the row's class other than itself: skip over the row's own rank.
        # (Rows without one are dropped below; the clip only keeps the index in range.)
        c = codes[rows]
        k = rng.integers(0, np.maximum(sizes[c] - 1, 1))
        return np.asarray(order[np.minimum(starts[c] + k + (k >= rank[rows]), n - 1)])

    def other_class(rows: np.ndarray) -> np.ndarray:
        # A partner of another class: skip over the block of the row's class.
        c = codes[rows]
        k = rng.integers(0, np.maximum(n - sizes[c], 1))
        return np.asarray(order[np.minimum(np.where(k < starts[c], k, k + sizes[c]), n - 1)])

    pairs: list[tuple[int, int, float]] = []
    for _ in range(num_iterations):
        rows = rng.permutation(n)
        first = same_class(rows)
        second = other_class(rows) if negatives else same_class(rows)
        for row, a, b, size in zip(rows, first, second, sizes[codes[rows]], strict=True):
            if size > 1:
                pairs.append((int(row), int(a), 1.0))
            if negatives and size < n:
                pairs.append((int(row), int(b), 0.0))
            elif not negatives and size > 1:
                pairs.append((int(row), int(b), 1.0))
        if max_pairs is not None and len(pairs) >= max_pairs:
            return pairs[:max_pairs]
    return pairs


def _deadline_callback(deadline: float) -> Any:
    """A transformers ``TrainerCallback`` that stops training after ``deadline`` (monotonic).

    Built in a function so that importing crossover does not import transformers.
    """
    from transformers import TrainerCallback, TrainerControl, TrainerState, TrainingArguments

    class StopAtDeadline(TrainerCallback):
        stopped = False

        def on_step_end(
            self,
            args: TrainingArguments,
            state: TrainerState,
            control: TrainerControl,
            **kwargs: Any,
        ) -> None:
            if _clock() >= deadline:
                control.should_training_stop = True
                self.stopped = True

    return StopAtDeadline()


def _in_batch_loss(body: Any, scale: float = 20.0) -> Any:
    """In-batch negatives ranking loss that ignores the answers of the query's own class.

    ``MultipleNegativesRankingLoss`` (scale 20, cosine similarity, as in sentence-transformers)
    with a ``label`` column: in row i of the (query, answer) similarity matrix the answers j
    != i of the same class are set to -inf, so they count neither as negatives nor as
    positives. A row whose batch holds its class only keeps its own answer: zero loss, no NaN.
    """
    import torch
    import torch.nn.functional as F
    from sentence_transformers.util import cos_sim

    class LabelAwareInBatchLoss(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = body  # the trainer reads the loss's model

        def forward(self, features: list[dict[str, Any]], labels: torch.Tensor) -> torch.Tensor:
            queries, answers = (self.model(f)["sentence_embedding"] for f in features)
            scores = cos_sim(queries, answers) * scale
            same_class = labels[:, None] == labels[None, :]
            others = ~torch.eye(len(labels), dtype=torch.bool, device=scores.device)
            scores = scores.masked_fill(same_class & others, float("-inf"))
            targets = torch.arange(len(labels), device=scores.device)
            return F.cross_entropy(scores, targets)

    return LabelAwareInBatchLoss()


def _quiet_trainer_class() -> Any:
    """``SentenceTransformerTrainer`` without the model-card callback.

    That callback collects data-set statistics and widget examples (with a progress bar) for
    a model card that ``save`` does not write; sentence-transformers documents overriding
    ``add_model_card_callback`` as the way to drop it.
    """
    from sentence_transformers import SentenceTransformerTrainer

    class QuietTrainer(SentenceTransformerTrainer):
        def add_model_card_callback(self, default_args_dict: dict[str, Any]) -> None:
            pass

    return QuietTrainer


@register
class SetFit(EmbeddingStrategy):
    """SetFit: a sentence encoder fine-tuned contrastively on pairs of labelled texts + a head.

    Parameters
    ----------
    model : str
        The base sentence-transformers or model2vec model (an id or a folder), resolved
        offline through ``crossover.models.resolve_model``. A copy is fine-tuned; the
        process-wide instance other strategies embed with is never trained.
    loss : {"in-batch", "cosine"}
        The contrastive loss (see the module's docstring): ``in-batch`` negatives among
        same-class pairs, or SetFit's paper loss, ``cosine`` similarity on positive and
        negative pairs.
    num_iterations : int
        Rounds of pair sampling (SetFit's ``num_iterations``): each gives every training row
        two pairs, one with a row of its class and one with a row of another class for the
        ``cosine`` loss, both with rows of its class for the ``in-batch`` loss.
    num_epochs : int
        Passes over the pairs.
    batch_size : int
        Pairs per training step.
    max_pairs : int or None
        Cap on the pairs sampled (per epoch), whatever ``num_iterations`` asks; keeps a fit on
        a large label budget bounded on a CPU. Training time is about proportional: 8,000
        pairs of short texts take ~4 minutes with all-MiniLM-L6-v2 on 2 CPU cores. None: no cap.
    learning_rate : float
        The encoder's peak learning rate (SetFit's default 2e-5 suits transformer encoders; a
        static model2vec encoder barely moves at that rate).
    C : float
        Inverse regularisation of the logistic-regression head. Far above scikit-learn's 1,
        which underfits with a few rows per class and many classes (banking77, 10 per class,
        on the fine-tuned encoder: C=1 0.853, C=10 0.869, C=50 0.871, C=100 0.870).
    max_iter : int
        Iterations of the head's solver.
    label_texts : bool
        Add one training row per class whose text is the label's description, else its name
        read as words ("card_arrival" -> "card arrival"): the encoder and the head then also
        learn from what the label says. Off by default: it helped on banking77 (77 intents
        with descriptive names, 0.871 -> 0.875) but cost 1.9 points on sms_spam ("ham" and
        "spam", one seed), and a label such as "0" or "B" says nothing.
    time_budget_s : float or None
        Seconds after the start of ``fit`` when the encoder's training stops (at the end of
        the current step); the head is then fitted on the encoder as it is. None: no limit.
    random_state : int
        Seeds the pair sampling, the training order, dropout and the head.
    cache_dir, use_cache
        Accepted as by the other embedding strategies, so a study passes them to every
        strategy alike; unused: the fine-tuned encoder's vectors belong to one fitted model,
        so they do not go through the shared embedding cache.

    Notes
    -----
    ``max_default_budget`` is 16: by default a study runs SetFit only at label budgets up to
    16 rows per class, where fine-tuning pays; at larger budgets its pairs grow with the rows
    while the frozen-encoder head (``text.embedding-head``) catches up.
    """

    packages: ClassVar[tuple[str, ...]] = ("scikit-learn", "skops")
    #: Fine-tuning the body is torch work on as many threads as it is given: two per trial.
    trial_cpus: ClassVar[int] = 2

    key = "text.setfit"
    kind = "hybrid"
    task = "text-classification"
    summary = "sentence encoder fine-tuned contrastively on labelled pairs + logistic head (SetFit)"
    has_proba = True
    default = False  # fine-tuning on CPU takes minutes per trial: opt in with --strategies
    max_default_budget: ClassVar[int | None] = 16

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        *,
        loss: str = "in-batch",
        num_iterations: int = 20,
        num_epochs: int = 1,
        batch_size: int = 16,
        max_pairs: int | None = 8000,
        learning_rate: float = 2e-5,
        C: float = 50.0,
        max_iter: int = 2000,
        label_texts: bool = False,
        time_budget_s: float | None = 300.0,
        random_state: int = 0,
        cache_dir: str | None = None,
        use_cache: bool = True,
    ) -> None:
        self.model = model
        self.loss = loss
        self.num_iterations = num_iterations
        self.num_epochs = num_epochs
        self.batch_size = batch_size
        self.max_pairs = max_pairs
        self.learning_rate = learning_rate
        self.C = C
        self.max_iter = max_iter
        self.label_texts = label_texts
        self.time_budget_s = time_budget_s
        self.random_state = random_state
        self.cache_dir = cache_dir
        self.use_cache = use_cache

    # -- training ---------------------------------------------------------------------------

    def _fit(self, X: list[str] | None, y: list[str] | None) -> None:
        from sklearn.linear_model import LogisticRegression

        assert X is not None and y is not None
        if self.loss not in _LOSSES:
            raise ConfigError(f"text.setfit: loss {self.loss!r} is not one of {', '.join(_LOSSES)}")
        # The budget counts from here: loading the encoder and sampling pairs use it too.
        start = _clock()
        deadline = math.inf if self.time_budget_s is None else start + self.time_budget_s
        body = load_model_copy(self.model)
        if self.label_texts:
            X = X + [label_prompt(str(c), self.label_descriptions_) for c in self.classes_]
            y = y + [str(c) for c in self.classes_]
        negatives = self.loss == "cosine"  # the in-batch loss finds its negatives in the batch
        pairs = sample_pairs(y, self.num_iterations, self.max_pairs, self.seed, negatives=negatives)
        self.train_pairs_ = len(pairs)
        self.train_steps_ = 0
        self.stopped_by_time_budget_ = False
        if pairs and _clock() < deadline:
            self._train_body(body, X, y, pairs, deadline)
        else:
            self.stopped_by_time_budget_ = bool(pairs)
        self.train_seconds_ = _clock() - start
        self.body_ = body
        head = LogisticRegression(C=self.C, max_iter=self.max_iter, random_state=self.random_state)
        self.head_ = head.fit(self._encode(X), np.asarray(y, dtype=object))

    def _train_body(
        self,
        body: Any,
        texts: list[str],
        labels: list[str],
        pairs: list[tuple[int, int, float]],
        deadline: float,
    ) -> None:
        from datasets import Dataset
        from sentence_transformers import SentenceTransformerTrainingArguments
        from sentence_transformers.sentence_transformer.losses import CosineSimilarityLoss
        from transformers import PrinterCallback

        _QuietTrainer = _quiet_trainer_class()

        # Input columns in order, then "label": the trainer hands that one to the loss.
        columns: dict[str, list[Any]] = {
            "sentence_1": [texts[i] for i, _, _ in pairs],
            "sentence_2": [texts[j] for _, j, _ in pairs],
        }
        if self.loss == "cosine":
            columns["label"] = [target for _, _, target in pairs]
            loss = CosineSimilarityLoss(body)
        else:
            codes = {label: code for code, label in enumerate(sorted(set(labels)))}
            columns["label"] = [codes[labels[i]] for i, _, _ in pairs]
            loss = _in_batch_loss(body)
        data = Dataset.from_dict(columns)
        stop = _deadline_callback(deadline)
        # The trainer wants an output folder even when it saves nothing.
        with tempfile.TemporaryDirectory(prefix="crossover-setfit-") as out:
            args = SentenceTransformerTrainingArguments(
                output_dir=out,
                num_train_epochs=self.num_epochs,
                per_device_train_batch_size=self.batch_size,
                learning_rate=self.learning_rate,
                # transformers >= 5: a float below 1 is a fraction of the steps (SetFit's 10 %).
                warmup_steps=0.1,
                seed=self.seed,
                data_seed=self.seed,
                use_cpu=True,  # crossover measures CPU deployments (footprint()["device"])
                dataloader_pin_memory=False,  # pinning has no meaning, and warns, without GPU
                report_to="none",
                save_strategy="no",
                logging_strategy="no",
                disable_tqdm=True,
                # One fused kernel instead of a loop over tensors: the optimizer's step runs
                # 4-6x faster on CPU, a training step ~15 % faster with MiniLM.
                optim="adamw_torch_fused",
            )
            trainer = _QuietTrainer(
                model=body,
                args=args,
                train_dataset=data,
                loss=loss,
                callbacks=[stop],
            )
            # With tqdm off, transformers prints every log record instead; the study shows
            # its own progress.
            trainer.remove_callback(PrinterCallback)
            trainer.train()
        self.train_steps_ = int(trainer.state.global_step)
        self.stopped_by_time_budget_ = bool(stop.stopped)

    # -- prediction -------------------------------------------------------------------------

    def _encode(self, texts: list[str]) -> np.ndarray:
        # L2-normalised like crossover's Embedder, so C means the same as for the frozen head.
        vectors = self.body_.encode(
            texts,
            batch_size=64,
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)

    def _predict(self, X: list[str]) -> np.ndarray:
        return np.asarray(self.head_.predict(self._encode(X)), dtype=object)

    def _predict_proba(self, X: list[str]) -> np.ndarray:
        proba = self.head_.predict_proba(self._encode(X))
        # The head's classes are those it saw; align to classes_ (identical after fit).
        order = [list(self.head_.classes_).index(c) for c in self.classes_]
        return np.asarray(proba[:, order])

    def embedding_model(self) -> str | None:
        """None: the runner must not pre-embed with the base model or charge its encoding.

        The runner pre-embeds texts with ``embedding_model()`` and charges the base model's
        encode time to ``fit``; this strategy encodes with its own fine-tuned encoder, which
        ``fit`` already times in full.
        """
        return None

    # -- persistence and footprint ----------------------------------------------------------

    def _save_state(self, path: Path) -> None:
        # SentenceTransformer.save writes safetensors and JSON configs, no pickle.
        self.body_.save(str(path / "body"), create_model_card=False, safe_serialization=True)
        save_sklearn(self.head_, path / "head.skops")
        training = {
            "train_pairs": self.train_pairs_,
            "train_steps": self.train_steps_,
            "train_seconds": round(self.train_seconds_, 3),
            "stopped_by_time_budget": self.stopped_by_time_budget_,
        }
        (path / _TRAINING_FILE).write_text(json.dumps(training, indent=2, sort_keys=True))

    def _load_state(self, path: Path) -> None:
        if not (path / "body" / "modules.json").is_file():
            raise ModelError(f"{path}: no fine-tuned encoder in body/; the folder is incomplete")
        # Read, not shared: this encoder belongs to this strategy alone.
        self.body_ = load_model_copy(str(path / "body"), shared=False)
        self.head_ = load_sklearn(path / "head.skops")
        training = _read_json(path / _TRAINING_FILE)
        self.train_pairs_ = int(training.get("train_pairs", 0))
        self.train_steps_ = int(training.get("train_steps", 0))
        self.train_seconds_ = float(training.get("train_seconds", 0.0))
        self.stopped_by_time_budget_ = bool(training.get("stopped_by_time_budget", False))

    def _parameter_count(self) -> int:
        body = sum(int(p.numel()) for p in self.body_.parameters())
        return body + int(self.head_.coef_.size + self.head_.intercept_.size)

    def _external_bytes(self) -> int:
        return 0  # the fine-tuned encoder is saved with the strategy; no base model is needed


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}  # training facts are informative only; a model without them still predicts
    return data if isinstance(data, dict) else {}
