import torch

from fingerprintml.io import read_json, read_table, write_table
from fingerprintml.logs import log_to
from fingerprintml.torch_runtime import select_device
from fingerprintml.xrd.confidence import ConfidenceMap
from fingerprintml.xrd.identify import IdentifySettings, identify_folder
from fingerprintml.xrd.patterns import Grid, Preprocessing
from fingerprintml.xrd.reflections import wavelength_of
from fingerprintml.xrd.store import load_caches
from fingerprintml.xrd.train import load_identifier

with log_to(snakemake.log[0]):
    p, i = snakemake.params, snakemake.input
    torch.set_num_threads(snakemake.threads)
    device = select_device(p.device, "xrd.device")
    model, classes = load_identifier(i.model, device)
    table, rejects = identify_folder(
        i.queries,
        load_caches(i.caches),
        read_table(i.phases),
        model,
        classes,
        device,
        grid=Grid.from_config(p.grid),
        wavelength=wavelength_of(p.wavelength),
        settings=IdentifySettings.from_config(p.identify, p.candidates),
        preprocessing=Preprocessing.from_config(p.preprocessing),
        figures=snakemake.output.fits,
        confidence_map=ConfidenceMap.from_dict(read_json(i.confidence)["map"]),
    )
    write_table(table, snakemake.output.table)
    write_table(rejects, snakemake.output.rejects)
