"""Run profiles: ``quick`` (CI, minutes) and ``full`` (the book's numbers).

Every notebook takes a ``profile`` parameter and reads its sizes from here, so a
profile is defined in one place and the book can say what was measured on which.
"""

from __future__ import annotations

from .config import BURN_IN

PROFILES: dict[str, dict[str, dict]] = {
    "quick": {
        "synthetic": dict(n_steps=90_000, max_epochs=4, patience=2, seeds=(0, 1)),
        "adl": dict(max_days=3, max_epochs=2, patience=1, seeds=(0,)),
        "explain": dict(n_examples=1, window=300),
        "transport": dict(window=300, n_targets=8, eps_grid=7),
        "evaluation": dict(per_class=2, window=300, burn_in=BURN_IN, n_perturb=1, n_draws=1, sanity_points=4, check_points=8,
                           ig_steps=(2, 4), methods=("lrp-epsilon", "tsa-ns", "sam", "integrated-gradients",
                                                     "deeplift"),
                           depths=("2L",)),
        "anomaly": dict(n_days=1, max_epochs=6, patience=3, per_kind=1, n_false=1),
        # notebooks/anomaly.md, the real ECG anomaly (spikeflux.anomaly.ecg.run_seed): copies of each part
        # with injected anomalies, anomalies per training copy
        "anomaly_ecg": dict(seeds=(0,), train_copies=8, val_copies=4, test_copies=4, per_copy=6, max_epochs=20,
                            patience=5),
        "cue": dict(n_steps=60_000, max_epochs=5, patience=5, per_class=2, window=300, burn_in=BURN_IN, n_perturb=1,
                    methods=("lrp-epsilon", "tsa-s", "saliency"), depths=("1L", "2L"), delay_bins=2),
        "adl_baselines": dict(stride=30, gru_epochs=2, gru_patience=2),  # notebooks/adl.md, spikeflux.baselines
        # notebooks/uea.md: BasicMotions from sktime's wheel (spikeflux.tasks.uea)
        # n_perturb=0: the suite's continuity perturbation moves run edges by 10% of a run's length, and the
        # delta spikes' runs are 1-6 steps long, so it would leave every input unchanged
        # max_workers=1: starting a worker process costs more than these models (quick chapter 11 s instead of 29 s)
        "uea": dict(max_epochs=5, patience=5, seeds=(0,), depths=("1L", "2L"), per_class=1, n_perturb=0,
                    methods=("lrp-epsilon", "tsa-s", "saliency"), max_workers=1),
        # cost of the explanation methods (reproducibility appendix, spikeflux.cost)
        "cost": dict(window=(50, 100, 200), targets=(1, 4, 16), width=(25, 50, 100), repeat=1),
        # notebooks/shapley.md: every method against exact Shapley values of input features
        "shapley": dict(window=32, max_features=8, per_class=1, generated=1, generated_points=3, n_samples=10,
                        kernel_samples=90, k=2),

        # notebooks/beyond_lif.md: the plain 2L model and its variants trained from scratch on the synthetic
        # (the synthetic profile's data) and delayed-cue tasks with one budget, then the suite on them
        "beyond_lif": dict(seeds=(0,), max_epochs=dict(synthetic=1, cue=2), patience=dict(synthetic=1, cue=2),
                           cue_steps=30_000, per_class=dict(synthetic=1, cue=1), window=300, n_perturb=0,
                           methods=("lrp-epsilon", "tsa-ns", "saliency"), delay_bins=2,
                           conservation_window=300, n_targets=8),
    },
    "full": {
        # the 60-minute budget of the full book (reproducibility appendix): 9 networks per task
        "synthetic": dict(n_steps=900_000, max_epochs=30, patience=5, seeds=(0, 1, 2)),
        "adl": dict(max_days=None, max_epochs=25, patience=4, seeds=(0, 1, 2)),
        "explain": dict(n_examples=2, window=1000),
        "transport": dict(window=3600, n_targets=32, eps_grid=13),
        # points per class (ADL: per class and subject), after the silent windows are left out
        "evaluation": dict(per_class=dict(synthetic=10, adl=3), window=1000, burn_in=BURN_IN, n_perturb=2, n_draws=2,
                           sanity_points=16, check_points=32, ig_steps=(4, 8, 16, 32, 64),
                           # lrp-0, input-x-gradient and tsa-delay are compared in the explanations and
                           # Shapley chapters (close to lrp-epsilon, saliency and tsa-s here)
                           methods=("lrp-epsilon", "lrp-zplus", "lrp-alphabeta", "tsa-s", "tsa-ns", "sam",
                                    "integrated-gradients", "saliency", "deeplift",
                                    "occlusion", "kernel-shap", "shapley-sampling"),
                           # hundreds of forward passes per explanation: evaluated on the first trained seed
                           first_seed_only=("kernel-shap", "shapley-sampling"),
                           depths=("1L", "2L", "3L")),
        "anomaly": dict(n_days=None, max_epochs=8, patience=3, per_kind=6, n_false=3),
        "anomaly_ecg": dict(seeds=(0, 1, 2), train_copies=8, val_copies=4, test_copies=4, per_copy=6, max_epochs=30,
                            patience=6),
        "cue": dict(n_steps=200_000, max_epochs=30, patience=8, per_class=12, window=300, burn_in=BURN_IN, n_perturb=2,
                    methods=("lrp-0", "lrp-epsilon", "lrp-zplus", "tsa-s", "tsa-ns", "sam", "tsa-delay",
                             "integrated-gradients", "saliency", "input-x-gradient"),
                    depths=("1L", "2L", "3L"), delay_bins=3),
        "adl_baselines": dict(stride=30, gru_epochs=4, gru_patience=2),
        "uea": dict(max_epochs=60, patience=10, seeds=(0, 1, 2), depths=("1L", "2L", "3L"), per_class=None,
                    n_perturb=0, methods=("lrp-0", "lrp-epsilon", "lrp-zplus", "tsa-s", "tsa-ns", "sam",
                                          "integrated-gradients", "saliency", "input-x-gradient", "deeplift"),
                    max_workers=2),
        "cost": dict(window=(125, 250, 500, 1000), targets=(1, 2, 4, 8, 16, 32), width=(25, 50, 100, 200, 400),
                     repeat=2),
        "shapley": dict(window=64, max_features=16, per_class=6, generated=3, generated_points=8, n_samples=25,
                        kernel_samples=425, k=4),

        # sized from measured costs on one core: an epoch of a 2L model takes 1.2-1.8 s on the synthetic task's
        # 900k steps and 1.6-2.5 s on 200k cue steps (the cue models need 8-10 epochs to learn); one model-seed
        # of the suite (6 methods + 2 baselines, 12-16 points) 4-6 s with continuity, 4-5 s without. In all about
        # 2 seeds x (5 x 8 x 1.5 + 4 x 12 x 2) = 310 s of training and 18 x 5 = 90 s of evaluation (at 4 and 10
        # epochs, 16 of the 18 trainings had their best epoch last: the budget was raised to 8 and 12)
        "beyond_lif": dict(seeds=(0, 1), max_epochs=dict(synthetic=8, cue=12), patience=dict(synthetic=3, cue=4),
                           cue_steps=200_000, per_class=dict(synthetic=4, cue=4), window=300, n_perturb=1,
                           methods=("lrp-epsilon", "tsa-s", "tsa-ns", "sam", "saliency", "integrated-gradients"),
                           delay_bins=3, conservation_window=500, n_targets=16),
    },
}


def model_seeds(name: str, task: str, base: int = 0) -> tuple[int, ...]:
    """The training seeds of every depth of ``task`` under profile ``name``: ``base`` plus the
    profile's offsets (the full profile trains three networks per model)."""
    return tuple(int(base) + s for s in profile(name, task)["seeds"])


def profile(name: str, section: str) -> dict:
    """The settings of ``section`` under profile ``name`` (``quick`` or ``full``)."""
    if name not in PROFILES:
        raise ValueError(f"unknown profile {name!r}; known profiles: {', '.join(PROFILES)}")
    if section not in PROFILES[name]:
        raise ValueError(f"profile {name!r} has no section {section!r}; sections: {', '.join(PROFILES[name])}")
    return dict(PROFILES[name][section])
