import torch

from fingerprintml.io import write_arrays, write_table
from fingerprintml.logs import log_to
from fingerprintml.torch_runtime import select_device
from fingerprintml.xrd.evaluate import EvaluationSettings, evaluate_identifier
from fingerprintml.xrd.patterns import Grid, Preprocessing
from fingerprintml.xrd.reflections import wavelength_of
from fingerprintml.xrd.store import load_caches
from fingerprintml.xrd.train import load_identifier

with log_to(snakemake.log[0]) as log:
    p, i = snakemake.params, snakemake.input
    torch.set_num_threads(snakemake.threads)
    device = select_device(p.device, "xrd.device")
    evaluation = evaluate_identifier(
        load_caches(i.caches),
        load_identifier(i.model_copy, device)[0],
        device,
        grid=Grid.from_config(p.grid),
        wavelength=wavelength_of(p.wavelength),
        augmentation=p.augmentation,
        preprocessing=Preprocessing.from_config(p.preprocessing),
        settings=EvaluationSettings.from_config(p.evaluation),
        seed=p.seed,
        threads=snakemake.threads,
        structure_model=load_identifier(i.model_structure, device)[0] if i.get("model_structure") else None,
    )
    log.info("\n%s", evaluation.metrics.to_string())
    write_table(evaluation.metrics, snakemake.output.metrics)
    write_table(evaluation.strength, snakemake.output.strength)
    write_arrays(snakemake.output.examples, **evaluation.examples)
