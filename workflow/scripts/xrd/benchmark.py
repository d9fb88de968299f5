import torch

from fingerprintml.io import read_table, write_table
from fingerprintml.logs import log_to
from fingerprintml.torch_runtime import select_device
from fingerprintml.xrd.benchmark import measured_benchmark, network_ranks
from fingerprintml.xrd.identify import IdentifySettings
from fingerprintml.xrd.patterns import Grid, Preprocessing
from fingerprintml.xrd.reflections import wavelength_of
from fingerprintml.xrd.train import load_identifier

with log_to(snakemake.log[0]) as log:
    p, i = snakemake.params, snakemake.input
    torch.set_num_threads(snakemake.threads)
    device = select_device(p.device, "xrd.device")
    model, classes = load_identifier(i.model, device)
    settings = IdentifySettings.from_config(p.identify, p.candidates)
    table, confidence = measured_benchmark(
        read_table(i.identify),
        read_table(i.rejects),
        read_table(i.phases).iloc[classes].reset_index(drop=True),
        p.references,
        ranks=network_ranks(
            i.queries,
            model,
            device,
            grid=Grid.from_config(p.grid),
            wavelength=wavelength_of(p.wavelength),
            settings=settings,
            preprocessing=Preprocessing.from_config(p.preprocessing),
        ),
        top_k=settings.candidates or len(classes),
    )
    log.info("\n%s\n%s", table.to_string(), confidence.to_string())
    write_table(table, snakemake.output.table)
    write_table(confidence, snakemake.output.confidence)
