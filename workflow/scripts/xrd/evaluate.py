import numpy as np
import pandas as pd
import torch

from fingerprintml.io import read_table, write_table
from fingerprintml.logs import log_to
from fingerprintml.seeds import rng_for
from fingerprintml.xrd.augment import augmented_set, clean_pattern, scaled_settings
from fingerprintml.xrd.evaluate import accuracy_rows, metrics_frame, prototype_scores, top_k_accuracy
from fingerprintml.xrd.model import select_device
from fingerprintml.xrd.patterns import Grid
from fingerprintml.xrd.reflections import wavelength_of
from fingerprintml.xrd.splits import held_out_phases
from fingerprintml.xrd.store import load_caches
from fingerprintml.xrd.train import embeddings, load_identifier, predict_logits

with log_to(snakemake.log[0]) as log:
    p, ev = snakemake.params, snakemake.params.evaluation
    torch.set_num_threads(snakemake.threads)
    device = select_device(p.device)
    caches = load_caches(snakemake.input.caches)
    phases = read_table(snakemake.input.phases)
    grid, wavelength = Grid.from_config(p.grid), wavelength_of(p.wavelength)
    model, classes = load_identifier(snakemake.input.model_copy, device)
    n = len(caches)
    fwhm = float(np.mean(p.augmentation["profile"]["instrument_fwhm"]))
    references = np.stack([clean_pattern(refl, grid, wavelength, fwhm) for refl in caches])
    prototypes = embeddings(model, references, device)

    def scored(name, settings, copies, mixture=0.0):
        labels = np.repeat(np.arange(n), copies)
        rng = rng_for(p.seed, "xrd", "test", name)
        x = augmented_set(caches, labels, grid, wavelength, settings, rng, mixture, threads=snakemake.threads)
        return x, labels, predict_logits(model, x, device), embeddings(model, x, device)

    rows = []
    test_x, test_y, test_scores, test_embedding = scored("held-out", p.augmentation, ev["test_copies"])
    rows += accuracy_rows("held-out augmentations", "copy", "classifier", test_scores, test_y)
    rows += accuracy_rows(
        "held-out augmentations", "copy", "prototype", prototype_scores(test_embedding, prototypes), test_y
    )
    hard = ev["hard"]
    hard_settings = scaled_settings(p.augmentation, hard["strength"])
    _, hard_y, hard_scores, hard_embedding = scored("hard", hard_settings, hard["copies"], hard["mixture_fraction"])
    rows += accuracy_rows("hard", "copy", "classifier", hard_scores, hard_y)
    rows += accuracy_rows("hard", "copy", "prototype", prototype_scores(hard_embedding, prototypes), hard_y)
    strength_rows = []
    for strength in ev["strengths"]:
        _, y, scores, _ = scored(
            f"strength-{strength}", scaled_settings(p.augmentation, strength), ev["strength_copies"]
        )
        for k in (1, 5):
            strength_rows.append({"strength": strength, "metric": f"top{k}", "value": top_k_accuracy(scores, y, k)})
    if snakemake.input.get("model_structure"):
        structure_model, seen = load_identifier(snakemake.input.model_structure, device)
        unseen = held_out_phases(n, ev["structure_split_fraction"], p.seed)
        gallery = embeddings(structure_model, references, device)
        labels = np.repeat(unseen, ev["test_copies"])
        rng = rng_for(p.seed, "xrd", "test", "unseen")
        x = augmented_set(caches, labels, grid, wavelength, p.augmentation, rng, threads=snakemake.threads)
        scores = prototype_scores(embeddings(structure_model, x, device), gallery)
        rows += accuracy_rows("held-out structures", "structure", "prototype", scores, labels)
        log.info("structure split: %d unseen phases retrieved among %d", len(unseen), n)
    metrics = metrics_frame(rows)
    log.info("\n%s", metrics.to_string())
    write_table(metrics, snakemake.output.metrics)
    write_table(pd.DataFrame(strength_rows), snakemake.output.strength)
    pick = rng_for(p.seed, "xrd", "examples").choice(len(test_y), ev["examples"], replace=False)
    top5 = np.argsort(-test_scores[pick], axis=1)[:, :5]
    np.savez(
        snakemake.output.examples,
        two_theta=grid.two_theta,
        patterns=test_x[pick],
        labels=test_y[pick],
        top5=top5,
        scores=np.take_along_axis(test_scores[pick], top5, axis=1),
        references=references[top5],
    )
