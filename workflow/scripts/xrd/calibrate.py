import torch

from fingerprintml.io import read_table, write_json, write_table
from fingerprintml.logs import log_to
from fingerprintml.torch_runtime import select_device
from fingerprintml.xrd.calibrate import CalibrationSettings, calibrate_identifier
from fingerprintml.xrd.identify import IdentifySettings
from fingerprintml.xrd.patterns import Grid, Preprocessing
from fingerprintml.xrd.reflections import wavelength_of
from fingerprintml.xrd.store import load_caches
from fingerprintml.xrd.train import load_identifier

with log_to(snakemake.log[0]):
    p, i = snakemake.params, snakemake.input
    torch.set_num_threads(snakemake.threads)
    device = select_device(p.device, "xrd.device")
    model, classes = load_identifier(i.model, device)
    calibration = calibrate_identifier(
        load_caches(i.caches),
        read_table(i.phases),
        model,
        classes,
        device,
        grid=Grid.from_config(p.grid),
        wavelength=wavelength_of(p.wavelength),
        augmentation=p.augmentation,
        identify=IdentifySettings.from_config(p.identify, p.candidates),
        preprocessing=Preprocessing.from_config(p.preprocessing),
        settings=CalibrationSettings.from_config(p.identify["calibration"]),
        seed=p.seed,
        processes=snakemake.threads,
    )
    write_json({"map": calibration.confidence_map.to_dict(), **calibration.summary}, snakemake.output.confidence)
    write_table(calibration.mixtures, snakemake.output.mixtures)
    write_table(calibration.reliability, snakemake.output.reliability)
