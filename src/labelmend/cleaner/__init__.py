"""The ranking engine: pure numpy scores, rankings and batch selection (no I/O).

>>> import numpy as np
>>> from labelmend.cleaner import rank_samples
>>> probs = np.array([[.9, .1], [.8, .2], [.85, .15], [.1, .9], [.2, .8], [.95, .05]])
>>> int(rank_samples([0, 0, 0, 1, 1, 1], probs)["sample_id"].iloc[0])
5

Submodules load on first use of one of their names, lightest first: counting errors
(:mod:`~labelmend.cleaner.count`) needs numpy only, while ranking and aggregation import
pandas; ``labelmend status`` starts faster for it.
"""

from typing import TYPE_CHECKING

from labelmend._lazy import attach

if TYPE_CHECKING:
    from labelmend.cleaner._source import ProbabilitySource
    from labelmend.cleaner.aggregate import (
        AGGREGATIONS,
        UNDECIDED,
        Consensus,
        DawidSkene,
        consensus,
        dawid_skene,
        plurality_vote,
        vote_counts,
        vote_counts_by_id,
    )
    from labelmend.cleaner.cost import expected_annotations, fix_probabilities
    from labelmend.cleaner.count import (
        DECIDED,
        ERRORS_REMAINING,
        EXPECTED_ERRORS,
        ErrorCount,
        count_errors,
    )
    from labelmend.cleaner.noise import (
        NoiseModel,
        ThresholdStats,
        confident_counts,
        threshold_stats,
        zero_cells,
    )
    from labelmend.cleaner.ranking import (
        RANKING_COLUMNS,
        REASONS,
        STOP_THRESHOLD,
        TRADE_OFF,
        SampleScores,
        expected_error_rate,
        expected_errors_curve,
        fit_noise_model,
        fit_noise_model_in_parts,
        learn_from_answers,
        rank_samples,
        ranking_order,
        score_samples,
        select_batch,
        stopping_point,
    )
    from labelmend.cleaner.reliability import ExpertReliability, fit_expert_reliability
    from labelmend.cleaner.scores import (
        AMBIGUITY_THRESHOLD,
        AUDIT_METHOD,
        DEFAULT_DIFFICULTY,
        DEFAULT_METHOD,
        DIFFICULTY_METHODS,
        RANKING_METHODS,
        BlockScores,
        DifficultyName,
        MethodName,
        RankingMethod,
        expert_confusion,
    )

__all__ = [
    "AGGREGATIONS",
    "AMBIGUITY_THRESHOLD",
    "AUDIT_METHOD",
    "DECIDED",
    "DEFAULT_DIFFICULTY",
    "DEFAULT_METHOD",
    "DIFFICULTY_METHODS",
    "ERRORS_REMAINING",
    "EXPECTED_ERRORS",
    "RANKING_COLUMNS",
    "RANKING_METHODS",
    "REASONS",
    "STOP_THRESHOLD",
    "TRADE_OFF",
    "UNDECIDED",
    "BlockScores",
    "Consensus",
    "DawidSkene",
    "DifficultyName",
    "ErrorCount",
    "ExpertReliability",
    "MethodName",
    "NoiseModel",
    "ProbabilitySource",
    "RankingMethod",
    "SampleScores",
    "ThresholdStats",
    "confident_counts",
    "consensus",
    "count_errors",
    "dawid_skene",
    "expected_annotations",
    "expected_error_rate",
    "expected_errors_curve",
    "expert_confusion",
    "fit_expert_reliability",
    "fit_noise_model",
    "fit_noise_model_in_parts",
    "fix_probabilities",
    "learn_from_answers",
    "plurality_vote",
    "rank_samples",
    "ranking_order",
    "score_samples",
    "select_batch",
    "stopping_point",
    "threshold_stats",
    "vote_counts",
    "vote_counts_by_id",
    "zero_cells",
]

__getattr__, __dir__ = attach(
    __name__,
    (
        "count",
        "cost",
        "noise",
        "scores",
        "reliability",
        "_source",
        "aggregate",
        "ranking",
    ),
)
